/**
 * The steps of table maintenance besides OPTIMIZE (lake/table/optimize.ts), each usable alone and each
 * with a dry run that is its plan: a checkpoint of the latest version, log cleanup within
 * `delta.logRetentionDuration`, and VACUUM within `delta.deletedFileRetentionDuration`.
 *
 * Readers that are behind are held, not broken. An incremental reader (an egress, a replica's next
 * incremental clone) reads the table's commits from the first version it has not read yet, and opens the
 * files those commits add even when a later commit (an OPTIMIZE) removed them. Given that version
 * (`keepFrom`), log cleanup keeps every commit from it on, and VACUUM keeps every file those commits add,
 * however old. Who the readers are is the caller's business: this module knows tables only.
 */
import { isTributaryError } from '../errors';
import { type LogCleanupResult, cleanupExpiredLogs, writeCheckpoint } from '../delta/checkpoint';
import { readCommitRange } from '../delta/commits';
import { dvStoreKey } from '../delta/deletion-vectors';
import type { DeltaEngine } from '../delta/engine';
import { LAST_CHECKPOINT_KEY, commitKey } from '../delta/log-path';
import type { Snapshot } from '../delta/snapshot';
import { expiredLogCleanup, logRetentionMs } from '../delta/table-config';
import { dataFileKey } from '../delta/paths';
import type { ObjectStore } from '../storage/object-store';
import { defaultEngine, latestSnapshot } from './latest';
import { type VacuumResult, vacuum } from './maintenance';

export interface CheckpointResult {
  /** The latest version when the step ran. */
  version: number;
  /** Whether a checkpoint was written (false: the latest version already had one, or a dry run). */
  written: boolean;
  /** The version `_last_checkpoint` named before (undefined: none). */
  previous: number | undefined;
  dryRun: boolean;
}

/** The version `_last_checkpoint` names, undefined when there is none or it cannot be read. */
async function lastCheckpointVersion(store: ObjectStore): Promise<number | undefined> {
  try {
    const v = (
      JSON.parse(Buffer.from(await store.get(LAST_CHECKPOINT_KEY)).toString('utf8')) as { version?: unknown }
    ).version;
    return typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a checkpoint of the latest version unless it has one: readers then load it without replaying. */
export async function checkpointLatest(
  store: ObjectStore,
  opts: { dryRun?: boolean; engine?: DeltaEngine } = {},
): Promise<CheckpointResult> {
  const engine = opts.engine ?? defaultEngine;
  const snap = await latestSnapshot(store, engine);
  const previous = await lastCheckpointVersion(store);
  const due = previous === undefined || previous < snap.version;
  if (due && !opts.dryRun) await writeCheckpoint(store, engine, snap.version);
  return { version: snap.version, written: due && !opts.dryRun, previous, dryRun: opts.dryRun === true };
}

/** Log cleanup of the latest state: commits and checkpoints past retention before the newest checkpoint. */
export async function cleanupLogs(
  store: ObjectStore,
  opts: { keepFrom?: number; dryRun?: boolean; engine?: DeltaEngine; now?: number } = {},
): Promise<LogCleanupResult> {
  const snap = await latestSnapshot(store, opts.engine ?? defaultEngine);
  return cleanupExpiredLogs(store, snap, snap.version, {
    ...(opts.keepFrom !== undefined ? { keepFrom: opts.keepFrom } : {}),
    ...(opts.dryRun ? { dryRun: true } : {}),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
  });
}

/**
 * The one cleanup maintenance cannot hold: the one a writer runs after each checkpoint
 * (`delta.enableExpiredLogCleanup`, on unless set false) deletes commits past `delta.logRetentionDuration`
 * whoever has not read them. A warning when a reader's first unread commit (`keepFrom`) is past half that
 * retention with it on: the next checkpoint may delete what the reader still has to read.
 */
export async function commitCleanupWarning(
  store: ObjectStore,
  snap: Snapshot,
  keepFrom: number,
  now = Date.now(),
): Promise<string | undefined> {
  if (!expiredLogCleanup(snap.config) || keepFrom > snap.version) return undefined;
  const retention = logRetentionMs(snap.config);
  const written = await store.head(commitKey(keepFrom)).then(
    (m) => m.lastModified.getTime(),
    () => undefined,
  );
  if (written === undefined || now - written < retention / 2) return undefined;
  const hours = (ms: number) => `${(ms / 3_600_000).toFixed(ms < 36_000_000 ? 2 : 0)} h`;
  return (
    `commit ${keepFrom}, the first a reader behind has not read, was written ${hours(now - written)} ago, and ` +
    `writers clean up log entries older than ${hours(retention)} after each checkpoint (delta.enableExpiredLogCleanup ` +
    `is on), whoever has not read them: set delta.enableExpiredLogCleanup = false on ${store.url} (Spark: ALTER ` +
    `TABLE … SET TBLPROPERTIES; delta-rs: alter.set_table_properties) to leave log cleanup to maintenance, which ` +
    `holds for readers`
  );
}

export interface HeldFiles {
  /** Table-relative keys of the data files (and deletion vectors) commits `from`.. add. */
  keys: Set<string>;
  /** Commits read. */
  commits: number;
  /** Set when a commit in the range is already gone (cleaned up before this hold existed). */
  missing?: string;
}

/** The files the commits from `from` to the latest add: what an incremental reader at `from` will open. */
export async function filesAddedSince(store: ObjectStore, from: number, to: number): Promise<HeldFiles> {
  const out: HeldFiles = { keys: new Set(), commits: 0 };
  if (from > to) return out;
  try {
    for await (const c of readCommitRange(store, Math.max(0, from), to)) {
      out.commits++;
      for (const a of c.actions)
        if ('add' in a && a.add) {
          out.keys.add(dataFileKey(a.add.path, store.url));
          const dv = a.add.deletionVector;
          if (dv && dv.storageType !== 'i') out.keys.add(dvStoreKey(dv, store.url));
        }
    }
  } catch (e) {
    if (!isTributaryError(e) || e.code !== 'INVALID_LOG') throw e;
    out.missing = e.message;
  }
  return out;
}

export interface HeldVacuumResult extends VacuumResult {
  /** The version readers still read from (undefined: nobody is behind). */
  keepFrom: number | undefined;
  /** Commits read to find the held files. */
  heldCommits: number;
  /** A reader's commits were already gone: it cannot resume incrementally whatever this VACUUM does. */
  missing?: string;
}

/** VACUUM within the table's retention, keeping the files a reader behind (at `keepFrom`) will open. */
export async function vacuumHeld(
  store: ObjectStore,
  opts: {
    keepFrom?: number;
    /** filesAddedSince(keepFrom) as the caller already read it (a plan reads the range once). */
    held?: HeldFiles;
    dryRun?: boolean;
    engine?: DeltaEngine;
    now?: number;
  } = {},
): Promise<HeldVacuumResult> {
  const engine = opts.engine ?? defaultEngine;
  const held =
    opts.keepFrom === undefined
      ? { keys: new Set<string>(), commits: 0 }
      : (opts.held ??
        (await filesAddedSince(store, opts.keepFrom, (await latestSnapshot(store, engine)).version)));
  const r = await vacuum(
    store,
    { keep: held.keys, ...(opts.dryRun ? { dryRun: true } : {}) },
    engine,
    opts.now ?? Date.now(),
  );
  return {
    ...r,
    keepFrom: opts.keepFrom,
    heldCommits: held.commits,
    ...('missing' in held && held.missing ? { missing: held.missing } : {}),
  };
}
