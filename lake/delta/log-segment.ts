/** Finds the files that make up a table version: newest complete checkpoint ≤ version plus later commits. */
import { TributaryError, isTributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';
import { LAST_CHECKPOINT_KEY, LOG_DIR, type LogFile, MAX_VERSION, pad20, parseLogKey } from './log-path';

export interface CommitFile {
  version: number;
  key: string;
  lastModified: Date;
}

export interface LogSegment {
  version: number;
  /** Checkpoint parts (one for classic/v2, N for multi-part), empty when replaying from version 0. */
  checkpoint: { version: number; keys: string[] } | undefined;
  /** Commits after the checkpoint up to `version`, ascending. */
  commits: CommitFile[];
}

export interface LastCheckpoint {
  version: number;
  size?: number;
  parts?: number;
}

export async function readLastCheckpoint(store: ObjectStore): Promise<LastCheckpoint | undefined> {
  try {
    const hint = JSON.parse(
      Buffer.from(await store.get(LAST_CHECKPOINT_KEY)).toString('utf8'),
    ) as LastCheckpoint;
    // A version past MAX_VERSION was rounded by JSON.parse: not a usable hint.
    return Number.isSafeInteger(hint.version) && hint.version >= 0 ? hint : undefined;
  } catch (e) {
    if (isTributaryError(e, 'NOT_FOUND') || e instanceof SyntaxError) return undefined; // a hint only
    throw e;
  }
}

interface Listed {
  commits: Map<number, CommitFile>;
  checkpoints: Map<number, { keys: string[]; complete: boolean }>;
}

/** Lists log files from `fromVersion`; with `untilVersion`, stops at the first file past it (keys sort by version). */
async function listLog(store: ObjectStore, fromVersion: number, untilVersion?: number): Promise<Listed> {
  const commits = new Map<number, CommitFile>();
  const multi = new Map<string, { files: LogFile[]; parts: number }>();
  const checkpoints = new Map<number, { keys: string[]; complete: boolean }>();
  const startAfter = fromVersion > 0 ? `${LOG_DIR}/${pad20(fromVersion - 1)}.~` : undefined;
  // Past the last key of untilVersion, stop before parsing: a later file's name may not even be a version.
  const untilKey = untilVersion === undefined ? undefined : `${LOG_DIR}/${pad20(untilVersion)}.~`;
  for await (const m of store.list(`${LOG_DIR}/`, { startAfter })) {
    if (untilKey !== undefined && m.key > untilKey) break;
    const f = parseLogKey(m.key, store.url);
    if (!f) continue;
    if (untilVersion !== undefined && f.version > untilVersion) break;
    if (f.kind === 'commit')
      commits.set(f.version, { version: f.version, key: f.key, lastModified: m.lastModified });
    else if (f.kind === 'checkpoint') {
      if (f.parts === undefined) {
        // A classic or v2 checkpoint is complete by itself; prefer it over multi-part at the same version.
        checkpoints.set(f.version, { keys: [f.key], complete: true });
      } else {
        const id = `${f.version}/${f.parts}`;
        const g = multi.get(id) ?? { files: [], parts: f.parts };
        g.files.push(f);
        multi.set(id, g);
      }
    }
  }
  for (const [id, g] of multi) {
    const version = Number(id.split('/')[0]);
    if (checkpoints.has(version)) continue;
    const parts = new Set(g.files.map((f) => (f.kind === 'checkpoint' ? f.part : 0)));
    if (parts.size === g.parts)
      checkpoints.set(version, { keys: g.files.map((f) => f.key).sort(), complete: true });
  }
  return { commits, checkpoints };
}

/** Versions listed before `version` on the first try of listBack, then 8 times more on each next try. */
const BACK_WINDOW = 128;

/**
 * The log up to `version` (all of it when undefined) when `_last_checkpoint` cannot say where to start: a
 * version before the hint (time travel) or a missing or stale hint. Lists windows ending at `version`, each
 * 8 times wider, until one holds a complete checkpoint followed by every commit up to `version` (or starts
 * at 0), so time travel to v5000 of a 10,000-commit log lists a few hundred entries instead of 5,000.
 */
async function listBack(store: ObjectStore, version: number | undefined): Promise<Listed> {
  if (version === undefined) return listLog(store, 0);
  for (let w = BACK_WINDOW; ; w *= 8) {
    const from = Math.max(0, version - w);
    const listed = await listLog(store, from, version);
    if (from === 0) return listed;
    const cp = maxOf(
      -1,
      [...listed.checkpoints.keys()].filter((v) => v <= version),
    );
    let whole = cp >= 0;
    for (let v = cp + 1; whole && v <= version; v++) whole = listed.commits.has(v);
    if (whole) return listed;
  }
}

const maxOf = (init: number, ...lists: Iterable<number>[]): number => {
  let m = init;
  for (const l of lists) for (const v of l) if (v > m) m = v;
  return m;
};

/**
 * Builds the segment for `version` (latest when undefined). Uses `_last_checkpoint` as a listing hint and
 * lists backwards from `version` (listBack) when the hint is stale or beyond the requested version.
 */
export async function buildLogSegment(
  store: ObjectStore,
  table: string,
  version?: number,
): Promise<LogSegment> {
  if (version !== undefined && !Number.isSafeInteger(version))
    throw new TributaryError(
      'BAD_INPUT',
      `version must be an integer from 0 to ${MAX_VERSION}, got ${version}`,
    );
  if (version !== undefined && version < 0)
    throw new TributaryError('BAD_INPUT', `version must be ≥ 0, got ${version}`);
  const hint = await readLastCheckpoint(store);
  let listed: Listed;
  if (hint && (version === undefined || hint.version <= version)) {
    listed = await listLog(store, hint.version, version);
    if (hint.version > 0 && !listed.checkpoints.has(hint.version)) listed = await listBack(store, version);
  } else listed = await listBack(store, version);
  if (listed.commits.size === 0 && listed.checkpoints.size === 0)
    throw new TributaryError('NOT_FOUND', `no Delta table at ${table} (no ${LOG_DIR}/ entries)`);
  // Loops, not Math.max(...): a log holds hundreds of thousands of commits (spread arguments overflow the stack).
  const latest = maxOf(-1, listed.commits.keys(), listed.checkpoints.keys());
  const target = version ?? latest;
  if (target > latest)
    throw new TributaryError('NOT_FOUND', `table ${table} has no version ${target} (latest is ${latest})`);
  if (target < 0) throw new TributaryError('BAD_INPUT', `version must be ≥ 0, got ${target}`);

  const cpVersion = maxOf(
    -1,
    [...listed.checkpoints.keys()].filter((v) => v <= target),
  );
  const commits: CommitFile[] = [];
  for (let v = cpVersion + 1; v <= target; v++) {
    const c = listed.commits.get(v);
    if (!c) {
      let oldest = Infinity;
      for (const k of listed.commits.keys()) if (k < oldest) oldest = k;
      throw new TributaryError(
        cpVersion < 0 && v === 0 && oldest > 0 ? 'NOT_FOUND' : 'INVALID_LOG',
        `table ${table}: version ${target} cannot be reconstructed: commit ${v} is missing` +
          (cpVersion < 0
            ? ` and no checkpoint at or before ${target} exists (log may have been cleaned up)`
            : ''),
      );
    }
    commits.push(c);
  }
  const cp =
    cpVersion >= 0 ? { version: cpVersion, keys: listed.checkpoints.get(cpVersion)!.keys } : undefined;
  return { version: target, checkpoint: cp, commits };
}

/** All commit files (ascending) currently in the log, for history and timestamp lookups. */
export async function listCommits(store: ObjectStore): Promise<CommitFile[]> {
  const { commits } = await listLog(store, 0);
  return [...commits.values()].sort((a, b) => a.version - b.version);
}

/** Commit files with version ≥ `fromVersion`, ascending (one listing from that version on). */
export async function listCommitsFrom(store: ObjectStore, fromVersion: number): Promise<CommitFile[]> {
  const { commits } = await listLog(store, fromVersion);
  return [...commits.values()].filter((c) => c.version >= fromVersion).sort((a, b) => a.version - b.version);
}
