/**
 * Where a replica stands against its source: the source version it records (its clone txn), the lag in
 * versions and seconds, and what its last CLONE commit copied. Reads both tables, writes nothing.
 */
import { isTributaryError } from '../errors';
import type { DeltaEngine } from '../delta/engine';
import { commitTimestamps } from '../delta/snapshot';
import type { ObjectStore } from '../storage/object-store';
import { cloneAppId } from './clone';
import { defaultEngine, loadSnapshotOrUndefined } from './latest';
import { history } from './maintenance';

export interface ReplicaStatus {
  source: string;
  target: string;
  /** Latest source version (null: no source table). */
  sourceVersion: number | null;
  /** Latest target version (null: not cloned yet). */
  targetVersion: number | null;
  /** The source version the target records as cloned (null: none yet). */
  recordedSourceVersion: number | null;
  /** Source versions the replica is behind. */
  lagVersions: number;
  /** Seconds since the oldest source commit the replica lacks (0 when up to date). */
  lagSeconds: number;
  /** copiedFilesSize of the target's last CLONE commit (null: none). */
  bytesLastCopied: number | null;
  /** Target version and time of that commit. */
  lastCloneVersion: number | null;
  lastCloneAt: string | null;
}

/** Commits of the target searched (newest first) for its last CLONE. */
const CLONE_HISTORY = 50;

const orEmpty = <T>(p: Promise<T[]>): Promise<T[]> =>
  p.catch((e: unknown) => {
    if (isTributaryError(e, 'NOT_FOUND')) return [];
    throw e;
  });

export async function replicaStatus(
  source: ObjectStore,
  target: ObjectStore,
  opts: { engine?: DeltaEngine; now?: number } = {},
): Promise<ReplicaStatus> {
  const engine = opts.engine ?? defaultEngine;
  const now = opts.now ?? Date.now();
  const [srcTimes, src, tgt] = await Promise.all([
    orEmpty(commitTimestamps(source)),
    loadSnapshotOrUndefined(source, engine),
    loadSnapshotOrUndefined(target, engine),
  ]);
  const recorded = src && tgt ? (tgt.txnVersion(cloneAppId(src.metadata.id)) ?? null) : null;
  const latest = src?.version ?? null;
  const firstMissing = srcTimes.find((t) => t.version > (recorded ?? -1));
  const last = tgt
    ? (await history(target, { limit: CLONE_HISTORY })).find((h) => h.operation === 'CLONE')
    : undefined;
  const copied = (last?.operationMetrics as Record<string, unknown> | undefined)?.copiedFilesSize;
  return {
    source: source.url,
    target: target.url,
    sourceVersion: latest,
    targetVersion: tgt?.version ?? null,
    recordedSourceVersion: recorded,
    lagVersions: latest === null ? 0 : latest - (recorded ?? -1),
    lagSeconds:
      latest !== null && firstMissing && latest > (recorded ?? -1)
        ? Math.max(0, Math.round((now - firstMissing.timestamp) / 1000))
        : 0,
    bytesLastCopied: copied === undefined ? null : Number(copied),
    lastCloneVersion: last?.version ?? null,
    lastCloneAt: last ? new Date(last.timestamp).toISOString() : null,
  };
}
