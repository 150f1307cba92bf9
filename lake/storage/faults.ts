/**
 * A fault-injecting ObjectStore decorator for reliability tests: fail the Nth call of an operation,
 * fail with probability p, or add latency. Failures are the typed errors real adapters raise, so the
 * layers above (retries, commit loop, activities) see exactly what a flaky cloud would show them.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { type TributaryError, transient } from '../errors';
import type { CopyFromOptions, ObjectStore } from './object-store';

export type StoreOp =
  | 'get'
  | 'getStream'
  | 'head'
  | 'put'
  | 'putStream'
  | 'putFile'
  | 'putIfAbsent'
  | 'list'
  | 'delete'
  | 'deleteMany'
  | 'copy'
  | 'copyFrom';

export interface FaultRule {
  /** A name for the rule's faults in `stats.byLabel` (default: none). */
  label?: string;
  /** The rule applies only while this returns true (an outage window); default always. */
  active?: () => boolean;
  /** Operations this rule applies to (default: all). */
  ops?: readonly StoreOp[];
  /** Only keys matching this (string prefix or RegExp). */
  key?: string | RegExp;
  /** Fail these call numbers (1-based, counted per rule over matching calls). */
  failCalls?: readonly number[];
  /** Fail each matching call with this probability (0..1), using `random`. */
  probability?: number;
  /** Added latency per matching call, in ms (fixed, or [min, max]). */
  latencyMs?: number | readonly [number, number];
  /**
   * When to fail: 'before' (the operation never reaches the store) or 'after' (it took effect but the
   * caller sees an error, like a lost response). Default 'before'.
   */
  when?: 'before' | 'after';
  /** The error to raise (default: a STORAGE_TRANSIENT error naming the rule). */
  error?: () => Error;
  /**
   * getStream only: when the rule fires, the call succeeds but its body breaks with the error after this
   * many bytes (a connection reset mid-download).
   */
  breakBodyAfterBytes?: number;
}

export interface FaultStats {
  calls: Record<string, number>;
  injected: number;
  /** Faults injected per rule label (rules without a label are counted in `injected` only). */
  byLabel: Record<string, number>;
}

export function withFaults(
  inner: ObjectStore,
  rules: readonly FaultRule[],
  random: () => number = Math.random,
): ObjectStore & { stats: FaultStats } {
  const counters = rules.map(() => 0);
  const stats: FaultStats = { calls: {}, injected: 0, byLabel: {} };

  async function around<T>(op: StoreOp, key: string, fn: () => Promise<T>): Promise<T> {
    stats.calls[op] = (stats.calls[op] ?? 0) + 1;
    let failAfter: Error | undefined;
    let breakBody: { after: number; error: Error } | undefined;
    for (const [i, r] of rules.entries()) {
      if (r.ops && !r.ops.includes(op)) continue;
      if (r.active && !r.active()) continue;
      if (r.key !== undefined && !(typeof r.key === 'string' ? key.startsWith(r.key) : r.key.test(key)))
        continue;
      const n = ++counters[i]!;
      if (r.latencyMs !== undefined) {
        const [lo, hi] = typeof r.latencyMs === 'number' ? [r.latencyMs, r.latencyMs] : r.latencyMs;
        await sleep(lo + random() * (hi - lo));
      }
      const fire =
        (r.failCalls?.includes(n) ?? false) || (r.probability !== undefined && random() < r.probability);
      if (!fire) continue;
      stats.injected++;
      if (r.label !== undefined) stats.byLabel[r.label] = (stats.byLabel[r.label] ?? 0) + 1;
      const err = r.error?.() ?? transient(`injected fault: ${op} ${key} (call ${n})`);
      if (r.breakBodyAfterBytes !== undefined && op === 'getStream') {
        breakBody ??= { after: r.breakBodyAfterBytes, error: err };
        continue;
      }
      if ((r.when ?? 'before') === 'before') throw err;
      failAfter ??= err;
    }
    const result = await fn();
    if (failAfter) throw failAfter;
    if (breakBody) return brokenAfter(result as Readable, breakBody.after, breakBody.error) as T;
    return result;
  }

  return {
    url: inner.url,
    kind: inner.kind,
    stats,
    get: (key, o) => around('get', key, () => inner.get(key, o)),
    getStream: (key, o) => around('getStream', key, () => inner.getStream(key, o)),
    head: (key) => around('head', key, () => inner.head(key)),
    put: (key, b, o) => around('put', key, () => inner.put(key, b, o)),
    putStream: (key, b, o) => around('putStream', key, () => inner.putStream(key, b, o)),
    putFile: (key, f, o) => around('putFile', key, () => inner.putFile(key, f, o)),
    putIfAbsent: (key, b, o) => around('putIfAbsent', key, () => inner.putIfAbsent(key, b, o)),
    list: (prefix, o) => ({
      async *[Symbol.asyncIterator]() {
        // Faults on list fire when the listing starts and again every 100 keys (a page boundary).
        let n = 0;
        await around('list', prefix, async () => undefined);
        for await (const m of inner.list(prefix, o)) {
          if (++n % 100 === 0) await around('list', prefix, async () => undefined);
          yield m;
        }
      },
    }),
    delete: (key) => around('delete', key, () => inner.delete(key)),
    deleteMany: (keys) => around('deleteMany', keys[0] ?? '', () => inner.deleteMany(keys)),
    copy: (s, d) => around('copy', d, () => inner.copy(s, d)),
    ...(inner.locate ? { locate: (key: string) => inner.locate!(key) } : {}),
    ...(inner.copyFrom
      ? {
          copyFrom: (src: ObjectStore, s: string, d: string, o?: CopyFromOptions) =>
            around('copyFrom', d, () => inner.copyFrom!(src, s, d, o)),
        }
      : {}),
    close: () => inner.close(),
  };
}

/** The cloud faults chaos tests inject: throttling, a server error, a request timeout, a connection reset. */
export type CloudFault = 'throttle' | 'server' | 'timeout' | 'reset';

export const CLOUD_FAULTS: readonly CloudFault[] = ['throttle', 'server', 'timeout', 'reset'];

/**
 * What an adapter (s3.ts, azure.ts, gcs.ts) raises for `fault` on `what`: STORAGE_TRANSIENT, retryable, with an
 * SDK-shaped cause (the name, code and HTTP status each SDK puts on its errors). test/chaos/fault-shapes.test.ts
 * checks that the real adapters classify the real conditions the same way.
 */
export function cloudFaultError(fault: CloudFault, what: string): TributaryError {
  const sdk = (name: string, message: string, status?: number, code?: string) =>
    Object.assign(new Error(message), {
      name,
      ...(code !== undefined ? { code } : {}),
      ...(status !== undefined ? { statusCode: status, $metadata: { httpStatusCode: status } } : {}),
    });
  switch (fault) {
    case 'throttle':
      return transient(
        `injected: transient error on ${what}: SlowDown (HTTP 503)`,
        sdk('SlowDown', 'Please reduce your request rate.', 503, 'ServerBusy'),
      );
    case 'server':
      return transient(
        `injected: transient error on ${what}: InternalError (HTTP 500)`,
        sdk('InternalError', 'We encountered an internal error. Please try again.', 500, 'InternalError'),
      );
    case 'timeout':
      return transient(
        `injected: transient error on ${what}: TimeoutError`,
        sdk('TimeoutError', 'Connection timed out after 300 ms'),
      );
    case 'reset':
      return transient(
        `injected: transient error on ${what}: ECONNRESET`,
        sdk('Error', 'socket hang up', undefined, 'ECONNRESET'),
      );
  }
}

/** `body`'s first `after` bytes, then `error` (the rest of `body` is not read). */
function brokenAfter(body: Readable, after: number, error: Error): Readable {
  return Readable.from(
    (async function* () {
      let left = after;
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (chunk.length >= left) {
            if (left > 0) yield chunk.subarray(0, left);
            break;
          }
          left -= chunk.length;
          yield chunk;
        }
      } finally {
        body.destroy();
      }
      throw error;
    })(),
    { objectMode: false },
  );
}

/** A deterministic PRNG (mulberry32) so fault schedules are reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
