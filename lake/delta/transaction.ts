/**
 * Commit = create-if-absent of `_delta_log/<version>.json` (PROTOCOL.md "Delta Log Entries"). Losing the
 * race is normal: read the winners, apply the conflict rules, rebase and try the next version, with
 * jittered backoff, up to a bounded number of attempts.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, isTributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';
import { type Action, type AddFile, type CommitInfo, serializeCommit } from './actions';
import { type Conflict, checkConflict, intentOf } from './conflicts';
import type { DeltaEngine } from './engine';
import { commitKey } from './log-path';
import { readCommit } from './commits';

export const ENGINE_INFO = `tributary/${process.env.npm_package_version ?? '0.1.0'}`;

export interface CommitRequest {
  /** Version the transaction read; -1 when creating the table. */
  readVersion: number;
  operation: string;
  operationParameters?: Record<string, unknown>;
  operationMetrics?: Record<string, string>;
  isBlindAppend: boolean;
  /** Files read (by replay file key) or 'all'. Ignored for blind appends. */
  readFiles?: ReadonlySet<string> | 'all';
  /** Read predicate over files (partition values, stats) for the concurrent-append check; default: whole table. */
  readFilter?: (add: AddFile) => boolean;
  /** Actions other than commitInfo. */
  actions: Action[];
  maxAttempts?: number;
  /** Extra commitInfo fields (e.g. user metadata). */
  commitInfo?: Record<string, unknown>;
  /**
   * The txn application whose record in a winning commit means this commit already landed (undefined: any
   * txn of this commit; null: none, e.g. txns carried from another table are state, not idempotency keys).
   */
  idempotencyAppId?: string | null;
}

export type CommitResult =
  | { kind: 'committed'; version: number; attempts: number; conflictsChecked: number }
  /** The commit carried txn(appId, v) and the table already records appId at ≥ v: the write had landed. */
  | { kind: 'alreadyCommitted'; version: number; attempts: number; appId: string; recordedVersion: number };

/** A winner broke the rules for this transaction: it must be re-planned against the new snapshot. */
export class CommitConflictError extends TributaryError {
  constructor(
    readonly conflict: Conflict,
    table: string,
    readVersion: number,
  ) {
    super(
      'COMMIT_CONFLICT',
      `commit to ${table} conflicts with version ${conflict.version} (${conflict.kind}: ${conflict.detail}); ` +
        `the transaction read version ${readVersion}. Help: reload the table at the latest version and retry the operation.`,
      { retryable: true },
    );
  }
}

/**
 * How long a writer that lost the race for a version waits before trying the next one: `attempt` is the
 * try it just lost (1: its first), `putMs` how long that try's put-if-absent took (the store's latency).
 */
export type CommitBackoff = (attempt: number, putMs: number) => number;

/**
 * Aging backoff: the more races a writer has lost, the sooner it tries again. After each commit the
 * losers race for the next version and the first put-if-absent to arrive wins, so a writer that waits
 * less wins more often: a fresh writer (one loss) waits up to AGING_STEPS store round trips, one that
 * has lost AGING_STEPS times only jitter, ahead of every newer writer. Delays are in units of the
 * store's own latency (a local file system answers in 0.1 ms, an object store in 10–50 ms), so the
 * spacing means the same on each. (The growing backoff before it, up to 250 ms after the 5th loss, made
 * the unluckiest wait longest: 50 writers, median 2–5 tries, the worst 93–164; bench/commits.ts.)
 */
const AGING_STEPS = 8;
export const agingBackoff: CommitBackoff = (attempt, putMs) => {
  const unit = Math.min(50, Math.max(1, putMs));
  return unit * (Math.random() + Math.max(0, AGING_STEPS - attempt));
};

export async function commit(
  store: ObjectStore,
  _engine: DeltaEngine,
  req: CommitRequest,
  /** For bench/commits.ts, which runs the old policy beside the default. */
  opts: { backoff?: CommitBackoff } = {},
): Promise<CommitResult> {
  const backoff = opts.backoff ?? agingBackoff;
  const maxAttempts = req.maxAttempts ?? 1000;
  const intent = intentOf(req.actions, {
    isBlindAppend: req.isBlindAppend,
    readFiles: req.readFiles ?? 'all',
    readFilter: req.readFilter,
  });
  const myTxns = new Map(
    req.actions.flatMap((a) =>
      'txn' in a && (req.idempotencyAppId === undefined || req.idempotencyAppId === a.txn.appId)
        ? [[a.txn.appId, a.txn.version] as const]
        : [],
    ),
  );
  const txnId = randomUUID();
  let version = req.readVersion + 1;
  let checked = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const info: CommitInfo = {
      timestamp: Date.now(),
      operation: req.operation,
      // Spark reads operationParameters as Map[String, String]: non-strings are written as JSON text.
      operationParameters: Object.fromEntries(
        Object.entries(req.operationParameters ?? {}).map(([k, v]) => [
          k,
          typeof v === 'string' ? v : JSON.stringify(v),
        ]),
      ),
      ...(req.readVersion >= 0 ? { readVersion: req.readVersion } : {}),
      isolationLevel: 'WriteSerializable',
      isBlindAppend: req.isBlindAppend,
      ...(req.operationMetrics ? { operationMetrics: req.operationMetrics } : {}),
      engineInfo: ENGINE_INFO,
      txnId,
      ...req.commitInfo,
    };
    const putAt = performance.now();
    try {
      await store.putIfAbsent(commitKey(version), serializeCommit([{ commitInfo: info }, ...req.actions]));
      return { kind: 'committed', version, attempts: attempt, conflictsChecked: checked };
    } catch (e) {
      if (!isTributaryError(e, 'ALREADY_EXISTS')) throw e;
    }
    const putMs = performance.now() - putAt;
    // Lost the race for `version`: check every winner from there up to the current end of the log.
    // (One at a time: reading ahead in parallel, through readCommitRange, made 50 writers on the moto
    // emulator slower, 12.6 → 7.0 commits/s, its single thread answering the extra requests.)
    for (;;) {
      let winner: Action[];
      try {
        winner = await readCommit(store, commitKey(version), store.url);
      } catch (e) {
        if (isTributaryError(e, 'NOT_FOUND')) break;
        throw e;
      }
      for (const a of winner) {
        if ('txn' in a && myTxns.has(a.txn.appId) && a.txn.version >= myTxns.get(a.txn.appId)!)
          return {
            kind: 'alreadyCommitted',
            version,
            attempts: attempt,
            appId: a.txn.appId,
            recordedVersion: a.txn.version,
          };
      }
      const c = checkConflict(intent, winner, version);
      checked++;
      if (c) throw new CommitConflictError(c, store.url, req.readVersion);
      version++;
    }
    await sleep(backoff(attempt, putMs));
  }
  throw new TributaryError(
    'COMMIT_CONFLICT',
    `commit to ${store.url} gave up after ${maxAttempts} attempts (last tried version ${version}); the table is under heavy concurrent writing`,
    { retryable: true },
  );
}
