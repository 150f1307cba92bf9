/**
 * Ingests one planned batch into the regional table, exactly once: the commit carries
 * txn(appId, seq), so a retry after any crash (after staging, after the quarantine commit, after the main
 * commit) finds what already landed and never duplicates or loses a line. Parquet left by a failed
 * attempt is never referenced and is removed by vacuum.
 */
import { TributaryError, isTributaryError } from '../../lake/errors';
import { type StructType } from '../../lake/delta/schema';
import { sqlIdent, sqlString } from '../../lake/engine/duckdb';
import { stageOutput } from '../../lake/engine/local-files';
import { duckType } from '../../lake/engine/types';
import type { ObjectStore } from '../../lake/storage/object-store';
import { loadSnapshotOrUndefined, defaultEngine, writeTable } from '../../lake/table/operations';
import { Conformer } from './conform';
import { type QuarantineEntry, decodeLines, isGzip } from './decode';
import { readManifest } from './file-state';
import { stringifyJson } from './lossless-json';
import { LineWriter } from './staging';
import { type FileReconciliation, type IngestBatchRequest, type IngestBatchResult, appIdFor } from './types';

/** Columns Tributary adds to every row; source fields with these names are rescued, never overwritten. */
export const METADATA_COLUMNS = [
  '_rescued_data',
  '_source_file',
  '_source_line',
  '_ingested_at',
  '_region',
  '_event_date',
] as const;
const METADATA_FIELDS: StructType['fields'] = [
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
}

const columnsSpec = (s: StructType) =>
  `{${s.fields.map((f) => `${sqlString(f.name)}: ${sqlString(duckType(f.type))}`).join(', ')}}`;

export async function ingestBatch(deps: BatchDeps, req: IngestBatchRequest): Promise<IngestBatchResult> {
  const t = req.target;
  const appId = appIdFor(t.region);
  const [raw, table, quarantine] = await Promise.all([
    deps.open(t.raw),
    deps.open(t.table),
    deps.open(t.quarantine),
  ]);
  const manifest = await readManifest(table, appId, req.seq).catch((e: unknown) => {
    if (isTributaryError(e, 'NOT_FOUND'))
      throw new TributaryError(
        'BAD_INPUT',
        `batch ${req.seq} of region ${t.region} has no manifest in ${table.url}; plan it first`,
        { cause: e },
      );
    throw e;
  });
  const snap = await loadSnapshotOrUndefined(table, defaultEngine);
  const done = snap?.txnVersion(appId);
  const base = {
    seq: req.seq,
    files: manifest.files.length,
    bytes: manifest.files.reduce((n, f) => n + f.size, 0),
    addedColumns: [] as string[],
  };
  if (snap && done !== undefined && done >= req.seq)
    return {
      ...base,
      version: snap.version,
      alreadyCommitted: true,
      lines: 0,
      rows: 0,
      quarantined: 0,
      rescued: 0,
    };

  const userBase: StructType = {
    type: 'struct',
    fields: (snap?.schema.fields ?? []).filter(
      (f) => !(METADATA_COLUMNS as readonly string[]).includes(f.name),
    ),
  };
  const conformer = new Conformer(userBase, new Set(METADATA_COLUMNS));
  const rowsOut = new LineWriter((await stageOutput('.jsonl')).path);
  const quarOut = new LineWriter((await stageOutput('.jsonl')).path);
  const recon: FileReconciliation[] = [];
  try {
    let rows = 0;
    for (const [i, f] of manifest.files.entries()) {
      const r: FileReconciliation = {
        key: f.key,
        size: f.size,
        etag: f.etag,
        lines: 0,
        rows: 0,
        quarantined: 0,
        rescued: 0,
        blank: 0,
      };
      const q = (e: QuarantineEntry) =>
        quarOut.push(
          JSON.stringify({
            source_file: f.key,
            line: e.line,
            byte_offset: e.byteOffset,
            reason: e.reason,
            raw_base64: e.raw.toString('base64'),
          }),
        );
      let body;
      try {
        body = await raw.getStream(f.key);
      } catch (e) {
        if (!isTributaryError(e, 'NOT_FOUND')) throw e;
        // The file vanished between planning and ingestion: say so in quarantine rather than skip silently.
        q({ line: 0, byteOffset: 0, reason: 'source file no longer exists', raw: Buffer.alloc(0) });
        r.quarantined = 1;
        r.lines = 1;
        recon.push(r);
        continue;
      }
      const stats = await decodeLines(
        body,
        { gzip: isGzip(f.key), maxLineBytes: t.maxLineBytes },
        {
          record: (v, line) => {
            const { row, rescued } = conformer.conform(v);
            if (rescued) r.rescued++;
            row._rescued_data = rescued ? stringifyJson(rescued) : null;
            row._source_file = f.key;
            row._source_line = line;
            rowsOut.push(stringifyJson(row));
          },
          quarantine: q,
        },
      );
      await rowsOut.drain();
      await quarOut.drain();
      Object.assign(r, {
        lines: stats.lines,
        rows: stats.records,
        quarantined: stats.quarantined,
        blank: stats.blank,
      });
      rows += stats.records;
      recon.push(r);
      deps.progress?.({ filesDone: i + 1, files: manifest.files.length, bytes: base.bytes, rows });
    }
    await rowsOut.close();
    await quarOut.close();
    const totals = recon.reduce(
      (a, r) => ({
        lines: a.lines + r.lines,
        rows: a.rows + r.rows,
        quarantined: a.quarantined + r.quarantined,
        rescued: a.rescued + r.rescued,
      }),
      { lines: 0, rows: 0, quarantined: 0, rescued: 0 },
    );
    const txn = { appId, version: req.seq };
    const now = new Date().toISOString();

    // 1. Quarantine first: its own txn makes it idempotent too; the batch is done only when the main commit lands.
    if (quarOut.lines > 0) {
      await writeTable(quarantine, {
        sourceSql:
          `(SELECT source_file, line, byte_offset, reason, from_base64(raw_base64) AS raw, ${req.seq}::BIGINT AS batch, ` +
          `TIMESTAMPTZ ${sqlString(now)} AS _ingested_at, ${sqlString(t.region)} AS _region ` +
          `FROM read_json(${sqlString(quarOut.path)}, format = 'newline_delimited', columns = {source_file: 'VARCHAR', line: 'BIGINT', byte_offset: 'BIGINT', reason: 'VARCHAR', raw_base64: 'VARCHAR'}))`,
        mergeSchema: true,
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: { appId, batch: req.seq },
      });
    }

    // 2. The rows, with the file reconciliation in the same atomic commit.
    const staged: StructType = {
      type: 'struct',
      fields: [
        ...conformer.schema.fields,
        ...METADATA_FIELDS.filter((m) => ['_rescued_data', '_source_file', '_source_line'].includes(m.name)),
      ],
    };
    const eventCol = conformer.schema.fields.find(
      (f) => f.name === t.eventTimeColumn && f.type === 'timestamp',
    );
    const eventDate = eventCol
      ? `CAST(COALESCE(${sqlIdent(eventCol.name)}, TIMESTAMPTZ ${sqlString(now)}) AS DATE)`
      : `CAST(TIMESTAMPTZ ${sqlString(now)} AS DATE)`;
    const sourceSql =
      rowsOut.lines > 0
        ? `(SELECT *, TIMESTAMPTZ ${sqlString(now)} AS _ingested_at, ${sqlString(t.region)} AS _region, ${eventDate} AS _event_date ` +
          `FROM read_json(${sqlString(rowsOut.path)}, format = 'newline_delimited', columns = ${columnsSpec(staged)}, maximum_object_size = ${Math.max(16 << 20, t.maxLineBytes * 4)}))`
        : `(SELECT ${[...conformer.schema.fields, ...METADATA_FIELDS].map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} WHERE false)`;
    const w = await writeTable(table, {
      sourceSql,
      mergeSchema: true,
      partitionBy: ['_event_date'],
      txn,
      operation: 'STREAMING UPDATE',
      operationParameters: { appId, batch: req.seq, files: JSON.stringify(recon), ...totals },
      namePrefix: `part-b${req.seq}`,
    });
    return {
      ...base,
      ...totals,
      version: w.version,
      alreadyCommitted: w.kind === 'alreadyCommitted',
      addedColumns: conformer.added,
    };
  } finally {
    await rowsOut.close().catch(() => {});
    await quarOut.close().catch(() => {});
    const { rm } = await import('node:fs/promises');
    await rm(rowsOut.path, { force: true });
    await rm(quarOut.path, { force: true });
  }
}
