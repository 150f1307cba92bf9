/** History, table info and VACUUM. */
import { TributaryError } from '../errors';
import type { CommitInfo } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { LOG_DIR } from '../delta/log-path';
import { dataFileKey } from '../delta/paths';
import { dvStoreKey } from '../delta/deletion-vectors';
import { Snapshot, commitTimestamps, readCommit } from '../delta/snapshot';
import { durationMs } from '../delta/table-config';
import type { ObjectStore } from '../storage/object-store';
import { defaultEngine } from './operations';

export interface HistoryEntry extends CommitInfo {
  version: number;
  timestamp: number;
}

/** Commit history, newest first (versions whose commit files were cleaned up are absent). */
export async function history(store: ObjectStore, opts: { limit?: number } = {}): Promise<HistoryEntry[]> {
  const commits = (await commitTimestamps(store)).reverse().slice(0, opts.limit ?? Infinity);
  if (commits.length === 0)
    throw new TributaryError('NOT_FOUND', `no Delta table at ${store.url} (no commits)`);
  return Promise.all(
    commits.map(async (c) => {
      const info = (await readCommit(store, c.file.key, store.url)).find((a) => 'commitInfo' in a) as
        | { commitInfo: CommitInfo }
        | undefined;
      return {
        ...(info?.commitInfo ?? {}),
        version: c.version,
        timestamp: info?.commitInfo.timestamp ?? c.timestamp,
      };
    }),
  );
}

export interface TableInfo {
  url: string;
  version: number;
  protocol: Snapshot['protocol'];
  partitionColumns: readonly string[];
  schema: Snapshot['schema'];
  configuration: Record<string, string>;
  numFiles: number;
  sizeInBytes: number;
  numRecords: number | null;
  appTransactions: Record<string, number>;
}

export async function tableInfo(
  store: ObjectStore,
  engine: DeltaEngine = defaultEngine,
  version?: number,
): Promise<TableInfo> {
  const s = await Snapshot.load(store, engine, { version });
  return {
    url: store.url,
    version: s.version,
    protocol: s.protocol,
    partitionColumns: s.partitionColumns,
    schema: s.schema,
    configuration: s.metadata.configuration,
    numFiles: s.files.length,
    sizeInBytes: s.files.reduce((n, f) => n + f.size, 0),
    numRecords: s.numRecords ?? null,
    appTransactions: Object.fromEntries([...s.txns].map(([k, t]) => [k, t.version])),
  };
}

export interface VacuumResult {
  dryRun: boolean;
  retentionHours: number;
  deleted: string[];
  bytes: number;
  /** Files past retention kept only because `keep` named them (a reader behind still opens them). */
  held: number;
}

/**
 * Deletes files under the table that no retained version references: not active in the current snapshot,
 * not a tombstone newer than the retention period, and older than the retention period themselves (so an
 * in-flight writer's fresh files are never taken). Hidden paths (`_…`, `.…`) other than partition
 * directories are left alone, as Spark does.
 */
export async function vacuum(
  store: ObjectStore,
  opts: {
    retainHours?: number;
    dryRun?: boolean;
    enforceRetention?: boolean;
    /** Table-relative keys kept whatever their age (files an incremental reader behind still opens). */
    keep?: Iterable<string>;
  } = {},
  engine: DeltaEngine = defaultEngine,
  now = Date.now(),
): Promise<VacuumResult> {
  const snap = await Snapshot.load(store, engine);
  const tableRetention = durationMs(snap.config['delta.deletedFileRetentionDuration'], 7 * 86_400_000);
  const retentionMs = opts.retainHours === undefined ? tableRetention : opts.retainHours * 3_600_000;
  if (opts.enforceRetention !== false && retentionMs < tableRetention)
    throw new TributaryError(
      'BAD_INPUT',
      `retention ${retentionMs / 3_600_000} h is shorter than the table's delta.deletedFileRetentionDuration (${tableRetention / 3_600_000} h): ` +
        'readers of recent versions and in-flight writers could lose files. Pass --force to override.',
    );
  const cutoff = now - retentionMs;
  const keep = new Set<string>();
  const keepFile = (f: { path: string; deletionVector?: Parameters<typeof dvStoreKey>[0] | null }) => {
    keep.add(dataFileKey(f.path, store.url));
    if (f.deletionVector && f.deletionVector.storageType !== 'i')
      keep.add(dvStoreKey(f.deletionVector, store.url));
  };
  snap.files.forEach(keepFile);
  for (const t of snap.tombstones) if ((t.deletionTimestamp ?? now) > cutoff) keepFile(t);
  const held = new Set(opts.keep ?? []);
  let heldBack = 0;
  const doomed: string[] = [];
  let bytes = 0;
  for await (const m of store.list('')) {
    if (m.key.startsWith(`${LOG_DIR}/`)) continue;
    if (
      m.key
        .split('/')
        .some(
          (seg, i, all) =>
            (seg.startsWith('_') || seg.startsWith('.')) && !(i < all.length - 1 && seg.includes('=')),
        )
    )
      continue;
    if (keep.has(m.key) || m.lastModified.getTime() >= cutoff) continue;
    if (held.has(m.key)) {
      heldBack++;
      continue;
    }
    doomed.push(m.key);
    bytes += m.size;
  }
  if (!opts.dryRun) await store.deleteMany(doomed);
  return {
    dryRun: opts.dryRun === true,
    retentionHours: retentionMs / 3_600_000,
    deleted: doomed,
    bytes,
    held: heldBack,
  };
}
