/**
 * Writes rows (any DuckDB relation) as Delta data files: one Parquet file (zstd) per partition value
 * tuple, Spark-compatible physical types (timestamps as INT64 micros, UTC-adjusted), plus add actions
 * with statistics. Files get unique names, so a failed attempt leaves only unreferenced files that vacuum removes.
 */
import { randomUUID } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '../storage/object-store';
import type { AddFile } from '../delta/actions';
import { encodeDataPath, partitionDir } from '../delta/paths';
import type { StructType } from '../delta/schema';
import { sqlIdent, sqlString } from './duckdb';
import { stageOutput, uploadFile } from './local-files';
import { fileStats } from './stats';
import { duckType, losslessExpr } from './types';
import { formatDays, formatMicros } from './canonical';

export interface WriteFilesRequest {
  /** A relation (table name or parenthesised SELECT) whose columns carry the table's logical names. */
  source: string;
  schema: StructType;
  partitionColumns: readonly string[];
  /** Row group size: logs compress well in large groups. */
  rowGroupSize?: number;
  /** Prefix inside the table for the file names (e.g. a batch id), for traceability. */
  namePrefix?: string;
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

  let tuples: Record<string, unknown>[] = [{}];
  if (parts.length) {
    const sel = partFields.map(
      (f) =>
        `${losslessExpr(`CAST(${sqlIdent(f.name)} AS ${duckType(f.type)})`, f.type)} AS ${sqlIdent(f.name)}`,
    );
    tuples = (
      await c.runAndReadAll(`SELECT DISTINCT ${sel.join(', ')} FROM ${req.source}`)
    ).getRowObjectsJS() as Record<string, unknown>[];
  }
  const adds: AddFile[] = [];
  for (const tuple of tuples) {
    const values: Record<string, string | null> = {};
    const conds: string[] = [];
    for (const f of partFields) {
      const v = partitionString(tuple[f.name], f.type as string);
      values[f.name] = v;
      const lhs = losslessExpr(`CAST(${sqlIdent(f.name)} AS ${duckType(f.type)})`, f.type);
      conds.push(tuple[f.name] === null ? `${lhs} IS NULL` : `${lhs} = ${sqlString(String(tuple[f.name]))}`);
    }
    const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
    const out = await stageOutput('.parquet');
    try {
      await c.run(
        `COPY (SELECT ${projection || '1 AS __empty'} FROM ${req.source}${where}) TO ${sqlString(out.path)} ` +
          `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${req.rowGroupSize ?? 1_000_000})`,
      );
      const stats = await fileStats(c, out.path, dataSchema);
      if (stats.numRecords === 0) continue;
      const key = `${partitionDir(parts, values)}${req.namePrefix ?? 'part'}-${randomUUID()}.c000.zstd.parquet`;
      const size = await uploadFile(store, out.path, key);
      adds.push({
        path: encodeDataPath(key),
        partitionValues: values,
        size,
        modificationTime: Date.now(),
        dataChange: true,
        stats: stats.json,
      });
    } finally {
      await out.discard();
    }
  }
  return adds;
}
