/**
 * Ingests one planned batch into the regional table, exactly once: the commit carries
 * txn(appId, seq), so a retry after any crash (after staging, after the quarantine commit, after the main
 * commit) finds what already landed and never duplicates or loses a line. Parquet left by a failed
 * attempt is never referenced and is removed by vacuum.
 */
import { Readable } from 'node:stream';
import { readCommitRange } from '../../lake/delta/commits';
import { TributaryError, isTributaryError } from '../../lake/errors';
import { type StructType, serializeSchema } from '../../lake/delta/schema';
import { sqlString } from '../../lake/engine/duckdb';
import { duckType, emptyRelation } from '../../lake/engine/types';
import type { ObjectStore } from '../../lake/storage/object-store';
import { loadSnapshotOrUndefined, defaultEngine, writeTable } from '../../lake/table/operations';
import { readManifest } from './file-state';
import { commitResumed, filesStillThere } from './resume';
import { type ChunkContext, SqlChunks, withBatchColumns } from './sql-chunks';
import { maxObjectSize } from './sql-conform';
import { RAW_KEEP_LIMIT } from './decode';
import { BatchStaging, DEFAULT_LINE_LIMITS, type LineLimits, RAW_RECORD_BYTES } from './stage-batch';
import {
  type BatchResumePoint,
  type LineSelection,
  type IngestBatchRequest,
  type IngestBatchResult,
  PARTITION_COLUMNS,
  type SourceFile,
  filePrefixFor,
} from './types';
import { type CloudTransfer, type IngestTarget, appIdFor, transferMetrics } from '../../shapes/targets';
import { cloudOfUrl } from '../../lake/storage/url';

/** Columns Tributary adds to every row; source fields with these names are rescued, never overwritten. */
export const METADATA_COLUMNS = [
  '_rescued_data',
  '_source_file',
  '_source_line',
  '_ingested_at',
  '_region',
  '_event_date',
] as const;
export const METADATA_FIELDS: StructType['fields'] = [
  { name: '_rescued_data', type: 'string', nullable: true, metadata: {} },
  { name: '_source_file', type: 'string', nullable: true, metadata: {} },
  { name: '_source_line', type: 'long', nullable: true, metadata: {} },
  { name: '_ingested_at', type: 'timestamp', nullable: true, metadata: {} },
  { name: '_region', type: 'string', nullable: true, metadata: {} },
  { name: '_event_date', type: 'date', nullable: true, metadata: {} },
];

export interface BatchDeps {
  open(url: string): Promise<ObjectStore>;
  /** Progress callback (activities heartbeat from it). */
  progress?(p: { filesDone: number; files: number; bytes: number; rows: number }): void;
  /** Called when the batch's files are written and its quarantine committed (activities heartbeat it). */
  ready?(p: BatchResumePoint): void;
  /** Where an earlier attempt of this batch got to (from its last heartbeat), if anywhere. */
  resume?: BatchResumePoint;
  /**
   * A trial run (isolation, isolate.ts): only these lines, written to these throwaway stores instead of
   * the table and its quarantine. Nothing of the real table changes.
   */
  probe?: { only: LineSelection[]; table: ObjectStore; quarantine: ObjectStore };
}

export const lineLimitsOf = (t: IngestTarget): LineLimits => ({
  maxNestingDepth: t.maxNestingDepth ?? DEFAULT_LINE_LIMITS.maxNestingDepth,
  maxNewColumns: t.maxNewColumnsPerBatch ?? DEFAULT_LINE_LIMITS.maxNewColumns,
  maxColumns: t.maxColumns ?? DEFAULT_LINE_LIMITS.maxColumns,
});

/**
 * Longest quarantine record (JSON with the raw bytes in base64): an over-long line keeps up to
 * RAW_KEEP_LIMIT bytes, a file kept whole RAW_RECORD_BYTES per record; DuckDB's default is 16 MB.
 */
const QUARANTINE_RECORD_BYTES = Math.ceil((Math.max(RAW_KEEP_LIMIT, RAW_RECORD_BYTES) * 4) / 3) + (1 << 20);

// eslint-disable-next-line require-yield
async function* failing(e: unknown): AsyncGenerator<Buffer> {
  throw e;
}

const numRecords = (adds: readonly { stats?: string | null }[]): number =>
  adds.reduce((n, a) => n + ((JSON.parse(a.stats ?? '{}') as { numRecords?: number }).numRecords ?? 0), 0);

const columnsSpec = (s: StructType) =>
  `{${s.fields.map((f) => `${sqlString(f.name)}: ${sqlString(duckType(f.type))}`).join(', ')}}`;

/** How far back from the latest version a retry looks for its batch's commit (it is usually the latest). */
const COMMIT_LOOKBACK = 16;

/**
 * The version and totals of the commit recording txn(appId, seq), from its commitInfo (what ingestBatch put
 * in operationParameters), when it is among the latest commits: a retry of a batch whose earlier attempt
 * committed (its response lost, or its worker gone) reports what the batch ingested, not zeros. Undefined
 * when it is older (the zeros stand then: another run's batch).
 */
async function committedTotals(
  table: ObjectStore,
  appId: string,
  seq: number,
  latest: number,
): Promise<
  | (Pick<IngestBatchResult, 'version' | 'lines' | 'rows' | 'quarantined' | 'rescued'> & { written: number })
  | undefined
> {
  try {
    for await (const c of readCommitRange(table, Math.max(0, latest - COMMIT_LOOKBACK + 1), latest)) {
      if (!c.actions.some((a) => 'txn' in a && a.txn.appId === appId && a.txn.version === seq)) continue;
      const info = c.actions.find((a) => 'commitInfo' in a);
      const p: Record<string, unknown> =
        info && 'commitInfo' in info ? (info.commitInfo.operationParameters ?? {}) : {};
      const m: Record<string, unknown> =
        info && 'commitInfo' in info
          ? ((info.commitInfo.operationMetrics as Record<string, unknown> | undefined) ?? {})
          : {};
      const count = (k: string, from: Record<string, unknown> = p) => {
        const n = Number(from[k]);
        return Number.isSafeInteger(n) && n >= 0 ? n : 0;
      };
      return {
        version: c.version,
        lines: count('lines'),
        rows: count('rows'),
        quarantined: count('quarantined'),
        rescued: count('rescued'),
        written: count('numOutputBytes', m),
      };
    }
  } catch (e) {
    // Log retention removed the window's older commits: the totals are unknown, not an error.
    if (!isTributaryError(e, 'INVALID_LOG')) throw e;
  }
  return undefined;
}

/** The newest lastModified of the files, when every one records it (older manifests do not). */
function newestModified(files: readonly SourceFile[]): { newestSourceModified?: number } {
  let newest: number | undefined;
  for (const f of files) {
    if (f.lastModified === undefined) return {};
    newest = Math.max(newest ?? f.lastModified, f.lastModified);
  }
  return newest === undefined ? {} : { newestSourceModified: newest };
}

export async function ingestBatch(deps: BatchDeps, req: IngestBatchRequest): Promise<IngestBatchResult> {
  const t = req.target;
  const appId = appIdFor(t.region);
  const [raw, realTable, realQuarantine] = await Promise.all([
    deps.open(t.raw),
    deps.open(t.table),
    deps.open(t.quarantine),
  ]);
  const manifest = await readManifest(realTable, appId, req.seq).catch((e: unknown) => {
    if (isTributaryError(e, 'NOT_FOUND'))
      throw new TributaryError(
        'BAD_INPUT',
        `batch ${req.seq} of region ${t.region} has no manifest in ${realTable.url}; plan it first`,
        { cause: e },
      );
    throw e;
  });
  const snap = await loadSnapshotOrUndefined(realTable, defaultEngine);
  const table = deps.probe?.table ?? realTable;
  const quarantine = deps.probe?.quarantine ?? realQuarantine;
  const done = snap?.txnVersion(appId);
  const base = {
    seq: req.seq,
    files: manifest.files.length,
    bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    addedColumns: [] as string[],
    ...newestModified(manifest.files),
  };
  // What the batch moves between clouds: its raw bytes read, its data files written.
  const transferOf = (bytesWritten: number): CloudTransfer => ({
    from: cloudOfUrl(t.raw),
    to: cloudOfUrl(t.table),
    bytesRead: base.bytes,
    bytesWritten,
  });
  if (snap && done !== undefined && done >= req.seq && !deps.probe) {
    const found = await committedTotals(realTable, appId, req.seq, snap.version);
    const { written, ...totals } = found ?? { written: 0 };
    return {
      ...base,
      version: snap.version,
      alreadyCommitted: true,
      lines: 0,
      rows: 0,
      quarantined: 0,
      rescued: 0,
      ...totals,
      // Read and written by the attempt that committed (its result was lost): this run's cost all the same.
      ...(found ? { transfer: transferOf(written) } : {}),
    };
  }

  if (!deps.probe && deps.resume?.seq === req.seq && (await filesStillThere(table, deps.resume))) {
    const w = await commitResumed(table, appId, deps.resume, transferMetrics(transferOf(0)));
    return {
      ...base,
      ...deps.resume.totals,
      version: w.version,
      alreadyCommitted: w.kind === 'alreadyCommitted',
      addedColumns: deps.resume.addedColumns,
      transfer: transferOf(deps.resume.adds.reduce((n, a) => n + a.size, 0)),
    };
  }

  const userBase: StructType = {
    type: 'struct',
    fields: (snap?.schema.fields ?? []).filter(
      (f) => !(METADATA_COLUMNS as readonly string[]).includes(f.name),
    ),
  };
  const isolated = req.isolated ?? [];
  const st = await BatchStaging.create(
    manifest.files,
    userBase,
    new Set<string>(METADATA_COLUMNS),
    lineLimitsOf(t),
    { isolated, ...(deps.probe ? { only: deps.probe.only } : {}) },
  );
  const now = new Date().toISOString();
  const ctx: ChunkContext = {
    table,
    fileKeys: manifest.files.map((f) => f.key),
    region: t.region,
    now,
    eventTimeColumn: t.eventTimeColumn,
    maxLineBytes: t.maxLineBytes,
    seq: req.seq,
    metadata: METADATA_FIELDS,
  };
  const chunks = new SqlChunks(ctx);
  try {
    for (const [i, f] of manifest.files.entries()) {
      if (!st.selected(i)) continue;
      const whole = isolated.find((x) => x.file === i && !x.lines);
      let body;
      try {
        body = await raw.getStream(f.key);
      } catch (e) {
        if (isTributaryError(e, 'NOT_FOUND')) {
          st.missingFile(i);
          continue;
        }
        // A source file the store refuses to open (a key that is not canonical: `..`, `//`, a backslash,
        // a control character; a local symbolic link leading outside the root) can never be read: it is
        // recorded in quarantine with the reason and no bytes, and the rest of the batch goes on.
        if (!whole && isTributaryError(e, 'BAD_INPUT')) {
          st.unreadableFile(i, `source file cannot be read: ${e.message}`);
          continue;
        }
        // An isolated file that cannot even be opened is still recorded (with no bytes), never dropped.
        if (!whole || (isTributaryError(e) && e.retryable)) throw e;
        body = Readable.from(failing(e));
      }
      if (whole) {
        await st.keepRawFile(i, body, `isolated: ${whole.reason}`);
        continue;
      }
      const staged = await st.decodeFile(i, body, { maxLineBytes: t.maxLineBytes }, () =>
        raw.getStream(f.key),
      );
      await chunks.add(staged, st.conformer.schema);
      deps.progress?.({
        filesDone: i + 1,
        files: manifest.files.length,
        bytes: base.bytes,
        rows: st.stagedLines + st.jsRows,
      });
    }
    await chunks.finish(st.conformer.schema);
    // Staged lines failing a DuckDB value check (e.g. a timestamp text DuckDB does not read as JS does) go
    // through the Conformer too; they cannot change the schema (they are no class's first line).
    await st.conformRerouted(chunks.failing.sort((a, b) => a.g - b.g));
    st.reconcile(numRecords(chunks.adds) + st.jsRows);
    const userSchema = st.conformer.schema;
    const txn = { appId, version: req.seq };

    // 1. Quarantine first (called once the data files are written, before the main commit): its own txn
    //    makes it idempotent too; the batch is done only when the main commit lands.
    const writeQuarantine = async () => {
      await st.quarOut.close();
      if (st.quarOut.lines === 0) return;
      await writeTable(quarantine, {
        sourceSql:
          `(SELECT source_file, line, byte_offset, reason, from_base64(raw_base64) AS raw, ${req.seq}::BIGINT AS batch, ` +
          `TIMESTAMPTZ ${sqlString(now)} AS _ingested_at, ${sqlString(t.region)} AS _region ` +
          `FROM read_json(${sqlString(st.quarOut.path)}, format = 'newline_delimited', columns = {source_file: 'VARCHAR', line: 'BIGINT', byte_offset: 'BIGINT', reason: 'VARCHAR', raw_base64: 'VARCHAR'}, maximum_object_size = ${QUARANTINE_RECORD_BYTES}))`,
        mergeSchema: true,
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: { appId, batch: req.seq },
      });
    };

    // 2. The JS rows, committed with the chunks' files and the file reconciliation in one atomic commit.
    await st.closeRows();
    const stagedSchema: StructType = {
      type: 'struct',
      fields: [
        ...userSchema.fields,
        ...METADATA_FIELDS.filter((m) => ['_rescued_data', '_source_file', '_source_line'].includes(m.name)),
      ],
    };
    const jsPaths = st.rowFiles.filter((f) => f.lines > 0).map((f) => sqlString(f.path));
    const inputSchema: StructType = { type: 'struct', fields: [...userSchema.fields, ...METADATA_FIELDS] };
    const sourceSql = jsPaths.length
      ? withBatchColumns(
          ctx,
          userSchema,
          `SELECT * FROM read_json([${jsPaths.join(', ')}], format = 'newline_delimited', columns = ${columnsSpec(stagedSchema)}, maximum_object_size = ${maxObjectSize(t.maxLineBytes)})`,
        )
      : emptyRelation(inputSchema);
    const w = await writeTable(table, {
      sourceSql,
      inputSchema,
      expectRows: st.jsRows,
      alsoAdd: chunks.adds,
      mergeSchema: true,
      partitionBy: PARTITION_COLUMNS,
      txn,
      operation: 'STREAMING UPDATE',
      operationParameters: {
        appId,
        batch: req.seq,
        files: JSON.stringify(st.recon),
        ...st.totals(),
        ...(isolated.length ? { isolated: JSON.stringify(isolated) } : {}),
        ...(st.conformer.refused.size ? { columnsOverLimit: [...st.conformer.refused].join(',') } : {}),
      },
      operationMetrics: transferMetrics(transferOf(0)),
      namePrefix: filePrefixFor(req.seq),
      beforeCommit: writeQuarantine,
      onReady: (r) =>
        deps.ready?.({
          seq: req.seq,
          adds: r.adds,
          schemaString: serializeSchema(r.schema),
          files: st.recon,
          totals: st.totals(),
          addedColumns: st.conformer.added,
        }),
    });
    return {
      ...base,
      ...st.totals(),
      version: w.version,
      alreadyCommitted: w.kind === 'alreadyCommitted',
      addedColumns: st.conformer.added,
      transfer: transferOf(w.addedBytes),
    };
  } finally {
    await chunks.abandon(); // files of a failed attempt are never committed; vacuum removes them
    await st.discard();
  }
}
