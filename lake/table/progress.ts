/**
 * Table-level facts a status screen shows of a pipeline: the newest commit an application made (from
 * commitInfo), how far a consumer recording `txn(appId, sourceVersion)` is behind its source, and how many
 * rows arrived since an instant. Reads only.
 */
import { isTributaryError } from '../errors';
import type { AddFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { commitTimestamps, statsNumRecords } from '../delta/snapshot';
import { scanChunks } from '../engine/scan';
import type { ColumnExpr, Expr } from '../predicate';
import { checkTimestamp } from '../predicate/datetime';
import type { ObjectStore } from '../storage/object-store';
import { defaultEngine, loadSnapshotOrUndefined } from './latest';
import { type HistoryEntry, history } from './maintenance';
import { fileMightMatch } from './skipping';

/** A table's history, newest first, or none when there is no table yet (a missing bucket included). */
export async function historyOrEmpty(store: ObjectStore, limit: number): Promise<HistoryEntry[]> {
  try {
    return await history(store, { limit });
  } catch (e) {
    if (isTributaryError(e, 'NOT_FOUND')) return [];
    throw e;
  }
}

/** The newest entry whose commitInfo names `appId` in its operationParameters (ingest and egress do). */
export const lastCommitBy = (entries: readonly HistoryEntry[], appId: string): HistoryEntry | undefined =>
  entries.find((h) => (h.operationParameters as Record<string, unknown> | undefined)?.appId === appId);

export interface ConsumerLag {
  /** The source's latest version (null: no source table). */
  latestVersion: number | null;
  /** The source version the consumer records (-1: none yet). */
  recordedVersion: number;
  /** Source versions the consumer has not taken. */
  lagVersions: number;
  /** Seconds since the oldest source commit the consumer has not taken (0 when up to date). */
  lagSeconds: number;
}

/**
 * How far a consumer that records the source versions it took (a `txn` in its own table) is behind the
 * source: the versions after `recorded`, and the age of the oldest of them. A missing source has no lag.
 */
export async function consumerLag(
  source: ObjectStore,
  recorded: number | undefined,
  now = Date.now(),
): Promise<ConsumerLag> {
  const times = await commitTimestamps(source).catch((e: unknown) => {
    if (isTributaryError(e, 'NOT_FOUND')) return [];
    throw e;
  });
  const done = recorded ?? -1;
  const latest = times.length ? times[times.length - 1]!.version : null;
  const firstPending = times.find((t) => t.version > done);
  return {
    latestVersion: latest,
    recordedVersion: done,
    lagVersions: latest === null ? 0 : Math.max(0, latest - done),
    lagSeconds: firstPending ? Math.max(0, Math.round((now - firstPending.timestamp) / 1000)) : 0,
  };
}

const column = (name: string): ColumnExpr => ({ kind: 'column', path: [name] });

/**
 * Rows of the table whose timestamp `columnName` is at or after `since` (0 when there is no table or no
 * such column). File statistics decide most files: one whose every row is older is skipped, one whose every
 * row is newer is counted from its numRecords; only files straddling `since` are read.
 */
export async function countRowsSince(
  store: ObjectStore,
  columnName: string,
  since: Date,
  engine: DeltaEngine = defaultEngine,
): Promise<number> {
  const snap = await loadSnapshotOrUndefined(store, engine);
  if (!snap || !snap.schema.fields.some((f) => f.name === columnName)) return 0;
  const at = checkTimestamp(since.toISOString().replace('T', ' ').replace('Z', ''));
  if (!at.ok) throw new Error(`countRowsSince: ${since.toISOString()} is not a timestamp (${at.reason})`);
  const bound = { kind: 'literal', type: 'timestamp', value: at.canonical } as const;
  const newer: Expr = { kind: 'cmp', op: '>=', left: column(columnName), right: bound };
  // Rows that are not `newer`: older, or NULL (three-valued logic).
  const notNewer: Expr = {
    kind: 'or',
    args: [
      { kind: 'cmp', op: '<', left: column(columnName), right: bound },
      { kind: 'isNull', negated: false, arg: column(columnName) },
    ],
  };
  let rows = 0;
  const read: AddFile[] = [];
  for (const f of snap.files) {
    if (!fileMightMatch(newer, f, snap)) continue;
    const n = statsNumRecords(f);
    if (n !== undefined && !f.deletionVector && !fileMightMatch(notNewer, f, snap)) rows += n;
    else read.push(f);
  }
  if (read.length) rows += await scanChunks(store, snap, () => {}, { where: newer, files: read });
  return rows;
}
