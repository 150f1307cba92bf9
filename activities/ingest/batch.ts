/**
 * Ingests one planned batch into the regional table, exactly once: the commit carries
 * txn(appId, seq), so a retry after any crash (after staging, after the quarantine commit, after the main
 * commit) finds what already landed and never duplicates or loses a line. Parquet left by a failed
 * attempt is never referenced and is removed by vacuum.
 */
import { TributaryError, isTributaryError } from '../../lake/errors';
import { type StructType, serializeSchema } from '../../lake/delta/schema';
import { sqlIdent, sqlString, withConnection } from '../../lake/engine/duckdb';
import { stageOutput } from '../../lake/engine/local-files';
import { duckType } from '../../lake/engine/types';
import type { ObjectStore } from '../../lake/storage/object-store';
import { loadSnapshotOrUndefined, defaultEngine, writeTable } from '../../lake/table/operations';
import { RowCountMismatchError } from '../../lake/engine/writer';
import { Conformer } from './conform';
import { type QuarantineEntry, decodeLines, isGzip, parseRecord } from './decode';
import { readManifest } from './file-state';
import { commitResumed, filesStillThere } from './resume';
import { stringifyJson } from './lossless-json';
import {
  type JsLine,
  type ShapeClass,
  mergeClasses,
  rerouteFailing,
  routeLines,
  shapeClasses,
  typedLines,
} from './route';
import { sqlConform, stagedRelation } from './sql-conform';
import { LineWriter } from './staging';
import {
  type BatchResumePoint,
  type FileReconciliation,
  type IngestBatchRequest,
  type IngestBatchResult,
  type SourceFile,
  appIdFor,
} from './types';

/** Line ids: g = file index · LINE_SPACE + line number (exact in a double for 2^21 files). */
const LINE_SPACE = 2 ** 32;

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
  /** Called when the batch's files are written and its quarantine committed (activities heartbeat it). */
  ready?(p: BatchResumePoint): void;
  /** Where an earlier attempt of this batch got to (from its last heartbeat), if anywhere. */
  resume?: BatchResumePoint;
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

  if (deps.resume?.seq === req.seq && (await filesStillThere(table, deps.resume))) {
    const w = await commitResumed(table, appId, deps.resume);
    return {
      ...base,
      ...deps.resume.totals,
      version: w.version,
      alreadyCommitted: w.kind === 'alreadyCommitted',
      addedColumns: deps.resume.addedColumns,
    };
  }

  const userBase: StructType = {
    type: 'struct',
    fields: (snap?.schema.fields ?? []).filter(
      (f) => !(METADATA_COLUMNS as readonly string[]).includes(f.name),
    ),
  };
  const reserved = new Set<string>(METADATA_COLUMNS);
  /** One staging file per source file, so DuckDB can read a file's shapes while the next one is decoded. */
  const stageFiles: LineWriter[] = [];
  /** Conformed JS rows (JSON Lines), streamed to disk; a re-route adds a file. */
  let rowsOut = new LineWriter((await stageOutput('.jsonl')).path);
  const jsFiles = [rowsOut];
  const quarOut = new LineWriter((await stageOutput('.jsonl')).path);
  const recon: FileReconciliation[] = [];
  let jsTable: string | undefined;
  try {
    const direct: JsLine[] = [];
    const quarantined = (f: SourceFile) => (e: QuarantineEntry) =>
      quarOut.push(
        JSON.stringify({
          source_file: f.key,
          line: e.line,
          byte_offset: e.byteOffset,
          reason: e.reason,
          raw_base64: e.raw.toString('base64'),
        }),
      );
    let lines = 0;
    // Shape classes of each staged file (route.ts), one DuckDB query at a time, overlapping the decoding.
    let shapes: Promise<ShapeClass[][]> = Promise.resolve([]);
    shapes.catch(() => {});
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
      recon.push(r);
      const q = quarantined(f);
      let body;
      try {
        body = await raw.getStream(f.key);
      } catch (e) {
        if (!isTributaryError(e, 'NOT_FOUND')) throw e;
        // The file vanished between planning and ingestion: say so in quarantine rather than skip silently.
        q({ line: 0, byteOffset: 0, reason: 'source file no longer exists', raw: Buffer.alloc(0) });
        r.quarantined = 1;
        r.lines = 1;
        continue;
      }
      const fileBase = i * LINE_SPACE;
      const stageOut = new LineWriter((await stageOutput('.staged')).path);
      stageFiles.push(stageOut);
      const stats = await decodeLines(
        body,
        { gzip: isGzip(f.key), maxLineBytes: t.maxLineBytes },
        {
          // Lines holding bytes the staging layout cannot carry (0x00, 0x01, CR) take the JS path directly.
          line: (buf, line, byteOffset, plain) => {
            const g = fileBase + line;
            if (plain || (buf.indexOf(0x00) < 0 && buf.indexOf(0x01) < 0 && buf.indexOf(0x0d) < 0))
              stageOut.pushBytes(`${g}\x01${byteOffset}\x01`, buf);
            else direct.push({ g, o: byteOffset, raw: Buffer.from(buf) });
          },
          quarantine: q,
        },
      );
      await stageOut.close();
      await quarOut.drain();
      if (stageOut.lines > 0) {
        const rel = stagedRelation([stageOut.path], t.maxLineBytes);
        shapes = shapes.then(async (acc) => [...acc, await withConnection((c) => shapeClasses(c, rel))]);
        shapes.catch(() => {}); // awaited below; this only keeps a failure from being unhandled meanwhile
      }
      Object.assign(r, { lines: stats.lines, quarantined: stats.quarantined, blank: stats.blank });
      lines += stats.candidates;
      deps.progress?.({ filesDone: i + 1, files: manifest.files.length, bytes: base.bytes, rows: lines });
    }
    const classes = mergeClasses(await shapes);
    const staged = stagedRelation(
      stageFiles.filter((w) => w.lines > 0).map((w) => w.path),
      t.maxLineBytes,
    );

    // Which lines DuckDB types alone and which the Conformer handles (route.ts), then the JS lines.
    const conformer = new Conformer(userBase, reserved);
    let jsRowCount = 0;
    const fileOf = (g: number) => Math.floor(g / LINE_SPACE);
    const conformLines = async (js: readonly JsLine[]) => {
      for (const l of js) {
        const f = manifest.files[fileOf(l.g)]!;
        const r = recon[fileOf(l.g)]!;
        const line = l.g % LINE_SPACE;
        const p = parseRecord(l.raw);
        if ('reason' in p) {
          quarantined(f)({ line, byteOffset: l.o, reason: p.reason, raw: l.raw });
          r.quarantined++;
          continue;
        }
        const { row, rescued } = conformer.conform(p.value);
        if (rescued) r.rescued++;
        row._rescued_data = rescued ? stringifyJson(rescued) : null;
        row._source_file = f.key;
        row._source_line = line;
        rowsOut.push(stringifyJson(row));
        if (++jsRowCount % 4096 === 0) await rowsOut.drain();
      }
    };
    let sqlLines = 0;
    let userSchema = userBase;
    if (lines > direct.length) {
      const routed = await withConnection((c) => routeLines(c, staged, classes, direct, userBase, reserved));
      jsTable = routed.table;
      sqlLines = routed.sqlLines;
      userSchema = routed.schema;
      await conformLines(routed.lines);
      if (JSON.stringify(conformer.schema) !== JSON.stringify(routed.schema))
        throw new TributaryError(
          'INTERNAL',
          'ingest routing: the Conformer ended with a schema other than the probe',
        );
    } else await conformLines([...direct].sort((a, b) => a.g - b.g));
    if (!jsTable) userSchema = conformer.schema;
    for (const r of recon) r.rows = r.lines - r.quarantined;
    const totals = () =>
      recon.reduce(
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

    // 1. Quarantine first (called once the data files are written, before the main commit): its own txn
    //    makes it idempotent too; the batch is done only when the main commit lands.
    const writeQuarantine = async () => {
      await quarOut.close();
      if (quarOut.lines === 0) return;
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
    };

    // 2. The rows, with the file reconciliation in the same atomic commit.
    const stagedSchema: StructType = {
      type: 'struct',
      fields: [
        ...userSchema.fields,
        ...METADATA_FIELDS.filter((m) => ['_rescued_data', '_source_file', '_source_line'].includes(m.name)),
      ],
    };
    const eventCol = userSchema.fields.find((f) => f.name === t.eventTimeColumn && f.type === 'timestamp');
    const eventDate = eventCol
      ? `CAST(COALESCE(${sqlIdent(eventCol.name)}, TIMESTAMPTZ ${sqlString(now)}) AS DATE)`
      : `CAST(TIMESTAMPTZ ${sqlString(now)} AS DATE)`;
    const sc = sqlConform(userSchema);
    if (sqlLines > 0 && !sc)
      throw new TributaryError('INTERNAL', 'ingest routing sent lines to SQL for a schema SQL cannot type');
    const fileList = `[${manifest.files.map((f) => sqlString(f.key)).join(', ')}]`;
    const write = async () => {
      await rowsOut.close();
      const parts: string[] = [];
      if (sqlLines > 0)
        parts.push(
          `SELECT ${sc!.columns.join(', ')}, CAST(NULL AS VARCHAR) AS _rescued_data, ` +
            `${fileList}[(g // ${LINE_SPACE}) + 1] AS _source_file, CAST(g % ${LINE_SPACE} AS BIGINT) AS _source_line ` +
            `FROM ${typedLines(staged, jsTable!, sc!.transform)} WHERE ${sc!.ok}`,
        );
      const jsPaths = jsFiles.filter((f) => f.lines > 0).map((f) => sqlString(f.path));
      if (jsPaths.length)
        parts.push(
          `SELECT * FROM read_json([${jsPaths.join(', ')}], format = 'newline_delimited', columns = ${columnsSpec(stagedSchema)}, maximum_object_size = ${Math.max(16 << 20, t.maxLineBytes * 4)})`,
        );
      const sourceSql = parts.length
        ? `(SELECT *, TIMESTAMPTZ ${sqlString(now)} AS _ingested_at, ${sqlString(t.region)} AS _region, ${eventDate} AS _event_date ` +
          `FROM (${parts.join(' UNION ALL ')}))`
        : `(SELECT ${[...userSchema.fields, ...METADATA_FIELDS].map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} WHERE false)`;
      return writeTable(table, {
        sourceSql,
        inputSchema: { type: 'struct', fields: [...userSchema.fields, ...METADATA_FIELDS] },
        expectRows: sqlLines + jsRowCount,
        mergeSchema: true,
        partitionBy: ['_event_date'],
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: { appId, batch: req.seq, files: JSON.stringify(recon), ...totals() },
        namePrefix: `part-b${req.seq}`,
        beforeCommit: writeQuarantine,
        onReady: (r) =>
          deps.ready?.({
            seq: req.seq,
            adds: r.adds,
            schemaString: serializeSchema(r.schema),
            files: recon,
            totals: totals(),
            addedColumns: conformer.added,
          }),
      });
    };
    let w;
    try {
      w = await write();
    } catch (e) {
      if (!(e instanceof RowCountMismatchError) || !sc) throw e;
      // Some staged lines failed a value check (e.g. a timestamp text DuckDB does not read as JS does):
      // they go through the Conformer too. They cannot change the schema (they are no shape's first line).
      const failing = await withConnection((c) => rerouteFailing(c, staged, jsTable!, sc.transform, sc.ok));
      const before = JSON.stringify(conformer.schema);
      rowsOut = new LineWriter((await stageOutput('.jsonl')).path);
      jsFiles.push(rowsOut);
      await conformLines(failing);
      if (JSON.stringify(conformer.schema) !== before)
        throw new TributaryError('INTERNAL', 'ingest routing: a re-routed line changed the schema', {
          cause: e,
        });
      sqlLines -= failing.length;
      for (const r of recon) r.rows = r.lines - r.quarantined;
      w = await write();
    }
    return {
      ...base,
      ...totals(),
      version: w.version,
      alreadyCommitted: w.kind === 'alreadyCommitted',
      addedColumns: conformer.added,
    };
  } finally {
    await quarOut.close().catch(() => {});
    const { rm } = await import('node:fs/promises');
    await rm(quarOut.path, { force: true });
    for (const w of jsFiles) {
      await w.close().catch(() => {});
      await rm(w.path, { force: true });
    }
    for (const w of stageFiles) {
      await w.close().catch(() => {});
      await rm(w.path, { force: true });
    }
    if (jsTable) await withConnection((c) => c.run(`DROP TABLE IF EXISTS ${jsTable}`)).catch(() => {});
  }
}
