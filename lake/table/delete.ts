/**
 * DELETE … WHERE as copy-on-write: files the predicate cannot match (partition values, min/max stats) are
 * not touched; a file whose rows all match is removed; any other matching file is rewritten without the
 * matching rows (remove + add). NULL is not a match: rows where the predicate is NULL stay.
 */
import { TributaryError } from '../errors';
import type { Action, AddFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { ensureWriteSupported } from '../delta/features';
import { fileKey } from '../delta/replay';
import { Snapshot } from '../delta/snapshot';
import { CommitConflictError, commit } from '../delta/transaction';
import { dataFileKey } from '../delta/paths';
import { withConnection } from '../engine/duckdb';
import { withEngineErrors } from '../engine/errors';
import { materialize } from '../engine/local-files';
import { localFileSelect } from '../engine/scan';
import { writeDataFiles } from '../engine/writer';
import type { ObjectStore } from '../storage/object-store';
import { type Expr, toDuckDbSql, toDuckDbSqlOver } from '../predicate';
import { bindPredicate, fileMightMatch } from './skipping';
import { defaultEngine, latestSnapshot, maybeCheckpoint, removeOf } from './operations';
import { checkpointInterval } from '../delta/checkpoint';

export interface DeleteResult {
  version: number | undefined;
  deletedRows: number;
  removedFiles: number;
  addedFiles: number;
  scannedFiles: number;
  skippedFiles: number;
}

/** Deletes racing on the same files must re-plan; each re-plan sees the others' results. */
const MAX_REPLANS = 50;

export async function deleteWhere(
  store: ObjectStore,
  predicate: string,
  engine: DeltaEngine = defaultEngine,
): Promise<DeleteResult> {
  for (let plan = 0; ; plan++) {
    const snap = await latestSnapshot(store, engine);
    const expr = bindPredicate(predicate, snap);
    ensureWriteSupported(snap.protocol, snap.metadata, store.url);
    if (snap.config['delta.appendOnly'] === 'true')
      throw new TributaryError(
        'BAD_INPUT',
        `table ${store.url} is append-only (delta.appendOnly=true); DELETE is not allowed`,
      );
    try {
      return await deleteOnce(store, engine, snap, expr);
    } catch (e) {
      if (!(e instanceof CommitConflictError) || plan + 1 >= MAX_REPLANS) throw e;
      engine.logger?.info?.('delete conflicted, re-planning on the new snapshot', {
        table: store.url,
        error: e.message,
      });
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 20 * 2 ** plan)));
    }
  }
}

async function deleteOnce(
  store: ObjectStore,
  engine: DeltaEngine,
  snap: Snapshot,
  expr: Expr,
): Promise<DeleteResult> {
  const candidates = snap.files.filter((f) => fileMightMatch(expr, f, snap));
  const whereSql = toDuckDbSqlOver(expr, 'q');
  const actions: Action[] = [];
  const now = Date.now();
  let deletedRows = 0;
  let removedFiles = 0;
  let addedFiles = 0;
  await withEngineErrors(`cannot delete from ${store.url}`, () =>
    withConnection(async (c) => {
      for (const add of candidates) {
        const local = await materialize(store, dataFileKey(add.path, store.url));
        try {
          const rel = `(${await localFileSelect(c, store, snap, add, local.path)})`;
          const counts = (
            await c.runAndReadAll(
              `SELECT count(*) AS total, count(*) FILTER (WHERE (${whereSql}) IS TRUE) AS hit FROM ${rel} q`,
            )
          ).getRowObjectsJS()[0]!;
          const hit = Number(counts.hit);
          if (hit === 0) continue;
          deletedRows += hit;
          actions.push({ remove: removeOf(add, now) });
          removedFiles++;
          if (hit === Number(counts.total)) continue;
          const kept: AddFile[] = await writeDataFiles(c, store, {
            source: `(SELECT * FROM ${rel} q WHERE (${whereSql}) IS NOT TRUE)`,
            schema: snap.schema,
            partitionColumns: snap.partitionColumns,
          });
          addedFiles += kept.length;
          actions.push(...kept.map((a) => ({ add: a })));
        } finally {
          await local.release();
        }
      }
    }),
  );
  const base = {
    deletedRows,
    removedFiles,
    addedFiles,
    scannedFiles: candidates.length,
    skippedFiles: snap.files.length - candidates.length,
  };
  if (actions.length === 0) return { version: undefined, ...base };
  const r = await commit(store, engine, {
    readVersion: snap.version,
    operation: 'DELETE',
    operationParameters: { predicate: JSON.stringify([toDuckDbSql(expr)]) },
    operationMetrics: {
      numDeletedRows: String(deletedRows),
      numRemovedFiles: String(removedFiles),
      numAddedFiles: String(addedFiles),
    },
    isBlindAppend: false,
    readFiles: new Set(candidates.map(fileKey)),
    readFilter: (f) => fileMightMatch(expr, f, snap),
    actions,
  });
  if (r.kind === 'committed') await maybeCheckpoint(store, engine, r.version, checkpointInterval(snap));
  return { version: r.version, ...base };
}
