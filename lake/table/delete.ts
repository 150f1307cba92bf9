/**
 * DELETE … WHERE as copy-on-write: files the predicate cannot match (partition values, min/max stats) are
 * not touched; a file whose rows all match is removed; any other matching file is rewritten without the
 * matching rows (remove + add). NULL is not a match: rows where the predicate is NULL stay.
 */
import { TributaryError } from '../errors';
import type { AddFile, RemoveFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { ensureWriteSupported } from '../delta/features';
import { fileKey } from '../delta/replay';
import type { Snapshot } from '../delta/snapshot';
import { dataFileKey } from '../delta/paths';
import { withConnection } from '../engine/duckdb';
import { withEngineErrors } from '../engine/errors';
import { materialize } from '../engine/local-files';
import { localFileSelect } from '../engine/scan';
import { writeDataFiles } from '../engine/writer';
import type { ObjectStore } from '../storage/object-store';
import { type Expr, toDuckDbSql, toDuckDbSqlOver } from '../predicate';
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

/** Deletes racing on the same files must re-plan; each re-plan sees the others' results. */
const MAX_REPLANS = 50;

export async function deleteWhere(
  store: ObjectStore,
  predicate: string,
  engine: DeltaEngine = defaultEngine,
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
      const expr = bindPredicate(predicate, snap);
      ensureWriteSupported(snap.protocol, snap.metadata, store.url);
      if (snap.config['delta.appendOnly'] === 'true')
        throw new TributaryError(
          'BAD_INPUT',
          `table ${store.url} is append-only (delta.appendOnly=true); DELETE is not allowed`,
        );
      return planDelete(store, snap, expr);
    },
  });
  if (r.kind === 'alreadyCommitted') throw new Error('a delete carries no txn');
  return { version: r.kind === 'committed' ? r.version : undefined, ...r.result };
}

/** Reads the files the predicate may match and plans their removal (and rewrite of the rows that stay). */
async function planDelete(
  store: ObjectStore,
  snap: Snapshot,
  expr: Expr,
): Promise<Planned<Omit<DeleteResult, 'version'>>> {
  const candidates = snap.files.filter((f) => fileMightMatch(expr, f, snap));
  const whereSql = toDuckDbSqlOver(expr, 'q');
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
              `SELECT count(*) AS total, count(*) FILTER (WHERE (${whereSql}) IS TRUE) AS hit FROM ${rel} q`,
            )
          ).getRowObjectsJS()[0]!;
          const hit = Number(counts.hit);
          if (hit === 0) continue;
          deletedRows += hit;
          removes.push(removeOf(add, now));
          if (hit === Number(counts.total)) continue;
          adds.push(
            ...(await writeDataFiles(c, store, {
              source: `(SELECT * FROM ${rel} q WHERE (${whereSql}) IS NOT TRUE)`,
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
      operationParameters: { predicate: JSON.stringify([toDuckDbSql(expr)]) },
      operationMetrics: {
        numDeletedRows: String(deletedRows),
        numRemovedFiles: String(removes.length),
        numAddedFiles: String(adds.length),
      },
      isBlindAppend: false,
      readFiles: new Set(candidates.map(fileKey)),
      readFilter: (f) => fileMightMatch(expr, f, snap),
      removes,
      adds,
    },
  };
}
