/**
 * SQL over Delta tables by catalog name: `query("SELECT … FROM central.all_logs WHERE …", { catalog, open })`
 * returns an apache-arrow Table.
 *
 * Each query gets its own in-memory DuckDB instance (a sandbox). For every catalog table the SQL names, the
 * snapshot (current, or as of a version / instant) is loaded, files that cannot hold a row the WHERE clause
 * keeps are skipped (partition values and min/max/null-count stats; see analyze.ts), the remaining files are
 * made local (remote objects downloaded in parallel, once per query) and the table becomes a view
 * `schema.table` — a UNION ALL of one SELECT per file (partition values, column mapping, deletion vectors,
 * type widening, see lake/engine/scan.ts). Then the sandbox is locked before the user's SQL runs in it:
 * `allowed_paths` = exactly those data files, `enable_external_access = false` (no other files, no network,
 * no ATTACH/COPY/extension loading), `lock_configuration = true` (no SET to undo it). DuckDB still lets
 * it read its temp directory, so each query spills to a fresh private one (mode 0700, removed after) instead
 * of the default `.tmp` under the working directory. The SQL must be a single
 * SELECT, checked twice: from DuckDB's parse tree before anything is read, and from the prepared statement.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  DuckDBInstance,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBResult,
  type DuckDBValue,
  StatementType,
} from '@duckdb/node-api';
import type { Table } from 'apache-arrow';
import type { AddFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { dataFileKey } from '../delta/paths';
import { Snapshot } from '../delta/snapshot';
import { sqlIdent, sqlString } from '../engine/duckdb';
import { fromEngineError } from '../engine/errors';
import { type LocalFile, materialize, scratch } from '../engine/local-files';
import { localFileSelect } from '../engine/scan';
import { emptyRelation } from '../engine/types';
import { TributaryError } from '../errors';
import { type Expr, formatPredicate } from '../predicate';
import type { ObjectStore } from '../storage/object-store';
import { defaultEngine, latestSnapshot } from '../table/operations';
import { fileMightMatch } from '../table/skipping';
import { type Analysis, UnknownTableError, analyzeSql, wherePredicate } from './analyze';
import { type Columns, toArrowTable } from './arrow';

export { toArrowTable, arrowType } from './arrow';
export type { Columns } from './arrow';

export type AsOf = { version: number } | { timestamp: Date };

export interface QueryOptions {
  /** `schema.table` → table URI (names are case-insensitive, as in SQL). */
  catalog: Readonly<Record<string, string>>;
  /** Opens a table's store. The caller owns the stores (query() does not close them). */
  open: (url: string) => Promise<ObjectStore>;
  /**
   * Time travel. A timestamp applies to every table in the query (each at its latest version committed at
   * or before the instant); a version only to queries that name a single table.
   */
  asOf?: AsOf;
  /** Skip files using the WHERE clause (default true). Results are the same either way. */
  prune?: boolean;
  /** Parallel downloads of remote data files (default 8). */
  concurrency?: number;
  /** DuckDB threads for the query (default TRIBUTARY_DUCKDB_THREADS or 2). */
  threads?: number;
  engine?: DeltaEngine;
}

export interface TableScan {
  /** Catalog name as resolved (lower case). */
  name: string;
  url: string;
  version: number;
  filesTotal: number;
  filesScanned: number;
  filesSkipped: number;
  bytesTotal: number;
  bytesScanned: number;
  /** The predicate files were skipped by, in the predicate language; absent when none applied. */
  prunedBy?: string;
}

export interface QueryStats {
  tables: TableScan[];
  filesTotal: number;
  filesSkipped: number;
  rows: number;
  /** Wall time: planning (snapshots, pruning), staging files, running the SQL. */
  planMs: number;
  stageMs: number;
  executeMs: number;
}

export interface QueryResult extends Columns {
  stats: QueryStats;
}

/** Runs a SELECT over catalog tables; the result as an Arrow table. */
export async function query(sql: string, opts: QueryOptions): Promise<Table> {
  return toArrowTable(await runQuery(sql, opts));
}

/** Like query(), with scan statistics (files total / skipped per table, timings). */
export async function queryWithStats(
  sql: string,
  opts: QueryOptions,
): Promise<{ table: Table; stats: QueryStats }> {
  const r = await runQuery(sql, opts);
  return { table: toArrowTable(r), stats: r.stats };
}

/** What a query would read (tables, versions, pruning), without reading any data file. */
export async function explainQuery(sql: string, opts: QueryOptions): Promise<TableScan[]> {
  return withSandbox(opts, async (c) => (await plan(c, sql, opts)).map((p) => p.scan));
}

/** Runs a SELECT over catalog tables; columns as DuckDB values (see toArrowTable), all rows in memory. */
export async function runQuery(sql: string, opts: QueryOptions): Promise<QueryResult> {
  let head: Columns | undefined;
  const values: DuckDBValue[][] = [];
  const stats = await streamQuery(sql, opts, (chunk) => {
    head ??= chunk;
    chunk.values.forEach((col, i) => {
      const all = (values[i] ??= []);
      for (const v of col) all.push(v);
    });
  });
  return {
    names: head!.names,
    types: head!.types,
    values: head!.names.map((_, i) => values[i] ?? []),
    stats,
  };
}

/**
 * A chunk of a result (DuckDB's vector size, 2048 rows at most). The sink gets at least one, possibly empty,
 * so it always learns the column names and types; the next chunk is fetched only once it has settled.
 */
export type ChunkSink = (chunk: Columns) => void | Promise<void>;

/**
 * Runs a SELECT over catalog tables and hands the result to `sink` chunk by chunk, never holding more than
 * one chunk of rows. Errors thrown by the sink (a closed pipe, say) propagate unchanged.
 */
export async function streamQuery(sql: string, opts: QueryOptions, sink: ChunkSink): Promise<QueryStats> {
  return withSandbox(opts, async (c, inst) => {
    const t0 = Date.now();
    const plans = await plan(c, sql, opts);
    const t1 = Date.now();
    const staged = new Map<string, LocalFile>();
    try {
      const views = await stage(inst, plans, staged, opts.concurrency ?? 8);
      for (const sch of new Set(plans.map((p) => p.schema)))
        await c.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(sch)}`);
      for (const [i, p] of plans.entries())
        await c.run(`CREATE VIEW ${sqlIdent(p.schema)}.${sqlIdent(p.table)} AS ${views[i]}`);
      await lock(
        c,
        [...staged.values()].map((f) => f.path),
      );
      const t2 = Date.now();
      const rows = await execute(c, sql, sink);
      const t3 = Date.now();
      const scans = plans.map((p) => p.scan);
      return {
        tables: scans,
        filesTotal: scans.reduce((n, s) => n + s.filesTotal, 0),
        filesSkipped: scans.reduce((n, s) => n + s.filesSkipped, 0),
        rows,
        planMs: t1 - t0,
        stageMs: t2 - t1,
        executeMs: t3 - t2,
      };
    } finally {
      await Promise.all([...staged.values()].map((f) => f.release().catch(() => {})));
    }
  });
}

// ---- sandbox ----------------------------------------------------------------------------------------

/**
 * A fresh, private directory for the query's spill files (mode 0700, removed after the query). DuckDB
 * always lets a locked sandbox read its temp directory, which by default is `.tmp` under the working
 * directory (whatever anyone put there); this one holds nothing but the query's own spill files.
 */
async function privateTempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(await scratch(), 'query-'));
  await fs.chmod(dir, 0o700);
  return { path: dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}

async function withSandbox<T>(
  opts: QueryOptions,
  fn: (c: DuckDBConnection, inst: DuckDBInstance) => Promise<T>,
): Promise<T> {
  const threads = opts.threads ?? Math.max(1, Number(process.env.TRIBUTARY_DUCKDB_THREADS ?? 2));
  const temp = await privateTempDir();
  try {
    const inst = await DuckDBInstance.create(':memory:', {
      threads: String(threads),
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      temp_directory: temp.path,
    });
    const c = await inst.connect();
    try {
      // Instants render in UTC, and TIMESTAMP literals compare with timestamp columns as UTC (as skipping assumes).
      await c.run(`SET TimeZone = 'UTC'`);
      return await fn(c, inst);
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  } finally {
    await temp.remove();
  }
}

async function lock(c: DuckDBConnection, paths: string[]): Promise<void> {
  await c.run(`SET allowed_paths = [${paths.map(sqlString).join(', ')}]`);
  await c.run(`SET enable_external_access = false`);
  await c.run(`SET lock_configuration = true`);
}

/** Runs the user's SELECT, chunk by chunk into the sink; the number of rows. */
async function execute(c: DuckDBConnection, sql: string, sink: ChunkSink): Promise<number> {
  // The message quotes the user's own SQL (LINE 1: …), never the views'.
  const engineError = (e: unknown): TributaryError => {
    if (e instanceof TributaryError) return e;
    const mapped = fromEngineError(e, 'query failed', { excerpt: true, otherwise: 'BAD_INPUT' });
    if (mapped instanceof TributaryError) return mapped;
    return new TributaryError('BAD_INPUT', `query failed: ${(e as Error).message}`, { cause: e });
  };
  let result: DuckDBResult;
  try {
    const statements = await c.extractStatements(sql);
    if (statements.count !== 1)
      throw new TributaryError('BAD_INPUT', `expected exactly one SQL statement, got ${statements.count}`);
    const prepared = await statements.prepare(0);
    if (prepared.statementType !== StatementType.SELECT)
      throw new TributaryError('BAD_INPUT', 'only SELECT queries are allowed');
    result = await prepared.stream();
  } catch (e) {
    throw engineError(e);
  }
  const names = result.columnNames();
  const types = result.columnTypes();
  let rows = 0;
  for (let first = true; ; first = false) {
    let chunk: DuckDBDataChunk | null;
    try {
      chunk = await result.fetchChunk();
    } catch (e) {
      throw engineError(e);
    }
    if ((!chunk || chunk.rowCount === 0) && !first) return rows;
    const values = chunk && chunk.rowCount > 0 ? (chunk.getColumns() as DuckDBValue[][]) : [];
    rows += chunk?.rowCount ?? 0;
    // Outside the engine's try: what the sink throws is the sink's error.
    await sink({ names, types, values: names.map((_, i) => values[i] ?? []) });
    if (!chunk || chunk.rowCount === 0) return rows;
  }
}

// ---- planning -----------------------------------------------------------------------------------

interface TablePlan {
  schema: string;
  table: string;
  store: ObjectStore;
  snapshot: Snapshot;
  files: readonly AddFile[];
  scan: TableScan;
}

/** Catalog names, lower-cased, each with its URI. */
function normalizedCatalog(catalog: Readonly<Record<string, string>>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(catalog)) m.set(k.toLowerCase(), v);
  return m;
}

const unknownTable = (name: string, catalog: Map<string, string>) =>
  new TributaryError(
    'BAD_INPUT',
    `unknown table ${name}; the catalog has ${catalog.size ? [...catalog.keys()].sort().join(', ') : 'no tables'}`,
  );

async function analyze(c: DuckDBConnection, sql: string, catalog: Map<string, string>): Promise<Analysis> {
  try {
    return await analyzeSql(c, sql);
  } catch (e) {
    if (e instanceof UnknownTableError) throw unknownTable(e.table, catalog);
    throw e;
  }
}

async function plan(c: DuckDBConnection, sql: string, opts: QueryOptions): Promise<TablePlan[]> {
  const catalog = normalizedCatalog(opts.catalog);
  const { uses } = await analyze(c, sql, catalog);
  const names = [...new Set(uses.map((u) => u.name))];
  for (const n of names) if (!catalog.has(n)) throw unknownTable(n, catalog);
  if (opts.asOf && 'version' in opts.asOf && names.length > 1)
    throw new TributaryError(
      'BAD_INPUT',
      `a version applies to one table, but the query reads ${names.length} (${names.join(', ')}); time travel by timestamp instead`,
    );
  const engine = opts.engine ?? defaultEngine;
  return Promise.all(
    names.map(async (name): Promise<TablePlan> => {
      const url = catalog.get(name)!;
      const store = await opts.open(url);
      const snapshot = await loadSnapshot(store, engine, opts.asOf, name);
      // One predicate per occurrence; a file is read if any occurrence may need it.
      let predicate: Expr | undefined;
      if (opts.prune !== false) {
        const preds: Expr[] = [];
        let all = true;
        for (const u of uses.filter((x) => x.name === name)) {
          const p = wherePredicate(u.where, u.qualifiers, snapshot.schema.fields);
          if (p) preds.push(p);
          else all = false;
        }
        if (all && preds.length) predicate = preds.length === 1 ? preds[0] : { kind: 'or', args: preds };
      }
      const files = predicate
        ? snapshot.files.filter((f) => fileMightMatch(predicate, f, snapshot))
        : snapshot.files;
      const bytes = (fs: readonly AddFile[]) => fs.reduce((n, f) => n + (f.size ?? 0), 0);
      const [schema, table] = name.split('.') as [string, string];
      return {
        schema,
        table,
        store,
        snapshot,
        files,
        scan: {
          name,
          url,
          version: snapshot.version,
          filesTotal: snapshot.files.length,
          filesScanned: files.length,
          filesSkipped: snapshot.files.length - files.length,
          bytesTotal: bytes(snapshot.files),
          bytesScanned: bytes(files),
          ...(predicate ? { prunedBy: formatPredicate(predicate) } : {}),
        },
      };
    }),
  );
}

async function loadSnapshot(
  store: ObjectStore,
  engine: DeltaEngine,
  asOf: AsOf | undefined,
  name: string,
): Promise<Snapshot> {
  try {
    if (!asOf) return await latestSnapshot(store, engine);
    return await Snapshot.load(store, engine, asOf);
  } catch (e) {
    if (e instanceof TributaryError && e.code === 'NOT_FOUND')
      throw new TributaryError('NOT_FOUND', `table ${name} (${store.url}): ${e.message}`, { cause: e });
    throw e;
  }
}

// ---- staging ------------------------------------------------------------------------------------

/**
 * Makes every planned file local (once per query, `concurrency` at a time) and returns each table's view
 * SQL. The parquet footer of each file is read here, before the sandbox is locked.
 */
async function stage(
  inst: DuckDBInstance,
  plans: TablePlan[],
  staged: Map<string, LocalFile>,
  concurrency: number,
): Promise<string[]> {
  const jobs = plans.flatMap((p, t) => p.files.map((add, i) => ({ p, t, i, add })));
  const selects: string[][] = plans.map((p) => new Array<string>(p.files.length));
  const pending = new Map<string, Promise<LocalFile>>();
  let next = 0;
  let failed = false;
  const worker = async () => {
    const c = await inst.connect();
    try {
      while (!failed && next < jobs.length) {
        const { p, t, i, add } = jobs[next++]!;
        const key = dataFileKey(add.path, p.store.url);
        const id = `${p.store.url}\n${key}`;
        let local = pending.get(id);
        if (!local) {
          local = materialize(p.store, key);
          pending.set(id, local);
          staged.set(id, await local);
        }
        const file = await local;
        selects[t]![i] = await localFileSelect(c, p.store, p.snapshot, add, file.path);
      }
    } catch (e) {
      failed = true;
      throw e;
    } finally {
      c.closeSync();
    }
  };
  // Every worker settles before returning, so the caller releases every file that was staged.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker),
  );
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return plans.map((p, t) =>
    p.files.length ? selects[t]!.join('\nUNION ALL\n') : `SELECT * FROM ${emptyRelation(p.snapshot.schema)}`,
  );
}
