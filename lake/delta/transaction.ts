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
import { readCommit } from './snapshot';

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

// After losing a race we have already read up to the tip of the log, so the next try can come soon;
// a short, capped, jittered pause spreads writers out without starving the unlucky ones.
const backoff = (attempt: number) => Math.random() * Math.min(250, 10 * 2 ** attempt);

export async function commit(
  store: ObjectStore,
  _engine: DeltaEngine,
  req: CommitRequest,
): Promise<CommitResult> {
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
    try {
      await store.putIfAbsent(commitKey(version), serializeCommit([{ commitInfo: info }, ...req.actions]));
      return { kind: 'committed', version, attempts: attempt, conflictsChecked: checked };
    } catch (e) {
      if (!isTributaryError(e, 'ALREADY_EXISTS')) throw e;
    }
    // Lost the race for `version`: check every winner from there up to the current end of the log.
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
    await sleep(backoff(attempt));
  }
  throw new TributaryError(
    'COMMIT_CONFLICT',
    `commit to ${store.url} gave up after ${maxAttempts} attempts (last tried version ${version}); the table is under heavy concurrent writing`,
    { retryable: true },
  );
}
