import { createHash } from 'node:crypto';
import { type Readable, Transform, pipeline } from 'node:stream';
import { TributaryError } from '../errors';
import type { ObjectMeta, ObjectStore } from './object-store';
import { DEFAULT_RETRY, retryTransient } from './retry';

export interface CopyResult {
  /** Size of the copied object. */
  bytes: number;
  /** True when the service copied it (copyFrom) and no byte went through this process. */
  serverSide: boolean;
  /**
   * The strongest check that was compared and passed: 'md5' when an MD5 reported by the source or the
   * target (or both, see `checked`) equals the other side's (streamed: the MD5 of the bytes that went
   * through), else 'crc32c' likewise, else 'size' (the target's size, from head, equals the source's).
   * The size is always compared.
   */
  verified: 'md5' | 'crc32c' | 'size';
  /** Every comparison made, e.g. ['size', 'md5:source', 'md5:target', 'crc32c:target']. */
  checked: readonly string[];
}

export interface CopyOptions {
  /** The size the caller knows the source by (a Delta add's `size`); a source of another size is BAD_INPUT. */
  expectedSize?: number;
  signal?: AbortSignal;
}

/** Fresh copies made when one does not verify (each bad target is deleted before the next). */
const VERIFY_ATTEMPTS = 3;

type Attempt = { ok: true; result: CopyResult } | { ok: false; problem: string };

/**
 * Copies `srcKey` of `src` to `dstKey` of `dst` and verifies the result.
 *
 * - Server-side (`dst.copyFrom`) when the service can: same S3 endpoint and access key, same Azure account,
 *   same GCS endpoint, local to local. The target's size and, where both sides report one, its MD5 or
 *   CRC32C are compared with the source's.
 * - Otherwise streamed with backpressure (never whole in memory: the target's putStream holds at most its
 *   parts in flight), computing the MD5 (and the CRC32C for a source with no MD5) of the bytes on the way;
 *   they are compared with the source's own checksum, when it reports one, and with the target's after the
 *   upload (S3 single-part ETag, GCS md5Hash/crc32c, Azure Content-MD5; a local target is read back and
 *   hashed), and the byte count and the target's size with the source's size. An S3 target above 8 MiB
 *   (multipart ETag) reports no MD5: there only the source's checksum, if any, and the size are compared
 *   (the SDK's per-part checksums, checked by S3, cover the upload itself).
 *
 * A copy that does not verify is deleted and made again, up to 3 times; then it fails with INTERNAL (not
 * retryable), the bad target deleted. Transient failures are retried (a stream restarts from the source)
 * and surface as STORAGE_TRANSIENT. A missing source is NOT_FOUND naming its URL.
 */
export async function copyObject(
  src: ObjectStore,
  srcKey: string,
  dst: ObjectStore,
  dstKey: string,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const what = `${src.url}/${srcKey} -> ${dst.url}/${dstKey}`;
  if (src.url === dst.url && srcKey === dstKey)
    throw new TributaryError('BAD_INPUT', `copy of an object onto itself: ${what}`);
  const { signal } = opts;
  signal?.throwIfAborted();
  let serverSide = dst.copyFrom !== undefined;
  let problem = '';
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    // Read again on every attempt: a source replaced since the last one is compared as it is now.
    const source = await src.head(srcKey);
    if (opts.expectedSize !== undefined && source.size !== opts.expectedSize)
      throw new TributaryError(
        'BAD_INPUT',
        `${src.url}/${srcKey} is ${source.size} bytes, but the caller expected ${opts.expectedSize} ` +
          `(the object was replaced, or the reference to it is wrong)`,
      );
    const r = await retryTransient(
      async (): Promise<Attempt> => {
        if (serverSide && (await dst.copyFrom!(src, srcKey, dstKey, { size: source.size, signal })))
          return compare(source, await dst.head(dstKey), { serverSide: true });
        serverSide = false;
        return streamCopy(src, srcKey, source, dst, dstKey, signal);
      },
      DEFAULT_RETRY,
      signal,
    );
    if (r.ok) return r.result;
    problem = r.problem;
    await dst.delete(dstKey);
    // A server-side copy that does not verify is not repeated: the next attempt streams.
    serverSide = false;
  }
  throw new TributaryError(
    'INTERNAL',
    `copy ${what} did not verify in ${VERIFY_ATTEMPTS} attempts (last: ${problem}); the target object was deleted`,
    { retryable: false },
  );
}

/** What a stream computed while the bytes went through. */
interface Streamed {
  bytes: number;
  md5: string;
  crc32c?: string;
}

/** Compares the target with the source (and, for a stream, with what went through). */
function compare(
  source: ObjectMeta,
  target: ObjectMeta,
  how: { serverSide: true } | { serverSide: false; streamed: Streamed },
  /** 'read back' when the target's MD5 was computed here by reading the target. */
  targetMd5From?: 'read back',
): Attempt {
  const checked = ['size'];
  const problems: string[] = [];
  if (!how.serverSide && how.streamed.bytes !== source.size)
    problems.push(`read ${how.streamed.bytes} bytes of the source's ${source.size}`);
  if (target.size !== source.size)
    problems.push(`the target holds ${target.size} bytes, the source ${source.size}`);
  const check = (algo: 'md5' | 'crc32c') => {
    const sides: [string, string | undefined][] = how.serverSide
      ? [['target', target[algo]]]
      : [
          ['source', source[algo]],
          ['target', target[algo]],
        ];
    // Server-side the reference is the source's own checksum; streamed it is the one of the bytes sent.
    const reference = how.serverSide ? source[algo] : how.streamed[algo];
    if (reference === undefined) return;
    for (const [side, value] of sides) {
      if (value === undefined) continue;
      checked.push(
        side === 'target' && algo === 'md5' && targetMd5From ? 'md5:target-read-back' : `${algo}:${side}`,
      );
      if (value !== reference)
        problems.push(
          how.serverSide
            ? `${algo} of the target ${value} differs from the source's ${reference}`
            : `${algo} of the ${side} ${value} differs from the ${reference} of the bytes copied`,
        );
    }
  };
  check('md5');
  check('crc32c');
  if (problems.length > 0) return { ok: false, problem: problems.join('; ') };
  const verified = checked.some((c) => c.startsWith('md5'))
    ? 'md5'
    : checked.some((c) => c.startsWith('crc32c'))
      ? 'crc32c'
      : 'size';
  return { ok: true, result: { bytes: source.size, serverSide: how.serverSide, verified, checked } };
}

async function streamCopy(
  src: ObjectStore,
  srcKey: string,
  source: ObjectMeta,
  dst: ObjectStore,
  dstKey: string,
  signal: AbortSignal | undefined,
): Promise<Attempt> {
  const md5 = createHash('md5');
  // CRC32C only for a source that has no MD5 (a GCS composite object): the GCS client's CRC32C runs at
  // about 50 MB/s here, MD5 at about 330 MB/s, and a GCS target reports an md5Hash anyway.
  const crc = source.crc32c !== undefined && source.md5 === undefined ? newCrc32c() : undefined;
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      crc?.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const body: Readable = await src.getStream(srcKey, { signal });
  // A source error destroys `meter` with it (the upload then fails with it); a failed upload destroys both.
  pipeline(body, meter, () => {});
  try {
    await dst.putStream(dstKey, meter, { signal, md5: true });
  } finally {
    if (!meter.destroyed) meter.destroy();
  }
  const streamed: Streamed = {
    bytes,
    md5: md5.digest('hex'),
    ...(crc ? { crc32c: crc.toString() } : {}),
  };
  const target = await dst.head(dstKey);
  // A local file reports no checksum, and reading it back costs a disk read, not a transfer: read it.
  if (target.md5 === undefined && dst.kind === 'local' && target.size === source.size)
    return compare(
      source,
      { ...target, md5: await md5Of(dst, dstKey, signal) },
      { serverSide: false, streamed },
      'read back',
    );
  return compare(source, target, { serverSide: false, streamed });
}

async function md5Of(store: ObjectStore, key: string, signal: AbortSignal | undefined): Promise<string> {
  const h = createHash('md5');
  for await (const chunk of await store.getStream(key, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Crc32c {
  update(data: Buffer): void;
  /** Base64 of the big-endian 4 bytes, GCS's form. */
  toString(): string;
}

/** The GCS client's CRC32C, loaded only when a GCS store is on one side (its SDK is then loaded anyway). */
function newCrc32c(): Crc32c {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { CRC32C } = require('@google-cloud/storage') as typeof import('@google-cloud/storage');
  return new CRC32C();
}
