/**
 * OPTIMIZE (compaction): bin-packs the small files of each partition into files near a target size.
 *
 * - Candidates are the files smaller than the target (`targetFileSize`, else the table's
 *   `delta.targetFileSize`, else 100 MiB like delta-rs) and every file carrying a deletion vector (its
 *   deleted rows are dropped while rewriting). Per partition they are sorted by size and packed greedily
 *   into bins of at most the target; a bin of one file without a deletion vector is left alone.
 * - Each bin is rewritten as one file (the rows of its files, deletion vectors applied, statistics
 *   written) and committed as `remove` + `add` with `dataChange: false` and `operation: "OPTIMIZE"`,
 *   through commitFiles. The row count of every bin is checked against its inputs' statistics.
 * - Appends never conflict with it: the files they add are not ones it read. A concurrent commit that
 *   removes a file it rewrote (a delete, another optimize) conflicts; it then re-plans on the new
 *   snapshot, keeping the bins whose files are all still active (their rewritten files stay valid) and
 *   redoing the rest, so a deleted row is never brought back.
 * - `where` restricts it to partitions (a predicate over partition columns only, as Delta requires).
 */
import { TributaryError } from '../errors';
import type { AddFile, RemoveFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { ensureWriteSupported } from '../delta/features';
import { dataFileKey } from '../delta/paths';
import { fileKey } from '../delta/replay';
import { type Snapshot, statsNumRecords } from '../delta/snapshot';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString, withConnection } from '../engine/duckdb';
import { withEngineErrors } from '../engine/errors';
import { type LocalFile, materialize } from '../engine/local-files';
import { fileSelect, localFileSelect, relationColumns } from '../engine/scan';
import { writeDataFiles } from '../engine/writer';
import { eachLimit } from '../each-limit';
import { type Expr, columnsOf, toDuckDbSql } from '../predicate';
import type { ObjectStore } from '../storage/object-store';
import { commitFiles } from './commit-files';
import { removeOf } from './operations';
import { defaultEngine, latestSnapshot } from './latest';
import { bindPredicate, fileMightMatch } from './skipping';

/** delta-rs's default target (OptimizeBuilder: 100 MiB); Spark's is 1 GiB. */
export const DEFAULT_TARGET_FILE_SIZE = 100 * 1024 * 1024;

export interface OptimizeOptions {
  /** Only the partitions this predicate (over partition columns) matches. */
  where?: string;
  /** Bytes per output file (default: delta.targetFileSize, else DEFAULT_TARGET_FILE_SIZE). */
  targetFileSize?: number;
  /** Bins rewritten at once (default 2: each rewrite is itself multi-threaded in DuckDB). */
  concurrency?: number;
  /** Plan only: report the bins without writing or committing anything. */
  dryRun?: boolean;
  /** Re-plans after a conflicting commit before giving up (default 10). */
  maxReplans?: number;
  /** Called after each bin is rewritten (activities heartbeat with it). */
  onProgress?: (p: { binsDone: number; bins: number; bytesRead: number }) => void | Promise<void>;
  engine?: DeltaEngine;
}

export interface OptimizeBin {
  partitionValues: Record<string, string | null>;
  files: number;
  bytes: number;
  /** Rows the bin's files hold after their deletion vectors (undefined: a file has no row count). */
  rows: number | undefined;
  deletionVectors: number;
}

export interface OptimizeResult {
  /** The OPTIMIZE commit (undefined: nothing to do, or a dry run). */
  version: number | undefined;
  /** The snapshot planned on last. */
  readVersion: number;
  dryRun: boolean;
  targetFileSize: number;
  /** Files the predicate left in scope. */
  filesConsidered: number;
  /** Of those, files not rewritten (already big enough, or alone in their partition). */
  filesSkipped: number;
  partitionsOptimized: number;
  numRemovedFiles: number;
  numAddedFiles: number;
  numRemovedBytes: number;
  numAddedBytes: number;
  numDeletionVectorsRemoved: number;
  rowsRewritten: number;
  /** Times a conflicting commit made it plan again. */
  replans: number;
  /** Bins rewritten under an earlier plan whose files were all still active, so not rewritten again. */
  binsKept: number;
  /** Wall time: loading the snapshot, rewriting the bins (all plans), and committing (with any checkpoint). */
  timings: { snapshotMs: number; rewriteMs: number; commitMs: number };
  bins: OptimizeBin[];
}

/** delta.targetFileSize: bytes, or a size with a unit (`128mb`, `1 GiB`). */
export function parseFileSize(text: string, what = 'delta.targetFileSize'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!m)
    throw new TributaryError(
      'BAD_INPUT',
      `${what} ${JSON.stringify(text)} is not a size (e.g. 134217728 or 128mb)`,
    );
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b$/, '');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit];
  const n = Math.round(Number(m[1]) * mult!);
  if (!(n > 0))
    throw new TributaryError('BAD_INPUT', `${what} must be a positive size, got ${JSON.stringify(text)}`);
  return n;
}

interface Bin {
  partitionValues: Record<string, string | null>;
  files: AddFile[];
}

/** A file's identity including its deletion vector: a bin stays valid while exactly these are active. */
const versionKey = (f: AddFile) =>
  `${fileKey(f)}\u0000${f.deletionVector ? JSON.stringify(f.deletionVector) : ''}`;
const binKey = (b: Bin) => b.files.map(versionKey).sort().join('\u0001');
const liveRows = (f: AddFile) => {
  const n = statsNumRecords(f);
  return n === undefined ? undefined : n - (f.deletionVector?.cardinality ?? 0);
};

function targetOf(snap: Snapshot, opts: OptimizeOptions): number {
  if (opts.targetFileSize !== undefined) {
    if (!Number.isSafeInteger(opts.targetFileSize) || opts.targetFileSize <= 0)
      throw new TributaryError(
        'BAD_INPUT',
        `target file size must be a positive number of bytes, got ${opts.targetFileSize}`,
      );
    return opts.targetFileSize;
  }
  const conf = snap.config['delta.targetFileSize'];
  return conf === undefined ? DEFAULT_TARGET_FILE_SIZE : parseFileSize(conf);
}

function partitionFilter(where: string | undefined, snap: Snapshot): Expr | undefined {
  if (where === undefined) return undefined;
  const expr = bindPredicate(where, snap);
  const parts = new Set(snap.partitionColumns);
  const other = columnsOf(expr).filter((p) => p.length !== 1 || !parts.has(p[0]!));
  if (other.length)
    throw new TributaryError(
      'BAD_INPUT',
      `optimize --where may name partition columns only (${snap.partitionColumns.join(', ') || 'the table has none'}); ` +
        `it names ${other.map((p) => p.join('.')).join(', ')}`,
    );
  return expr;
}

/** The bins of a snapshot: per partition, small files (and files with deletion vectors) packed by size. */
export function planBins(
  snap: Snapshot,
  target: number,
  filter: Expr | undefined,
): { bins: Bin[]; considered: number } {
  const byPartition = new Map<string, Bin>();
  let considered = 0;
  for (const f of snap.files) {
    if (filter && !fileMightMatch(filter, f, snap)) continue;
    considered++;
    if (f.size >= target && !f.deletionVector) continue;
    const k = JSON.stringify(snap.partitionColumns.map((c) => f.partitionValues[c] ?? null));
    let b = byPartition.get(k);
    if (!b) byPartition.set(k, (b = { partitionValues: f.partitionValues, files: [] }));
    b.files.push(f);
  }
  const bins: Bin[] = [];
  for (const p of byPartition.values()) {
    const files = [...p.files].sort((a, b) => a.size - b.size || (a.path < b.path ? -1 : 1));
    let cur: AddFile[] = [];
    let bytes = 0;
    const close = () => {
      if (cur.length > 1 || (cur.length === 1 && cur[0]!.deletionVector))
        bins.push({ partitionValues: p.partitionValues, files: cur });
      cur = [];
      bytes = 0;
    };
    for (const f of files) {
      if (cur.length && bytes + f.size > target) close();
      cur.push(f);
      bytes += f.size;
    }
    close();
  }
  return { bins, considered };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0;

/** Compacts the table's small files; see the module comment. */
export async function optimize(store: ObjectStore, opts: OptimizeOptions = {}): Promise<OptimizeResult> {
  const engine = opts.engine ?? defaultEngine;
  const written = new Map<string, { adds: AddFile[]; rows: number }>();
  let last: OptimizeResult | undefined;
  const t0 = performance.now();
  const first = await latestSnapshot(store, engine);
  const timings = { snapshotMs: performance.now() - t0, rewriteMs: 0, commitMs: 0 };
  let planned = 0;
  const r = await commitFiles(store, {
    engine,
    snapshot: first,
    maxReplans: opts.maxReplans ?? 10,
    onReplan: (e) =>
      engine.logger?.info?.('optimize conflicted, re-planning on the new snapshot', {
        table: store.url,
        error: e.message,
      }),
    plan: async (snap, replan) => {
      if (!snap) throw new TributaryError('NOT_FOUND', `no Delta table at ${store.url}`);
      ensureWriteSupported(snap.protocol, snap.metadata, store.url);
      const target = targetOf(snap, opts);
      const filter = partitionFilter(opts.where, snap);
      const { bins, considered } = planBins(snap, target, filter);
      const rewritten = bins.reduce((n, b) => n + b.files.length, 0);
      const summary = (b: Bin): OptimizeBin => {
        const rows = b.files.map(liveRows);
        return {
          partitionValues: b.partitionValues,
          files: b.files.length,
          bytes: b.files.reduce((n, f) => n + f.size, 0),
          rows: rows.some((n) => n === undefined) ? undefined : rows.reduce((a, n) => a! + n!, 0),
          deletionVectors: b.files.filter((f) => f.deletionVector).length,
        };
      };
      const result: OptimizeResult = {
        version: undefined,
        readVersion: snap.version,
        dryRun: opts.dryRun === true,
        targetFileSize: target,
        filesConsidered: considered,
        filesSkipped: considered - rewritten,
        partitionsOptimized: new Set(bins.map((b) => JSON.stringify(b.partitionValues))).size,
        numRemovedFiles: rewritten,
        numAddedFiles: 0,
        numRemovedBytes: bins.reduce((n, b) => n + b.files.reduce((m, f) => m + f.size, 0), 0),
        numAddedBytes: 0,
        numDeletionVectorsRemoved: bins.reduce(
          (n, b) => n + b.files.filter((f) => f.deletionVector).length,
          0,
        ),
        rowsRewritten: 0,
        replans: replan,
        binsKept: 0,
        timings,
        bins: bins.map(summary),
      };
      last = result;
      if (opts.dryRun || bins.length === 0) return { actions: undefined, result };

      // Bins planned before whose files are all still active keep their rewritten files.
      const wanted = new Set(bins.map(binKey));
      const stale = [...written.keys()].filter((k) => !wanted.has(k));
      await discardUncommitted(
        store,
        snap,
        stale.flatMap((k) => written.get(k)!.adds),
      );
      stale.forEach((k) => written.delete(k));
      const todo = bins.filter((b) => !written.has(binKey(b)));
      result.binsKept = bins.length - todo.length;
      let done = bins.length - todo.length;
      let bytesRead = 0;
      const tr = performance.now();
      await eachLimit(todo, opts.concurrency ?? 2, async (b) => {
        written.set(binKey(b), await rewriteBin(store, snap, b));
        bytesRead += b.files.reduce((n, f) => n + f.size, 0);
        await opts.onProgress?.({ binsDone: ++done, bins: bins.length, bytesRead });
      });
      timings.rewriteMs += performance.now() - tr;

      const now = Date.now();
      const removes: RemoveFile[] = bins.flatMap((b) => b.files.map((f) => removeOf(f, now, false)));
      const adds = bins.flatMap((b) => written.get(binKey(b))!.adds);
      const sizes = adds.map((a) => a.size).sort((a, b) => a - b);
      result.numAddedFiles = adds.length;
      result.numAddedBytes = sizes.reduce((n, s) => n + s, 0);
      result.rowsRewritten = bins.reduce((n, b) => n + written.get(binKey(b))!.rows, 0);
      planned = performance.now();
      return {
        result,
        actions: {
          operation: 'OPTIMIZE',
          operationParameters: {
            predicate: JSON.stringify(filter ? [toDuckDbSql(filter)] : []),
            zOrderBy: '[]',
            auto: false,
            targetFileSize: String(target),
          },
          operationMetrics: {
            numRemovedFiles: String(removes.length),
            numRemovedBytes: String(result.numRemovedBytes),
            numAddedFiles: String(adds.length),
            numAddedBytes: String(result.numAddedBytes),
            numDeletionVectorsRemoved: String(result.numDeletionVectorsRemoved),
            minFileSize: String(sizes[0] ?? 0),
            p25FileSize: String(percentile(sizes, 0.25)),
            p50FileSize: String(percentile(sizes, 0.5)),
            p75FileSize: String(percentile(sizes, 0.75)),
            maxFileSize: String(sizes.at(-1) ?? 0),
            numBatches: String(bins.length),
            partitionsOptimized: String(result.partitionsOptimized),
          },
          isBlindAppend: false,
          // What it read is exactly the files it removes; files added meanwhile are none of its business.
          readFiles: new Set(removes.map(fileKey)),
          readFilter: () => false,
          removes,
          adds,
        },
      };
    },
  });
  // On a failure nothing is deleted: a commit whose answer was lost may still have landed with these files,
  // so what is left over waits for vacuum (unreferenced and older than the retention), as in Delta.
  if (r.kind === 'alreadyCommitted') throw new Error('optimize carries no txn');
  if (r.kind === 'committed') timings.commitMs = performance.now() - planned;
  const result = r.result ?? last!;
  return { ...result, version: r.kind === 'committed' ? r.version : undefined };
}

/**
 * Files written for bins of an earlier plan that this plan drops. Only those the new snapshot references
 * neither as active nor as removed are deleted: if an earlier commit attempt landed unseen, its files stay.
 */
async function discardUncommitted(
  store: ObjectStore,
  snap: Snapshot,
  adds: readonly AddFile[],
): Promise<void> {
  const referenced = new Set([...snap.files, ...snap.tombstones].map((f) => dataFileKey(f.path, store.url)));
  const doomed = adds.filter((a) => !referenced.has(dataFileKey(a.path, store.url)));
  if (doomed.length === 0) return;
  await store.deleteMany(doomed.map((a) => dataFileKey(a.path, store.url))).catch(() => {
    // Left for vacuum: unreferenced files older than the retention are removed there.
  });
}

/**
 * The SELECTs reading a bin's files in the table's logical schema: files with a deletion vector one by
 * one; the others grouped by identical physical schema (one footer query for all of them), one multi-file
 * read_parquet per group. A per-file SELECT for each of hundreds of small files costs a footer query and
 * a UNION branch each (bench:optimize: 288 files, 200 ms of queries before any row was read).
 */
async function binSelects(
  c: DuckDBConnection,
  store: ObjectStore,
  snap: Snapshot,
  files: readonly AddFile[],
  paths: readonly string[],
): Promise<string[]> {
  const selects: string[] = [];
  const plain: number[] = [];
  for (const [i, f] of files.entries())
    if (f.deletionVector) selects.push(`(${await localFileSelect(c, store, snap, f, paths[i]!)})`);
    else plain.push(i);
  if (plain.length === 0) return selects;
  const list = `[${plain.map((i) => sqlString(paths[i]!)).join(', ')}]`;
  // Every schema element but the root (whose name is the writer's: spark_schema, duckdb_schema, …), in order.
  const sigs = (
    await c.runAndReadAll(
      `SELECT file_name, string_agg(concat_ws(':', name, type, converted_type, logical_type::VARCHAR, repetition_type, num_children, field_id, scale, precision), ',' ORDER BY n) FILTER (WHERE n > 1) AS sig
       FROM (SELECT *, row_number() OVER (PARTITION BY file_name) AS n FROM parquet_schema(${list})) GROUP BY file_name`,
    )
  ).getRowObjectsJS() as { file_name: string; sig: string | null }[];
  const sigOf = new Map(sigs.map((r) => [r.file_name, r.sig ?? '']));
  const groups = new Map<string, number[]>();
  for (const i of plain) {
    const sig = sigOf.get(paths[i]!);
    if (sig === undefined) throw new Error(`no Parquet schema read for ${paths[i]}`);
    const g = groups.get(sig);
    if (g) g.push(i);
    else groups.set(sig, [i]);
  }
  for (const g of groups.values()) {
    const groupPaths = g.map((i) => paths[i]!);
    const cols = await relationColumns(c, `read_parquet(${sqlString(groupPaths[0]!)})`);
    selects.push(`(${fileSelect(snap, files[g[0]!]!, groupPaths, cols, undefined)})`);
  }
  return selects;
}

/** Reads a bin's files (deletion vectors applied) and writes their rows as one file of the partition. */
async function rewriteBin(
  store: ObjectStore,
  snap: Snapshot,
  bin: Bin,
): Promise<{ adds: AddFile[]; rows: number }> {
  const locals: LocalFile[] = new Array(bin.files.length);
  try {
    await eachLimit(bin.files, 8, async (f, i) => {
      locals[i] = await materialize(store, dataFileKey(f.path, store.url));
    });
    return await withEngineErrors(`cannot optimize ${store.url}`, () =>
      withConnection(async (c) => {
        const selects = await binSelects(
          c,
          store,
          snap,
          bin.files,
          locals.map((l) => l.path),
        );
        const expected = bin.files.map(liveRows);
        const expectRows = expected.some((n) => n === undefined)
          ? undefined
          : expected.reduce((a, n) => a! + n!, 0);
        const source = `(${selects.join(' UNION ALL ')})`;
        const adds = await writeDataFiles(c, store, {
          source,
          schema: snap.schema,
          partitionColumns: snap.partitionColumns,
          partitions: [{ values: bin.partitionValues, source }],
          namePrefix: 'part-optimize',
          ...(expectRows !== undefined ? { expectRows } : {}),
        });
        const rows = adds.reduce((n, a) => n + (statsNumRecords(a) ?? 0), 0);
        return { adds: adds.map((a) => ({ ...a, dataChange: false })), rows };
      }),
    );
  } finally {
    await Promise.all(locals.filter(Boolean).map((l) => l.release()));
  }
}
