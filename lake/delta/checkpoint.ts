/** Classic checkpoints (PROTOCOL.md "Checkpoints") and `_last_checkpoint`, plus log retention cleanup. */
import type { ObjectStore } from '../storage/object-store';
import type { Action } from './actions';
import type { DeltaEngine } from './engine';
import { LAST_CHECKPOINT_KEY, LOG_DIR, checkpointKey, parseLogKey } from './log-path';
import { Snapshot } from './snapshot';
import { durationMs } from './table-config';

export const checkpointInterval = (s: Snapshot): number =>
  Math.max(1, Number(s.config['delta.checkpointInterval'] ?? 10) || 10);

/** The reconciled state as checkpoint actions; tombstones older than the deleted-file retention are dropped. */
export function checkpointActions(s: Snapshot, now = Date.now()): Action[] {
  const retention = durationMs(s.config['delta.deletedFileRetentionDuration'], 7 * 86_400_000);
  const out: Action[] = [{ protocol: s.protocol }, { metaData: s.metadata }];
  for (const t of s.txns.values()) out.push({ txn: t });
  for (const d of s.domains.values()) out.push({ domainMetadata: d });
  for (const f of s.files) out.push({ add: { ...f, dataChange: false } });
  for (const r of s.tombstones)
    if ((r.deletionTimestamp ?? now) > now - retention) out.push({ remove: { ...r, dataChange: false } });
  return out;
}

export async function writeCheckpoint(
  store: ObjectStore,
  engine: DeltaEngine,
  version: number,
): Promise<{ version: number; actions: number; sizeInBytes: number }> {
  const snap = await Snapshot.load(store, engine, { version });
  const actions = checkpointActions(snap);
  const { sizeInBytes } = await engine.parquet.writeCheckpoint(store, checkpointKey(version), actions);
  const numOfAddFiles = snap.files.length;
  // _last_checkpoint is a hint: a stale one (racing writers) only makes readers list a little more.
  await store.put(
    LAST_CHECKPOINT_KEY,
    JSON.stringify({ version, size: actions.length, sizeInBytes, numOfAddFiles }),
  );
  return { version, actions: actions.length, sizeInBytes };
}

/**
 * Deletes commit and checkpoint files that are older than `delta.logRetentionDuration` (default 30 days)
 * and strictly before the newest checkpoint at or before `checkpointVersion`, so every retained version
 * stays reconstructable (PROTOCOL.md "Metadata Cleanup").
 */
export async function cleanupExpiredLogs(
  store: ObjectStore,
  snap: Snapshot,
  checkpointVersion: number,
  now = Date.now(),
): Promise<number> {
  const retention = durationMs(snap.config['delta.logRetentionDuration'], 30 * 86_400_000);
  const cutoff = now - retention;
  const doomed: string[] = [];
  for await (const m of store.list(`${LOG_DIR}/`)) {
    const f = parseLogKey(m.key, store.url);
    if (!f || f.version >= checkpointVersion) continue;
    if (m.lastModified.getTime() < cutoff) doomed.push(m.key);
  }
  await store.deleteMany(doomed);
  return doomed.length;
}
