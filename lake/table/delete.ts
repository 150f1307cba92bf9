/**
 * DELETE … WHERE as copy-on-write: files the predicate cannot match (partition values, min/max stats) are
 * not touched; a file whose rows all match is removed; any other matching file is rewritten without the
 * matching rows (remove + add). NULL is not a match: rows where the predicate is NULL stay.
 *
 * With `complement`, the rows deleted are those where the predicate is NOT TRUE (FALSE or NULL): the table
 * keeps exactly the rows the predicate matches (a live fork's target keeps its subset). A file cannot be
 * skipped by its statistics then, so every file is read.
 */
import { TributaryError } from '../errors';
import type { AddFile, RemoveFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { ensureWriteSupported } from '../delta/features';
import { fileKey } from '../delta/replay';
import { type Snapshot, statsNumRecords } from '../delta/snapshot';
import { dataFileKey } from '../delta/paths';
import { withConnection } from '../engine/duckdb';
import { withEngineErrors } from '../engine/errors';
import { materialize } from '../engine/local-files';
import { localFileSelect } from '../engine/scan';
import { writeDataFiles } from '../engine/writer';
import type { ObjectStore } from '../storage/object-store';
import { toDuckDbSql, toDuckDbSqlOver } from '../predicate';
import { bindPredicate, fileMightMatch } from './skipping';
import { type Planned, commitFiles } from './commit-files';
import { defaultEngine, latestSnapshot } from './latest';
import { removeOf } from './operations';

export interface DeleteResult {
  version: number | undefined;
  deletedRows: number;
  removedFiles: number;
  addedFiles: number;
  scannedFiles: number;
  skippedFiles: number;
}

export interface DeleteOptions {
  /** Delete the rows where the predicate is not TRUE instead (keep exactly the matching rows). */
  complement?: boolean;
}

/** What a delete would do on the latest snapshot (deletePreview): nothing is written. */
export interface DeletePreview {
  version: number;
  filesTotal: number;
  /** Files all of whose rows would go (removed). */
  filesToRemove: number;
  /** Files with some rows to delete (removed and rewritten without them). */
  filesToRewrite: number;
  rowsTotal: number;
  rowsToDelete: number;
  skippedFiles: number;
}

/** Deletes racing on the same files must re-plan; each re-plan sees the others' results. */
const MAX_REPLANS = 50;

/** The delete's predicate bound to the table, and the SQL that is TRUE for a row to delete. */
function deleteCondition(predicate: string, snap: Snapshot, opts: DeleteOptions) {
  const expr = bindPredicate(predicate, snap);
  const matchSql = `(${toDuckDbSqlOver(expr, 'q')}) IS TRUE`;
  return {
    expr,
    deleteSql: opts.complement ? `(${matchSql}) IS NOT TRUE` : matchSql,
    mightMatch: (f: AddFile) => opts.complement === true || fileMightMatch(expr, f, snap),
  };
}

/** Counts what deleteWhere(store, predicate, engine, opts) would delete now, without writing anything. */
export async function deletePreview(
  store: ObjectStore,
  predicate: string,
  engine: DeltaEngine = defaultEngine,
  opts: DeleteOptions = {},
): Promise<DeletePreview> {
  const snap = await latestSnapshot(store, engine);
  const cond = deleteCondition(predicate, snap, opts);
  const candidates = snap.files.filter(cond.mightMatch);
  const out: DeletePreview = {
    version: snap.version,
    filesTotal: snap.files.length,
    filesToRemove: 0,
    filesToRewrite: 0,
    rowsTotal: 0,
    rowsToDelete: 0,
    skippedFiles: snap.files.length - candidates.length,
  };
  const candidateSet = new Set(candidates);
  for (const f of snap.files) {
    if (candidateSet.has(f)) continue;
    const n = statsNumRecords(f);
    if (n === undefined)
      candidates.push(f); // no row count in its stats: read it to count
    else out.rowsTotal += n - (f.deletionVector?.cardinality ?? 0);
  }
  await withEngineErrors(`cannot plan a delete from ${store.url}`, () =>
    withConnection(async (c) => {
      for (const add of candidates) {
        const local = await materialize(store, dataFileKey(add.path, store.url));
        try {
          const rel = `(${await localFileSelect(c, store, snap, add, local.path)})`;
          const counts = (
            await c.runAndReadAll(
              `SELECT count(*) AS total, count(*) FILTER (WHERE ${cond.deleteSql}) AS hit FROM ${rel} q`,
            )
          ).getRowObjectsJS()[0]!;
          const hit = Number(counts.hit);
          const total = Number(counts.total);
          out.rowsTotal += total;
          out.rowsToDelete += hit;
          if (hit === 0) continue;
          if (hit === total) out.filesToRemove++;
          else out.filesToRewrite++;
        } finally {
          await local.release();
        }
      }
    }),
  );
  return out;
}

export async function deleteWhere(
  store: ObjectStore,
  predicate: string,
  engine: DeltaEngine = defaultEngine,
  opts: DeleteOptions = {},
): Promise<DeleteResult> {
  const r = await commitFiles(store, {
    engine,
    snapshot: await latestSnapshot(store, engine),
    maxReplans: MAX_REPLANS,
    onReplan: (e) =>
      engine.logger?.info?.('delete conflicted, re-planning on the new snapshot', {
        table: store.url,
        error: e.message,
      }),
    plan: async (snap) => {
      if (!snap) throw new TributaryError('NOT_FOUND', `no Delta table at ${store.url}`);
      const cond = deleteCondition(predicate, snap, opts);
      ensureWriteSupported(snap.protocol, snap.metadata, store.url);
      if (snap.config['delta.appendOnly'] === 'true')
        throw new TributaryError(
          'BAD_INPUT',
          `table ${store.url} is append-only (delta.appendOnly=true); DELETE is not allowed`,
        );
      return planDelete(store, snap, cond, opts.complement === true);
    },
  });
  if (r.kind === 'alreadyCommitted') throw new Error('a delete carries no txn');
  return { version: r.kind === 'committed' ? r.version : undefined, ...r.result };
}

/** Reads the files the predicate may match and plans their removal (and rewrite of the rows that stay). */
async function planDelete(
  store: ObjectStore,
  snap: Snapshot,
  cond: ReturnType<typeof deleteCondition>,
  complement: boolean,
): Promise<Planned<Omit<DeleteResult, 'version'>>> {
  const { expr, deleteSql } = cond;
  const candidates = snap.files.filter(cond.mightMatch);
  const removes: RemoveFile[] = [];
  const adds: AddFile[] = [];
  const now = Date.now();
  let deletedRows = 0;
  await withEngineErrors(`cannot delete from ${store.url}`, () =>
    withConnection(async (c) => {
      for (const add of candidates) {
        const local = await materialize(store, dataFileKey(add.path, store.url));
        try {
          const rel = `(${await localFileSelect(c, store, snap, add, local.path)})`;
          const counts = (
            await c.runAndReadAll(
              `SELECT count(*) AS total, count(*) FILTER (WHERE ${deleteSql}) AS hit FROM ${rel} q`,
            )
          ).getRowObjectsJS()[0]!;
          const hit = Number(counts.hit);
          if (hit === 0) continue;
          deletedRows += hit;
          removes.push(removeOf(add, now));
          if (hit === Number(counts.total)) continue;
          adds.push(
            ...(await writeDataFiles(c, store, {
              source: `(SELECT * FROM ${rel} q WHERE (${deleteSql}) IS NOT TRUE)`,
              schema: snap.schema,
              partitionColumns: snap.partitionColumns,
            })),
          );
        } finally {
          await local.release();
        }
      }
    }),
  );
  const result = {
    deletedRows,
    removedFiles: removes.length,
    addedFiles: adds.length,
    scannedFiles: candidates.length,
    skippedFiles: snap.files.length - candidates.length,
  };
  if (removes.length === 0) return { actions: undefined, result };
  return {
    result,
    actions: {
      operation: 'DELETE',
      operationParameters: {
        predicate: JSON.stringify([complement ? `(${toDuckDbSql(expr)}) IS NOT TRUE` : toDuckDbSql(expr)]),
      },
      operationMetrics: {
        numDeletedRows: String(deletedRows),
        numRemovedFiles: String(removes.length),
        numAddedFiles: String(adds.length),
      },
      isBlindAppend: false,
      readFiles: new Set(candidates.map(fileKey)),
      readFilter: cond.mightMatch,
      removes,
      adds,
    },
  };
}
