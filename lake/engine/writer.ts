/**
 * Writes rows (any DuckDB relation) as Delta data files: one Parquet file (zstd) per partition value
 * tuple, Spark-compatible physical types (timestamps as INT64 micros, UTC-adjusted), plus add actions
 * with statistics. Files get unique names, so a failed attempt leaves only unreferenced files that vacuum removes.
 *
 * One COPY … (PARTITION_BY, RETURN_STATS) writes every partition in a single pass over the source and
 * reports each file's footer statistics, so files are not scanned again for their stats. Partition
 * columns whose DuckDB rendering is not the Delta one (timestamps, decimals, floats, binary) take a
 * COPY per partition value instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { eachLimit } from '../each-limit';
import type { ObjectStore } from '../storage/object-store';
import type { AddFile } from '../delta/actions';
import { encodeDataPath, partitionDir } from '../delta/paths';
import type { DataType, StructType } from '../delta/schema';
import { sqlIdent, sqlString, withConnection } from './duckdb';
import { stageDir, uploadFile } from './local-files';
import { type CopyColumnStats, fileStats, statsFromCopy } from './stats';
import { duckType, losslessExpr } from './types';
import { formatDays, formatMicros } from './canonical';

export interface WriteFilesRequest {
  /** A relation (table name or parenthesised SELECT) whose columns carry the table's logical names. */
  source: string;
  schema: StructType;
  partitionColumns: readonly string[];
  /** Rows per row group (default DuckDB's 122,880: each row group is compressed on its own thread). */
  rowGroupSize?: number;
  /** Prefix inside the table for the file names (e.g. a batch id), for traceability. */
  namePrefix?: string;
  /**
   * When set, the rows written must number exactly this many, else nothing is uploaded and a
   * RowCountMismatchError is thrown (callers use it to verify a filtered source against their own count).
   */
  expectRows?: number;
  /**
   * The source already split by partition value tuple (values in Delta serialization): one COPY each,
   * without a partitioning writer, PARTITION_COPIES at a time. `source` is then unused for the data.
   * Each source must stand on its own (no temp table of the caller's connection): all but one are run on
   * connections of their own.
   */
  partitions?: { values: Record<string, string | null>; source: string }[];
}

/** The source held a different number of rows than the caller expected (WriteFilesRequest.expectRows). */
export class RowCountMismatchError extends Error {
  constructor(
    readonly expected: number,
    readonly written: number,
  ) {
    super(`wrote ${written} rows where ${expected} were expected`);
  }
}

/** Partition value serialization (PROTOCOL.md "Partition Value Serialization"). */
function partitionString(v: unknown, type: string): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'timestamp')
    return `${formatMicros(BigInt(v as string)).replace('T', ' ')}`.replace(/\.000000$/, '');
  if (type === 'timestamp_ntz')
    return formatMicros(BigInt(v as string))
      .replace('T', ' ')
      .replace(/\.000000$/, '');
  if (type === 'date') return formatDays(Number(v));
  return String(v);
}

/** Partition types whose DuckDB text (COPY's partition_keys) is already the Delta partition value. */
const DIRECT_PARTITION_TYPES = new Set<DataType>([
  'string',
  'date',
  'byte',
  'short',
  'integer',
  'long',
  'boolean',
]);

interface WrittenFile {
  path: string;
  rows: number;
  stats: { numRecords: number; json: string };
  partitionValues: Record<string, string | null>;
}

type CopyRow = {
  filename: string;
  count: string;
  column_statistics: { key: string; value: { key: string; value: string | null }[] }[] | null;
  partition_keys: { key: string; value: string | null }[] | null;
};

/**
 * A string column whose dictionary outgrows 64 KiB in a row group is written plain (zstd still compresses
 * it): DuckDB's 1 MiB default spends its time building dictionaries for ids and messages that are dropped
 * anyway. Files come out the same size (bench:ingest: 149 MiB either way) and about 7% faster to write.
 */
const STRING_DICTIONARY = 'STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536';

/** Runs COPY … (RETURN_STATS) and reads its per-file report. */
async function copyWithStats(
  c: DuckDBConnection,
  select: string,
  target: string,
  options: string[],
  dataSchema: StructType,
): Promise<WrittenFile[]> {
  const r = await c.runAndReadAll(
    `COPY (${select}) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd, RETURN_STATS, ${STRING_DICTIONARY}, ${options.join(', ')})`,
  );
  const out: WrittenFile[] = [];
  for (const row of r.getRowObjectsJson() as unknown as CopyRow[]) {
    const rows = Number(row.count);
    const cols: CopyColumnStats = {};
    for (const col of row.column_statistics ?? [])
      cols[col.key] = Object.fromEntries(col.value.map((s) => [s.key, s.value]));
    const stats = statsFromCopy(rows, cols, dataSchema) ?? (await fileStats(c, row.filename, dataSchema));
    const partitionValues = Object.fromEntries((row.partition_keys ?? []).map((p) => [p.key, p.value]));
    out.push({ path: row.filename, rows, stats, partitionValues });
  }
  return out;
}

/** COPYs of a pre-split source (WriteFilesRequest.partitions) run at a time. */
const PARTITION_COPIES = 2;

/** Runs `fn` with `c` and n - 1 further connections of the same database (closed after). */
async function withConnections<T>(
  c: DuckDBConnection,
  n: number,
  fn: (lanes: DuckDBConnection[]) => Promise<T>,
): Promise<T> {
  if (n <= 1) return fn([c]);
  return withConnection((more) => withConnections(c, n - 1, (lanes) => fn([...lanes, more])));
}

/** Data files of one write uploaded at a time (each one a stream of its own). */
const UPLOAD_CONCURRENCY = 4;

export async function writeDataFiles(
  c: DuckDBConnection,
  store: ObjectStore,
  req: WriteFilesRequest,
): Promise<AddFile[]> {
  const parts = req.partitionColumns;
  const fields = req.schema.fields;
  const partFields = parts.map((p) => fields.find((f) => f.name === p)!);
  const dataFields = fields.filter((f) => !parts.includes(f.name));
  const dataSchema: StructType = { type: 'struct', fields: dataFields };
  const projection = dataFields
    .map((f) => `CAST(${sqlIdent(f.name)} AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`)
    .join(', ');
  const rowGroup = `ROW_GROUP_SIZE ${req.rowGroupSize ?? 122_880}`;
  const dir = await stageDir();
  await mkdir(dir.path, { recursive: true });
  try {
    const written: WrittenFile[] = [];
    if (req.partitions) {
      const parts = req.partitions;
      const byPartition: WrittenFile[][] = [];
      // One COPY leaves threads idle at its start and end (a partition's files are few): COPYs of
      // different partitions side by side keep them busy (bench:egress: 0.85x → 1.0x the bare COPY).
      await withConnections(c, Math.min(PARTITION_COPIES, parts.length), (lanes) =>
        eachLimit(parts, lanes.length, async (p, i, lane) => {
          const files = await copyWithStats(
            lanes[lane]!,
            `SELECT ${projection || '1 AS __empty'} FROM ${p.source}`,
            `${dir.path}/part-${i}.parquet`,
            [rowGroup],
            dataSchema,
          );
          byPartition[i] = files.map((f) => ({ ...f, partitionValues: p.values }));
        }),
      );
      for (const files of byPartition) written.push(...files);
    } else if (partFields.every((f) => DIRECT_PARTITION_TYPES.has(f.type))) {
      const cols = [
        projection || '1 AS __empty',
        ...partFields.map((f) => `CAST(${sqlIdent(f.name)} AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`),
      ];
      const opts = parts.length ? [rowGroup, `PARTITION_BY (${parts.map(sqlIdent).join(', ')})`] : [rowGroup];
      const target = parts.length ? `${dir.path}/p` : `${dir.path}/data.parquet`;
      const select = `SELECT ${cols.join(', ')} FROM ${req.source}`;
      written.push(...(await copyWithStats(c, select, target, opts, dataSchema)));
    } else {
      written.push(...(await perPartition(c, req, dir.path, projection, rowGroup, dataSchema)));
    }
    const total = written.reduce((n, w) => n + w.rows, 0);
    if (req.expectRows !== undefined && total !== req.expectRows)
      throw new RowCountMismatchError(req.expectRows, total);
    const adds: (AddFile | undefined)[] = written.map(() => undefined);
    await eachLimit(written, UPLOAD_CONCURRENCY, async (w, i) => {
      if (w.rows === 0) return;
      const values: Record<string, string | null> = {};
      for (const f of partFields) values[f.name] = w.partitionValues[f.name] ?? null;
      const key = `${partitionDir(parts, values)}${req.namePrefix ?? 'part'}-${randomUUID()}.c000.zstd.parquet`;
      const size = await uploadFile(store, w.path, key);
      adds[i] = {
        path: encodeDataPath(key),
        partitionValues: values,
        size,
        modificationTime: Date.now(),
        dataChange: true,
        stats: w.stats.json,
      };
    });
    return adds.filter((a) => a !== undefined);
  } finally {
    await dir.discard();
  }
}

/** One COPY per partition value tuple (partition types whose values need our own rendering). */
async function perPartition(
  c: DuckDBConnection,
  req: WriteFilesRequest,
  dir: string,
  projection: string,
  rowGroup: string,
  dataSchema: StructType,
): Promise<WrittenFile[]> {
  const partFields = req.partitionColumns.map((p) => req.schema.fields.find((f) => f.name === p)!);
  const sel = partFields.map(
    (f) =>
      `${losslessExpr(`CAST(${sqlIdent(f.name)} AS ${duckType(f.type)})`, f.type)} AS ${sqlIdent(f.name)}`,
  );
  const tuples = (
    await c.runAndReadAll(`SELECT DISTINCT ${sel.join(', ')} FROM ${req.source}`)
  ).getRowObjectsJS() as Record<string, unknown>[];
  const out: WrittenFile[] = [];
  for (const [i, tuple] of tuples.entries()) {
    const values: Record<string, string | null> = {};
    const conds: string[] = [];
    for (const f of partFields) {
      values[f.name] = partitionString(tuple[f.name], f.type as string);
      const lhs = losslessExpr(`CAST(${sqlIdent(f.name)} AS ${duckType(f.type)})`, f.type);
      conds.push(tuple[f.name] === null ? `${lhs} IS NULL` : `${lhs} = ${sqlString(String(tuple[f.name]))}`);
    }
    const files = await copyWithStats(
      c,
      `SELECT ${projection || '1 AS __empty'} FROM ${req.source} WHERE ${conds.join(' AND ')}`,
      `${dir}/part-${i}.parquet`,
      [rowGroup],
      dataSchema,
    );
    out.push(...files.map((f) => ({ ...f, partitionValues: values })));
  }
  return out;
}
