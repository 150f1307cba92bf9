/**
 * Chaos for the end-to-end tests: every raw store a worker opens goes through withFaults (under the
 * retries, through StoreOptions.decorate) with a few percent of throttling, 5xx, timeouts, connection
 * resets (before the call, after it took effect, mid-download) and latency, from one seed; and outage
 * windows in which every call to one backend fails.
 */
import { Context } from '@temporalio/activity';
import { type TributaryError, isTributaryError } from '../../lake/errors';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import {
  CLOUD_FAULTS,
  type FaultRule,
  type FaultStats,
  type StoreOp,
  cloudFaultError,
  seededRandom,
  withFaults,
} from '../../lake/storage/faults';
import type { ObjectStore } from '../../lake/storage/object-store';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/operations';

/** Operations whose effect can land while the caller sees an error (a lost response). */
const WRITES: readonly StoreOp[] = [
  'put',
  'putFile',
  'putIfAbsent',
  'delete',
  'deleteMany',
  'copy',
  'copyFrom',
];

export interface Chaos {
  seed: number;
  /** For StoreOptions.decorate. */
  decorate(raw: ObjectStore): ObjectStore;
  /** Every call to `kind` fails (503/500) for `ms`. */
  outage(kind: ObjectStore['kind'], ms: number): Promise<void>;
  /** Faults injected so far, per label, and calls per operation, over every store. */
  stats(): { injected: number; byLabel: Record<string, number>; calls: Record<string, number> };
}

export function chaos(seed: number, rate = 0.04): Chaos {
  const random = seededRandom(seed);
  const down = new Set<string>();
  const all: FaultStats[] = [];
  // Besides its probability, each kind of fault fires on one fixed call number per store, so every kind
  // shows up in every run whatever the seed.
  const rules = (raw: ObjectStore, calls = { n: 0 }): FaultRule[] => [
    // An outage: the whole backend answers 503 / 500.
    {
      label: 'outage',
      active: () => down.has(raw.kind),
      probability: 1,
      error: () => cloudFaultError(random() < 0.5 ? 'throttle' : 'server', raw.url),
    },
    // Latency on some calls.
    { label: 'slow', active: () => random() < 0.05, latencyMs: [20, 150] },
    // A timeout: the call hangs, then fails.
    {
      label: 'timeout',
      active: () => ++calls.n === 13 || random() < rate / 4,
      latencyMs: [200, 400],
      probability: 1,
      error: () => cloudFaultError('timeout', raw.url),
    },
    // Throttling, 5xx and resets before the call reaches the store.
    ...CLOUD_FAULTS.filter((f) => f !== 'timeout').map(
      (f, i): FaultRule => ({
        label: f,
        failCalls: [[11, 17, 29][i]!],
        probability: rate / 4,
        error: () => cloudFaultError(f, raw.url),
      }),
    ),
    // The write took effect, the response was lost.
    {
      label: 'lost-response',
      ops: WRITES,
      when: 'after',
      failCalls: [5],
      probability: rate,
      error: () => cloudFaultError('reset', raw.url),
    },
    // A commit that landed while its writer saw a reset: the retry finds it there (ALREADY_EXISTS) and must
    // recognise it as its own, neither failing nor committing twice.
    {
      label: 'lost-commit-response',
      ops: ['putIfAbsent'],
      key: /_delta_log\/\d{20}\.json$/,
      when: 'after',
      failCalls: [2],
      probability: 0.25,
      error: () => cloudFaultError('reset', raw.url),
    },
    // A download whose connection resets part-way.
    {
      label: 'reset-mid-body',
      ops: ['getStream'],
      failCalls: [3],
      probability: rate,
      breakBodyAfterBytes: 64,
      error: () => cloudFaultError('reset', raw.url),
    },
  ];
  return {
    seed,
    decorate(raw) {
      const f = withFaults(raw, rules(raw), random);
      all.push(f.stats);
      return f;
    },
    async outage(kind, ms) {
      down.add(kind);
      await new Promise((r) => setTimeout(r, ms));
      down.delete(kind);
    },
    stats() {
      const byLabel: Record<string, number> = {};
      const calls: Record<string, number> = {};
      let injected = 0;
      for (const s of all) {
        injected += s.injected;
        for (const [k, v] of Object.entries(s.byLabel)) byLabel[k] = (byLabel[k] ?? 0) + v;
        for (const [k, v] of Object.entries(s.calls)) calls[k] = (calls[k] ?? 0) + v;
      }
      return { injected, byLabel, calls };
    },
  };
}

/** The seed of a test: CHAOS_SEED replays a failure, otherwise a fixed one per test. */
export function seedOf(fixed: number): number {
  const env = process.env.CHAOS_SEED;
  return env ? Number(env) : fixed;
}

/** The fault rate: CHAOS_RATE explores harder (e.g. 0.1), otherwise a few percent. */
export function rateOf(fixed = 0.04): number {
  const env = process.env.CHAOS_RATE;
  return env ? Number(env) : fixed;
}

export interface AttemptRecord {
  activity: string;
  attempt: number;
  /** The error code it failed with, or 'ok'. */
  outcome: string;
}

type ActivityFns = Record<string, (...args: never[]) => Promise<unknown>>;

/** Records every activity attempt and how it ended (the TributaryError code it failed with). */
export function recordAttempts<T extends ActivityFns>(activities: T, into: AttemptRecord[]): T {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const call = fn as (...args: unknown[]) => Promise<unknown>;
    out[name] = async (...args: unknown[]) => {
      const attempt = Context.current().info.attempt;
      try {
        const r = await call(...args);
        into.push({ activity: name, attempt, outcome: 'ok' });
        return r;
      } catch (e) {
        const code = isTributaryError(e)
          ? (e as TributaryError).code
          : `${(e as Error)?.name}: ${(e as Error)?.message}`;
        into.push({ activity: name, attempt, outcome: code });
        throw e;
      }
    };
  }
  return out as unknown as T;
}

/** Failures per code and the highest attempt per activity. */
export function attemptSummary(records: readonly AttemptRecord[]) {
  const failures: Record<string, number> = {};
  const maxAttempt: Record<string, number> = {};
  for (const r of records) {
    if (r.outcome !== 'ok') failures[r.outcome] = (failures[r.outcome] ?? 0) + 1;
    maxAttempt[r.activity] = Math.max(maxAttempt[r.activity] ?? 0, r.attempt);
  }
  return { failures, maxAttempt };
}

export interface ReaderLog {
  /** (version, rows seen) for each successful read. */
  seen: { version: number; rows: number }[];
  /** Reads that failed with a transient storage error (allowed only on a faulty store). */
  transient: number;
  errors: string[];
}

/**
 * A reader loop: loads the latest snapshot and reads its rows until stopped. Every read must see a
 * committed version's row count (checked afterwards by checkReads); on a fault-free store every read must
 * succeed, on a faulty one (`faulty`) a read may fail only with a transient storage error.
 */
export function readerLoop(store: ObjectStore, faulty = false): { stop(): Promise<ReaderLog> } {
  const log: ReaderLog = { seen: [], transient: 0, errors: [] };
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const snap = await loadSnapshotOrUndefined(store, defaultEngine);
        if (snap)
          log.seen.push({ version: Number(snap.version), rows: (await scanRows(store, snap)).length });
      } catch (e) {
        if (faulty && isTributaryError(e, 'STORAGE_TRANSIENT')) log.transient++;
        else log.errors.push(`${(e as Error)?.name}: ${(e as Error)?.message ?? String(e)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return log;
    },
  };
}

/** Every read saw exactly the rows of the version it loaded (re-read now, by time travel). */
export async function checkReads(store: ObjectStore, log: ReaderLog): Promise<string[]> {
  const bad: string[] = [...log.errors.map((e) => `read failed: ${e}`)];
  const counts = new Map<number, number>();
  for (const { version, rows } of log.seen) {
    if (!counts.has(version)) {
      const snap = await Snapshot.load(store, defaultEngine, { version });
      counts.set(version, (await scanRows(store, snap)).length);
    }
    if (counts.get(version) !== rows)
      bad.push(`read of v${version} saw ${rows} rows, v${version} has ${counts.get(version)}`);
  }
  return bad;
}
