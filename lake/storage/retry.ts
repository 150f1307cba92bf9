import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError, isTributaryError } from '../errors';
import { compareKeys, toBytes } from './object-store';
import type {
  Body,
  CopyFromOptions,
  ListOptions,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
} from './object-store';

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 100, maxDelayMs: 5_000 };

/** "Full jitter" exponential backoff: uniform in [0, min(max, initial * 2^attempt)]. */
export const backoffDelay = (policy: RetryPolicy, attempt: number): number =>
  Math.random() * Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** attempt);

/** Runs `fn`, retrying TributaryErrors marked STORAGE_TRANSIENT with bounded backoff. */
export async function retryTransient<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isTributaryError(e, 'STORAGE_TRANSIENT') || attempt + 1 >= policy.maxAttempts) throw e;
      signal?.throwIfAborted();
      await sleep(backoffDelay(policy, attempt), undefined, signal ? { signal } : undefined);
    }
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * Decorates a raw adapter with bounded retries of transient failures.
 *
 * - `list` resumes after the last key it yielded, so a failure on page 7 does not restart the listing.
 * - `putIfAbsent`: when an attempt failed transiently, its write may still have landed. If a later
 *   attempt then sees ALREADY_EXISTS, the stored bytes are compared with ours: identical means the
 *   earlier attempt won, anything else is a real lost race.
 * - `putStream` and `getStream` are not retried once bytes have flowed (the SDKs retry parts); `putFile`
 *   is retried whole (the file can be read again).
 */
export function withRetries(inner: ObjectStore, policy: RetryPolicy = DEFAULT_RETRY): ObjectStore {
  const r = <T>(fn: () => Promise<T>, signal?: AbortSignal) => retryTransient(fn, policy, signal);
  return {
    url: inner.url,
    kind: inner.kind,
    get: (key, opts) => r(() => inner.get(key, opts), opts?.signal),
    getStream: (key, opts) => r(() => inner.getStream(key, opts), opts?.signal),
    head: (key) => r(() => inner.head(key)),
    put: (key, body, opts) => r(() => inner.put(key, body, opts), opts?.signal),
    putStream: (key, body, opts) => inner.putStream(key, body, opts),
    putFile: (key, file, opts) => r(() => inner.putFile(key, file, opts), opts?.signal),
    putIfAbsent: (key, body, opts) => putIfAbsentVerified(inner, key, body, opts, policy),
    list: (prefix, opts) => listResuming(inner, prefix, opts, policy),
    delete: (key) => r(() => inner.delete(key)),
    deleteMany: (keys) => r(() => inner.deleteMany(keys)),
    copy: (src, dst) => r(() => inner.copy(src, dst)),
    ...(inner.locate ? { locate: (key: string) => r(() => inner.locate!(key)) } : {}),
    ...(inner.copyFrom
      ? {
          copyFrom: (src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions) =>
            r(() => inner.copyFrom!(src, srcKey, dstKey, opts), opts?.signal),
        }
      : {}),
    close: () => inner.close(),
  };
}

async function putIfAbsentVerified(
  inner: ObjectStore,
  key: string,
  body: Body,
  opts: PutOptions | undefined,
  policy: RetryPolicy,
): Promise<PutResult> {
  let outcomeUnknown = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await inner.putIfAbsent(key, body, opts);
    } catch (e) {
      if (isTributaryError(e, 'ALREADY_EXISTS') && outcomeUnknown) {
        const stored = await retryTransient(() => inner.get(key), policy);
        if (sameBytes(stored, toBytes(body))) return { etag: (await inner.head(key)).etag };
      }
      if (!isTributaryError(e, 'STORAGE_TRANSIENT') || attempt + 1 >= policy.maxAttempts) throw e;
      outcomeUnknown = true;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}

async function* listResuming(
  inner: ObjectStore,
  prefix: string,
  opts: ListOptions | undefined,
  policy: RetryPolicy,
): AsyncIterable<ObjectMeta> {
  let after = opts?.startAfter;
  for (let attempt = 0; ; ) {
    try {
      for await (const m of inner.list(prefix, { ...opts, startAfter: after })) {
        if (after !== undefined && compareKeys(m.key, after) <= 0) continue;
        after = m.key;
        attempt = 0;
        yield m;
      }
      return;
    } catch (e) {
      if (!(e instanceof TributaryError) || e.code !== 'STORAGE_TRANSIENT' || ++attempt >= policy.maxAttempts)
        throw e;
      await sleep(backoffDelay(policy, attempt));
    }
  }
}
