/**
 * Reads a snapshot's rows: for each active file, project the file's physical columns into the table's
 * logical schema (partition values, column mapping, type widening, missing columns as NULL), drop rows
 * deleted by a deletion vector, and filter by an optional predicate.
 */
import type { DuckDBConnection, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { eachLimit } from '../each-limit';
import type { ObjectStore } from '../storage/object-store';
import type { AddFile } from '../delta/actions';
import { loadDeletionVector } from '../delta/deletion-vectors';
import { dataFileKey } from '../delta/paths';
import type { Snapshot } from '../delta/snapshot';
import { type StructField, physicalName } from '../delta/schema';
import { type Expr, toDuckDbSqlOver } from '../predicate';
import { renderRow } from './canonical';
import { sqlIdent, sqlString, withConnection } from './duckdb';
import { withEngineErrors } from './errors';
import { materialize } from './local-files';
import { duckType, emptyRelation, losslessExpr, typedExpr } from './types';

export interface ScanOptions {
  /** Keep only rows where this predicate (over logical column names) is TRUE. */
  where?: Expr;
  /** Files to read (defaults to all active files of the snapshot). */
  files?: readonly AddFile[];
  /** Parallel file reads. */
  concurrency?: number;
}

function partitionExpr(f: StructField, add: AddFile): string {
  const raw = add.partitionValues[f.name] ?? add.partitionValues[physicalName(f, 'name')];
  if (raw === null || raw === undefined || raw === '') return `CAST(NULL AS ${duckType(f.type)})`;
  if (f.type === 'binary') return `encode(${sqlString(raw)})`;
  return `CAST(${sqlString(raw)} AS ${duckType(f.type)})`;
}

const ROW_ALIAS = '__row';

/**
 * SQL selecting one data file's rows in the table's logical schema. `path` may list several files with the
 * same physical schema (`fileColumns`) and the same partition values as `add`, none with a deletion vector.
 */
export function fileSelect(
  snapshot: Snapshot,
  add: AddFile,
  path: string | readonly string[],
  fileColumns: ReadonlyMap<string, DuckDBType>,
  deleted: readonly number[] | undefined,
): string {
  const mode = snapshot.columnMappingMode;
  const parts = new Set(snapshot.partitionColumns);
  const cols = snapshot.schema.fields.map((f) => {
    if (parts.has(f.name)) return `${partitionExpr(f, add)} AS ${sqlIdent(f.name)}`;
    const phys = physicalName(f, mode);
    if (!fileColumns.has(phys)) return `CAST(NULL AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`;
    return `${typedExpr(`t.${sqlIdent(phys)}`, f.type, mode, fileColumns.get(phys))} AS ${sqlIdent(f.name)}`;
  });
  // Row numbers only when a deletion vector needs them (an extra column costs every scan).
  const withDv = deleted !== undefined && deleted.length > 0;
  if (withDv && typeof path !== 'string') throw new Error('a deletion vector applies to one file');
  const paths = typeof path === 'string' ? sqlString(path) : `[${path.map(sqlString).join(', ')}]`;
  const src = `read_parquet(${paths}${withDv ? ', file_row_number = true' : ''}) t`;
  const dv = withDv
    ? ` WHERE t.file_row_number NOT IN (SELECT unnest([${deleted.join(',')}]::BIGINT[]))`
    : '';
  return `SELECT ${cols.join(', ')} FROM ${src}${dv}`;
}

/**
 * fileSelect for a data file already made local at `path`: its deletion vector (if any) loaded from the
 * table's store and its physical columns read from the file footer.
 */
export async function localFileSelect(
  c: DuckDBConnection,
  store: ObjectStore,
  snapshot: Snapshot,
  add: AddFile,
  path: string,
): Promise<string> {
  const deleted = add.deletionVector
    ? (await loadDeletionVector(store, store.url, add.deletionVector)).toSortedArray()
    : undefined;
  return fileSelect(
    snapshot,
    add,
    path,
    await relationColumns(c, `read_parquet(${sqlString(path)})`),
    deleted,
  );
}

/** Top-level columns of a relation (table name, table function, subquery) with their DuckDB types. */
export async function relationColumns(
  c: DuckDBConnection,
  relation: string,
): Promise<Map<string, DuckDBType>> {
  const r = await c.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
  const types = r.columnTypes();
  return new Map(r.columnNames().map((n, i) => [n, types[i]!]));
}

/** Reads rows in canonical JS form (see canonical.ts); the order is unspecified. */
export async function scanRows(
  store: ObjectStore,
  snapshot: Snapshot,
  opts: ScanOptions = {},
): Promise<Record<string, unknown>[]> {
  const files = opts.files ?? snapshot.files;
  const out: Record<string, unknown>[] = [];
  const lossless = snapshot.schema.fields
    .map((f) => `${losslessExpr(sqlIdent(f.name), f.type)} AS ${sqlIdent(f.name)}`)
    .join(', ');
  await eachLimit(files, opts.concurrency ?? 4, async (add) => {
    const key = dataFileKey(add.path, store.url);
    const local = await materialize(store, key);
    try {
      await withEngineErrors(`cannot read ${store.url}`, () =>
        withConnection(async (c) => {
          const select = await localFileSelect(c, store, snapshot, add, local.path);
          const where = opts.where ? ` WHERE (${toDuckDbSqlOver(opts.where, ROW_ALIAS)}) IS TRUE` : '';
          const r = await c.runAndReadAll(`SELECT ${lossless} FROM (${select}) ${ROW_ALIAS}${where}`);
          for (const row of r.getRowObjectsJS())
            out.push(renderRow(row as Record<string, unknown>, snapshot.schema));
        }),
      );
    } finally {
      await local.release();
    }
  });
  return out;
}

/** Rows as DuckDB values, column-major (the shape DuckDB's node API returns). */
export interface ScanChunk {
  names: readonly string[];
  types: readonly DuckDBType[];
  values: readonly (readonly DuckDBValue[])[];
}

/**
 * Reads rows in the table's logical schema as DuckDB values, one chunk (at most DuckDB's vector size) at a
 * time, file after file: memory holds one chunk and two local files, whatever the table's size. The sink gets
 * at least one, possibly empty, chunk; the next is read only once it has settled, and what it throws (a
 * closed pipe, say) propagates unchanged.
 */
export async function scanChunks(
  store: ObjectStore,
  snapshot: Snapshot,
  sink: (chunk: ScanChunk) => void | Promise<void>,
  opts: ScanOptions = {},
): Promise<number> {
  const files = opts.files ?? snapshot.files;
  const where = opts.where ? ` WHERE (${toDuckDbSqlOver(opts.where, ROW_ALIAS)}) IS TRUE` : '';
  let rows = 0;
  let sent = false;
  const pump = async (c: DuckDBConnection, sql: string) => {
    const result = await c.stream(sql);
    const names = result.columnNames();
    const types = result.columnTypes();
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      rows += chunk.rowCount;
      sent = true;
      await sink({ names, types, values: chunk.getColumns() });
    }
    if (!sent) {
      sent = true;
      await sink({ names, types, values: names.map(() => []) });
    }
  };
  // The next file is fetched while this one is read: two local files at most.
  const fetch = (i: number) => {
    const p = i < files.length ? materialize(store, dataFileKey(files[i]!.path, store.url)) : undefined;
    p?.catch(() => {}); // awaited (and its error thrown) in turn
    return p;
  };
  let next = fetch(0);
  try {
    for (let i = 0; i < files.length; i++) {
      const local = await next!;
      next = fetch(i + 1);
      try {
        await withConnection(async (c) => {
          const select = await localFileSelect(c, store, snapshot, files[i]!, local.path);
          await pump(c, `SELECT * FROM (${select}) ${ROW_ALIAS}${where}`);
        });
      } finally {
        await local.release();
      }
    }
  } finally {
    await next?.then((f) => f.release()).catch(() => {});
  }
  if (!sent) await withConnection((c) => pump(c, `SELECT * FROM ${emptyRelation(snapshot.schema)}`));
  return rows;
}
