/** Classic checkpoints (PROTOCOL.md "Checkpoints") and `_last_checkpoint`, plus log retention cleanup. */
import type { ObjectStore } from '../storage/object-store';
import type { Action } from './actions';
import type { DeltaEngine } from './engine';
import { LAST_CHECKPOINT_KEY, LOG_DIR, checkpointKey, parseLogKey } from './log-path';
import { Snapshot } from './snapshot';
import { durationMs, logRetentionMs } from './table-config';

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

export interface LogCleanupOptions {
  /**
   * The first version a reader still has to read commit by commit (an incremental reader that is behind):
   * no commit from it on is deleted, and the checkpoint that bounds the cleanup is at or before it.
   */
  keepFrom?: number;
  /** List what would be deleted, delete nothing. */
  dryRun?: boolean;
  now?: number;
}

export interface LogCleanupResult {
  /** Log files deleted (or, in a dry run, that would be). */
  deleted: string[];
  /** Files below this version were candidates (the newest usable checkpoint); undefined: none. */
  checkpointVersion: number | undefined;
  retentionHours: number;
  /** Whether `keepFrom` moved the bound lower than `checkpointVersion` asked for. */
  held: boolean;
}

/**
 * Deletes commit and checkpoint files that are older than `delta.logRetentionDuration` (default 30 days)
 * and strictly before the newest checkpoint at or before `checkpointVersion` (and at or before
 * `keepFrom`), so every retained version stays reconstructable (PROTOCOL.md "Metadata Cleanup").
 * An explicit cleanup (table maintenance, like delta-rs's `cleanup_metadata`); the one a commit runs after
 * its checkpoint is skipped when `delta.enableExpiredLogCleanup` is false (maybeCheckpoint).
 */
export async function cleanupExpiredLogs(
  store: ObjectStore,
  snap: Snapshot,
  checkpointVersion: number,
  opts: LogCleanupOptions = {},
): Promise<LogCleanupResult> {
  const retention = logRetentionMs(snap.config);
  const result: LogCleanupResult = {
    deleted: [],
    checkpointVersion: undefined,
    retentionHours: retention / 3_600_000,
    held: false,
  };
  const cutoff = (opts.now ?? Date.now()) - retention;
  const bound = Math.min(checkpointVersion, opts.keepFrom ?? Infinity);
  const files: { version: number; key: string; old: boolean }[] = [];
  let floor: number | undefined;
  for await (const m of store.list(`${LOG_DIR}/`)) {
    const f = parseLogKey(m.key, store.url);
    if (!f) continue;
    // A complete classic or v2 checkpoint bounds the cleanup; a multi-part one only with all its parts,
    // which is not checked here: such a checkpoint is not taken as the bound.
    if (f.kind === 'checkpoint' && f.parts === undefined && f.version <= bound)
      floor = Math.max(floor ?? -1, f.version);
    files.push({ version: f.version, key: m.key, old: m.lastModified.getTime() < cutoff });
  }
  if (floor === undefined) return result;
  result.checkpointVersion = floor;
  result.held = opts.keepFrom !== undefined && opts.keepFrom < checkpointVersion;
  result.deleted = files.filter((f) => f.version < floor! && f.old).map((f) => f.key);
  if (!opts.dryRun) await store.deleteMany(result.deleted);
  return result;
}
