import { open } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { stallDeadline } from './abort';
import { compareCodePoints } from '../strings';

/** Metadata of one stored object. Keys are relative to the store's root and use '/' separators. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** S3/Azure ETag, GCS generation, or a local inode/mtime fingerprint: changes whenever the object is rewritten. */
  etag: string;
  lastModified: Date;
  /**
   * MD5 of the whole object as lowercase hex, when `head` reports one: S3 single-part unencrypted ETag and
   * GCS md5Hash (computed by the service); Azure Content-MD5 (computed by the service for a single Put Blob;
   * for our putStream, the MD5 of the blocks the service accepted, each checked against its own MD5 on
   * arrival). Absent for local files, S3 multipart or SSE-KMS ETags, Azure blobs written by other tools
   * without Content-MD5, GCS composite objects.
   */
  md5?: string;
  /** CRC32C of the whole object, base64 of the big-endian 4 bytes (GCS's form), when the service reports one. */
  crc32c?: string;
}

/**
 * Where one object lives, for a server-side copy into another store of the same service (`copyFrom`).
 * Internal: never logged or put in a message (it may be derived from a credential's identity).
 */
export interface ObjectLocation {
  kind: 'local' | 's3' | 'azure' | 'gcs';
  /**
   * Equal strings mean one service reached with one identity (same S3 endpoint and access key, same Azure
   * account endpoint, same GCS endpoint, the same machine for local files): a copy between them can run
   * server-side.
   */
  service: string;
  /** Bucket or container ('' for local files). */
  container: string;
  /** Full object name in the container (root prefix included); for local files the real absolute path. */
  name: string;
}

/** Byte range, `end` exclusive; omitted `end` reads to the end of the object. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface GetOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface ListOptions {
  /** Only keys that sort strictly after this one (full key, relative to the root). */
  startAfter?: string;
  signal?: AbortSignal;
}

export interface PutOptions {
  signal?: AbortSignal;
  contentType?: string;
  /**
   * putStream: have the stored object carry an MD5 that `head` reports, at the cost of hashing the body.
   * Only Azure needs it (a block-list blob gets no Content-MD5 from the service): each block is sent with
   * its MD5, which the service checks, and the blob is committed with the MD5 of all of them. S3 and GCS
   * report what they compute (S3 not for multipart uploads); local files never have one.
   */
  md5?: boolean;
}

export interface CopyFromOptions {
  size?: number;
  signal?: AbortSignal;
}

export interface PutResult {
  etag: string;
}

export type Body = Uint8Array | string;

/**
 * The one storage interface every layer above lake/storage uses.
 *
 * Contract (proven by test/storage/contract.test.ts against every backend):
 * - `list` yields every key under `prefix` (a plain string prefix, not a directory) in
 *   lexicographic (UTF-8 byte) order, across all pages.
 * - `putIfAbsent` creates the object atomically or throws TributaryError('ALREADY_EXISTS'); readers never
 *   see a partial object. If a transient failure hid the outcome of an attempt, the store re-reads the
 *   object and treats byte-identical content as its own success.
 * - `delete` of a missing key succeeds.
 * - Errors are TributaryError with code NOT_FOUND, ALREADY_EXISTS, STORAGE_TRANSIENT (already retried
 *   with bounded exponential backoff), AUTH or CONFIG_INVALID; the SDK error is kept as `cause`.
 */
export interface ObjectStore {
  /** Root URL of this store (credentials never included). */
  readonly url: string;
  /** Backend kind, for logs and tests. */
  readonly kind: 'local' | 's3' | 'azure' | 'gcs' | 'memory';

  get(key: string, opts?: GetOptions): Promise<Uint8Array>;
  getStream(key: string, opts?: GetOptions): Promise<Readable>;
  head(key: string): Promise<ObjectMeta>;
  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult>;
  /** Streams a body of unknown length (multipart/block upload); never buffers it whole. */
  putStream(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;
  /**
   * Uploads a local file as one object. Unlike a stream, a file can be read again, so a transient failure
   * retries the whole upload; the local store copies it in the kernel (copy_file_range, or a reflink).
   */
  putFile(key: string, localPath: string, opts?: PutOptions): Promise<PutResult>;
  putIfAbsent(key: string, body: Body, opts?: PutOptions): Promise<PutResult>;
  list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectMeta>;
  delete(key: string): Promise<void>;
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Server-side copy inside this store. */
  copy(srcKey: string, dstKey: string): Promise<void>;
  /** Where `key` lives (see ObjectLocation); throws NOT_FOUND when a local key resolves to nothing. */
  locate?(key: string): Promise<ObjectLocation>;
  /**
   * Copies `srcKey` of `src` to `dstKey` of this store server-side (no bytes through this process) when
   * the service can: same S3 endpoint and credentials (CopyObject, UploadPartCopy above 5 GiB), same Azure
   * account (Copy Blob), same GCS endpoint (objects.rewrite), local to local (a reflink or in-kernel copy).
   * Returns false, having written nothing, when it cannot (another service or identity, a source without
   * `locate`, or the service refusing the source with 401/403); callers then stream. `size` is the source's
   * size when the caller knows it (S3 picks single or multipart copy on it).
   * Use lake/storage/copy.ts `copyObject`, which verifies the result, rather than calling this directly.
   */
  copyFrom?(src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions): Promise<boolean>;
  /** Releases clients/sockets. */
  close(): Promise<void>;
}

/**
 * Re-emits a download body `src` through a PassThrough, so that its errors arrive mapped (`map`) to
 * TributaryErrors and closing the result closes `src`; with `stall`, a body that stops flowing for
 * `stall.ms` fails as transient (stallDeadline).
 */
export function mappedStream(
  src: Readable,
  map: (e: unknown) => Error,
  stall?: { ms: number; what: string },
): Readable {
  const out = new PassThrough();
  src.on('error', (e) => out.destroy(map(e)));
  if (stall) stallDeadline(src, out, stall.ms, stall.what);
  out.once('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(out);
  return out;
}

/**
 * `putFile` for stores that upload a stream: the file is opened first (a missing file fails naming it,
 * before any upload starts), read 1 MiB at a time, and closed whatever the upload's outcome.
 */
export async function putFileAsStream(
  localPath: string,
  putStream: (body: Readable) => Promise<PutResult>,
): Promise<PutResult> {
  const body = (await open(localPath, 'r')).createReadStream({ highWaterMark: 1 << 20 });
  try {
    return await putStream(body);
  } finally {
    body.destroy();
  }
}

/**
 * How long a store waits on a request that gets no answer (or, for streams, no bytes) before it gives up
 * on it and retries (STORAGE_TRANSIENT). The cloud SDKs wait forever by default for S3 and Azure; delta-rs
 * (object_store) gives up after 30 s. Ours is longer, as one request may carry a whole data file.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

export const toBytes = (body: Body): Uint8Array =>
  typeof body === 'string' ? Buffer.from(body, 'utf8') : body;

/** Compare keys as UTF-8 byte strings, the order object stores list in. */
export function compareKeys(a: string, b: string): number {
  // Code-point order is UTF-8 byte order, without the two Buffers per call Buffer.compare needs (a sort
  // of 11,000 log entries made 300,000 of them).
  return compareCodePoints(a, b);
}
