/**
 * The one way table operations commit: a plan of file actions (adds, removes, metadata, protocol, txns)
 * made against a snapshot, committed under optimistic concurrency. It owns
 * - the idempotency short-circuit: with `txn`, nothing is committed when the table already records that
 *   application at ≥ that version (checked before planning, after every conflict, and against every
 *   winning commit inside `commit`),
 * - the re-plan loop: a logical conflict (PROTOCOL.md's conflict rules, lake/delta/conflicts.ts) makes
 *   the caller plan again on the new snapshot, with jittered backoff, up to `maxReplans` times,
 * - checkpoints at the table's checkpoint interval.
 * writeTable, deleteWhere, the ingest resume path and cloneTable all commit through it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Action, AddFile, Metadata, Protocol, RemoveFile, Txn } from '../delta/actions';
import { checkpointInterval, cleanupExpiredLogs, writeCheckpoint } from '../delta/checkpoint';
import type { DeltaEngine } from '../delta/engine';
import { Snapshot } from '../delta/snapshot';
import { expiredLogCleanup } from '../delta/table-config';
import { CommitConflictError, type CommitRequest, commit } from '../delta/transaction';
import type { ObjectStore } from '../storage/object-store';
import { redact } from '../redact';
import { defaultEngine, latestSnapshot, loadSnapshotOrUndefined } from './latest';

/** What one commit does (commitInfo: extra fields beside the standard ones). */
export interface FileActions
  extends Pick<
    CommitRequest,
    | 'operation'
    | 'operationParameters'
    | 'operationMetrics'
    | 'isBlindAppend'
    | 'readFiles'
    | 'readFilter'
    | 'commitInfo'
  > {
  protocol?: Protocol;
  metadata?: Metadata;
  removes?: readonly RemoveFile[];
  adds?: readonly AddFile[];
  /** txn actions other than the request's idempotency txn (e.g. writers' state carried by a clone). */
  txns?: readonly Txn[];
}

/** A plan: the actions to commit (none: nothing to do) and what the caller reports of it. */
export interface Planned<T> {
  actions: FileActions | undefined;
  result: T;
}

export interface CommitFilesRequest<T> {
  engine?: DeltaEngine;
  /** Idempotent commit: skipped when the table already records appId at ≥ version. */
  txn?: { appId: string; version: number };
  /** The snapshot the first plan is made on, when the caller has loaded it (undefined: no table yet). */
  snapshot?: Snapshot | undefined;
  /** Plans the commit on `snap` (undefined: the table does not exist). Called again after a conflict. */
  plan: (snap: Snapshot | undefined, replan: number) => Promise<Planned<T>>;
  /** Re-plans after logical conflicts before the conflict is thrown (default 10). */
  maxReplans?: number;
  /** Called when a conflict makes the operation re-plan (for logs). */
  onReplan?: (e: CommitConflictError, replan: number) => void;
}

export type CommitFilesResult<T> =
  | {
      kind: 'committed';
      version: number;
      attempts: number;
      conflictsChecked: number;
      replans: number;
      result: T;
    }
  /** The request's txn was already recorded: nothing was committed (result: undefined when never planned). */
  | {
      kind: 'alreadyCommitted';
      version: number;
      attempts: number;
      replans: number;
      appId: string;
      recordedVersion: number;
      result: T | undefined;
    }
  /** The plan had nothing to commit. */
  | { kind: 'nothing'; version: number | undefined; replans: number; result: T };

const recorded = (snap: Snapshot | undefined, txn: { appId: string; version: number } | undefined) =>
  txn && snap && (snap.txnVersion(txn.appId) ?? -1) >= txn.version ? snap.txnVersion(txn.appId)! : undefined;

// Writers racing on the same files re-plan against each other's results; a short, growing, jittered pause
// keeps them from colliding again at once.
const replanBackoff = (replan: number) => Math.random() * Math.min(1000, 20 * 2 ** replan);

/** The actions of a plan, in the order readers expect (protocol, metaData, txn, remove, add). */
export function actionsOf(
  a: FileActions,
  txn: { appId: string; version: number } | undefined,
  now: number,
): Action[] {
  const out: Action[] = [];
  if (a.protocol) out.push({ protocol: a.protocol });
  if (a.metadata) out.push({ metaData: a.metadata });
  if (txn) out.push({ txn: { appId: txn.appId, version: txn.version, lastUpdated: now } });
  for (const t of a.txns ?? []) out.push({ txn: t });
  for (const r of a.removes ?? []) out.push({ remove: r });
  for (const add of a.adds ?? []) out.push({ add });
  return out;
}

export async function commitFiles<T>(
  store: ObjectStore,
  req: CommitFilesRequest<T>,
): Promise<CommitFilesResult<T>> {
  const engine = req.engine ?? defaultEngine;
  const maxReplans = req.maxReplans ?? 10;
  let snap = 'snapshot' in req ? req.snapshot : await loadSnapshotOrUndefined(store, engine);
  let result: T | undefined;
  for (let replan = 0; ; replan++) {
    const already = recorded(snap, req.txn);
    if (already !== undefined)
      return {
        kind: 'alreadyCommitted',
        version: snap!.version,
        attempts: replan,
        replans: replan,
        appId: req.txn!.appId,
        recordedVersion: already,
        result,
      };
    const planned = await req.plan(snap, replan);
    result = planned.result;
    const a = planned.actions;
    if (!a) return { kind: 'nothing', version: snap?.version, replans: replan, result: planned.result };
    try {
      const r = await commit(store, engine, {
        readVersion: snap?.version ?? -1,
        operation: a.operation,
        operationParameters: a.operationParameters,
        operationMetrics: a.operationMetrics,
        isBlindAppend: a.isBlindAppend,
        readFiles: a.readFiles ?? 'all',
        readFilter: a.readFilter,
        ...(a.commitInfo ? { commitInfo: a.commitInfo } : {}),
        actions: actionsOf(a, req.txn, Date.now()),
        idempotencyAppId: req.txn?.appId ?? null,
      });
      if (r.kind === 'alreadyCommitted') return { ...r, replans: replan, result: planned.result };
      await maybeCheckpoint(store, engine, r.version, snap ? checkpointInterval(snap) : 10);
      return {
        kind: 'committed',
        version: r.version,
        attempts: r.attempts,
        conflictsChecked: r.conflictsChecked,
        replans: replan,
        result: planned.result,
      };
    } catch (e) {
      if (!(e instanceof CommitConflictError) || replan + 1 >= maxReplans) throw e;
      req.onReplan?.(e, replan);
      await sleep(replanBackoff(replan));
      snap = await latestSnapshot(store, engine);
    }
  }
}

/** Writes a checkpoint when `version` is a multiple of delta.checkpointInterval; never fails the commit. */
export async function maybeCheckpoint(
  store: ObjectStore,
  engine: DeltaEngine,
  version: number,
  interval: number,
): Promise<boolean> {
  if (version === 0 || version % interval !== 0) return false;
  try {
    const snap = await Snapshot.load(store, engine, { version });
    await writeCheckpoint(store, engine, version);
    // Delta's switch for the cleanup that follows a checkpoint; maintenance cleans up explicitly instead,
    // holding back for readers that are behind (lake/table/maintain.ts).
    if (expiredLogCleanup(snap.config)) await cleanupExpiredLogs(store, snap, version);
    return true;
  } catch (e) {
    engine.logger?.warn?.('checkpoint failed; readers replay more commits until the next one', {
      table: store.url,
      version,
      error: redact(String(e)),
    });
    return false;
  }
}
