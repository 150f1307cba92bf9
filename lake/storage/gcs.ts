import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CRC32C,
  type File,
  type FileMetadata,
  type GetFilesOptions,
  Storage,
  type StorageOptions,
} from '@google-cloud/storage';
import { TributaryError, alreadyExists, configInvalid, notFound, transient } from '../errors';
import { eachLimit } from '../each-limit';
import { excerpt } from '../redact';
import { stallDeadline, uploadDeadline } from './abort';
import { checkKey, checkListPrefix, checkRoot, joinPrefix, stripRoot } from './keys';
import { DEFAULT_REQUEST_TIMEOUT_MS, putFileAsStream, toBytes } from './object-store';
import type {
  Body,
  CopyFromOptions,
  GetOptions,
  ListOptions,
  ObjectLocation,
  ObjectMeta,
  ObjectStore,
  PutOptions,
  PutResult,
} from './object-store';
import { formatStoreUrl } from './url';

export interface GcsStoreOptions {
  bucket: string;
  /** Root prefix inside the bucket ('' or 'a/b', no leading/trailing '/'). */
  prefix: string;
  /** Emulator endpoint (e.g. fake-gcs-server at http://127.0.0.1:4443): requests are then unauthenticated. */
  endpoint?: string;
  projectId?: string;
  /** Limit per request, default DEFAULT_REQUEST_TIMEOUT_MS (the SDK's own default is 60 s). */
  requestTimeoutMs?: number;
}

/** GCS returns at most 1000 objects per list page; asking for it explicitly makes emulators page too. */
const LIST_PAGE = 1000;
/** Parallel single-object deletes in deleteMany (the JSON API has no multi-object delete). */
const DELETE_CONCURRENCY = 16;

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface GcsLikeError {
  name?: string;
  code?: number | string;
  status?: number;
  response?: { status?: number; statusCode?: number };
  message?: string;
  errors?: { reason?: string; message?: string }[];
}

interface ErrorContext {
  /** Human-readable location, e.g. gs://bucket/root/key. */
  what: string;
  /** A 404 here can only mean the bucket is missing (list, upload): report CONFIG_INVALID. */
  notFoundIsBucket?: boolean;
  /** The operation is a create-if-absent: 412 means another writer got there first. */
  conditional?: boolean;
}

function statusOf(err: GcsLikeError): number | undefined {
  if (typeof err.code === 'number') return err.code;
  if (typeof err.status === 'number') return err.status;
  return err.response?.status ?? err.response?.statusCode;
}

/** Maps a @google-cloud/storage (ApiError, gaxios/teeny-request) or network error to a TributaryError. */
function mapGcsError(e: unknown, bucket: string, ctx: ErrorContext): Error {
  if (e instanceof TributaryError) return e;
  const err = (e ?? {}) as GcsLikeError;
  if (err.name === 'AbortError') return e as Error;
  const status = statusOf(err);
  const code = typeof err.code === 'string' ? err.code : undefined;
  const msg = err.message ?? String(e);
  // The client's message names the request URL (with the endpoint's userinfo and query) and may hold the whole
  // response body: only a bounded, redacted excerpt goes into ours.
  const label = `${status !== undefined ? `HTTP ${status}` : (code ?? 'error')}: ${excerpt(msg)}`;
  if (status === 404 && (ctx.notFoundIsBucket || /bucket does not exist/i.test(msg)))
    return configInvalid(
      `GCS bucket ${JSON.stringify(bucket)} does not exist (while accessing ${ctx.what})`,
      e,
    );
  if (ctx.conditional && status === 412) return alreadyExists(ctx.what, e);
  if (status === 404) return notFound(ctx.what, e);
  if (
    status === 401 ||
    status === 403 ||
    /Could not load the default credentials|invalid_grant|unauthorized_client|Could not refresh access token/i.test(
      msg,
    )
  )
    return new TributaryError('AUTH', `GCS denied access to ${ctx.what}: ${label}`, { cause: e });
  // The client's CRC32C check failed: the bytes were damaged in transit and (for uploads) the client has
  // already deleted the bad object, so trying again is the remedy.
  if (code === 'CONTENT_DOWNLOAD_MISMATCH' || code === 'FILE_NO_UPLOAD')
    return transient(`GCS checksum mismatch on ${ctx.what}: ${label}`, e);
  if (
    status === 408 ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (code !== undefined && NETWORK_CODES.has(code)) ||
    // node-fetch (under the client) when a request outlives the client's `timeout`: no answer in time.
    (e as { type?: string })?.type === 'request-timeout' ||
    /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|premature close|unexpected connection closure/i.test(
      msg,
    )
  )
    return transient(`transient GCS error on ${ctx.what}: ${label}`, e);
  return new TributaryError('INTERNAL', `GCS error on ${ctx.what}: ${label}`, { cause: e });
}

const crc32cOf = (bytes: Uint8Array): string => {
  const c = new CRC32C();
  c.update(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return c.toString();
};

const isRangeNotSatisfiable = (e: unknown) => statusOf((e ?? {}) as GcsLikeError) === 416;

const metaOf = (key: string, m: FileMetadata): ObjectMeta => ({
  key,
  size: Number(m.size ?? 0),
  etag: String(m.generation ?? ''),
  lastModified: new Date(String(m.updated ?? m.timeCreated ?? 0)),
  // Composite objects have a crc32c but no md5Hash.
  ...(typeof m.md5Hash === 'string' && m.md5Hash !== ''
    ? { md5: Buffer.from(m.md5Hash, 'base64').toString('hex') }
    : {}),
  ...(typeof m.crc32c === 'string' && m.crc32c !== '' ? { crc32c: m.crc32c } : {}),
});

/**
 * Raw GCS adapter (wrap with withRetries), on the JSON API via @google-cloud/storage.
 *
 * - etag is the object generation: it changes on every rewrite.
 * - putIfAbsent is a multipart (non-resumable) upload with `ifGenerationMatch=0`.
 * - put/putIfAbsent send the body's CRC32C in the object metadata, so GCS itself rejects a body that was
 *   corrupted on the way before the object exists; the client-side check is turned off for these two
 *   because on a mismatch it *deletes the object unconditionally* afterwards, which for a
 *   create-if-absent could remove a commit that other writers already saw as taken. We still compare the
 *   CRC32C the server reports with ours. (fake-gcs-server 1.54.0 ignores a supplied crc32c and stores the
 *   one it computes, so there only the comparison is exercised.)
 * - putStream keeps the client's streaming CRC32C validation (the hash is only known at the end); it
 *   passes on fake-gcs-server, which returns the crc32c of what it stored.
 */
export class GcsStore implements ObjectStore {
  readonly kind = 'gcs' as const;
  readonly url: string;
  readonly bucketName: string;
  readonly prefix: string;
  private readonly storage: Storage;
  private readonly timeoutMs: number;
  /** Service identity for server-side copies (ObjectLocation.service): one endpoint, one credential chain. */
  private readonly service: string;

  constructor(opts: GcsStoreOptions) {
    this.bucketName = opts.bucket;
    this.prefix = checkRoot(opts.prefix, 'GCS store root');
    this.url = formatStoreUrl({ kind: 'gcs', bucket: this.bucketName, prefix: this.prefix });
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.service = `gcs|${opts.endpoint ?? 'google'}`;
    const options: StorageOptions = {
      // SDK-internal retries are off; withRetries (retry.ts) is the one retry layer. Two reasons:
      // - left on, every idempotent call that keeps failing spends ~15 s in the SDK (3 retries at
      //   2^n s + jitter) before withRetries even sees it, and withRetries multiplies that by its attempts;
      // - in 7.19.0 `autoRetry` is shared mutable state: File#delete/copy switch it off on the Storage
      //   instance while they run and restore a value captured when the File was created, so concurrent
      //   deletes (deleteMany) leave it switched off for good. Setting it explicitly makes behaviour
      //   deterministic. putIfAbsent must not be retried inside the SDK in any case (see `upload`).
      retryOptions: { autoRetry: false },
      timeout: this.timeoutMs,
    };
    if (opts.projectId !== undefined) options.projectId = opts.projectId;
    if (opts.endpoint !== undefined) {
      // A custom apiEndpoint makes the client skip authentication (useAuthWithCustomEndpoint defaults
      // to false), which is what fake-gcs-server expects. The JSON API lives under /storage/v1 and
      // uploads under /upload/storage/v1 of that endpoint.
      options.apiEndpoint = opts.endpoint;
      options.useAuthWithCustomEndpoint = false;
      options.projectId ??= 'test';
    }
    this.storage = new Storage(options);
  }

  private file(key: string): File {
    return this.storage.bucket(this.bucketName).file(joinPrefix(this.prefix, checkKey(key)));
  }

  private where(key: string): string {
    return `${this.url}/${key}`;
  }

  private fail(e: unknown, ctx: ErrorContext): Error {
    return mapGcsError(e, this.bucketName, ctx);
  }

  /**
   * Opens a download and waits for the response status, so that NOT_FOUND and friends are thrown here
   * rather than from the first read. Ranges that start at or past the end read as empty.
   */
  private async openRead(key: string, opts?: GetOptions): Promise<Readable> {
    const r = opts?.range;
    if (r && r.end !== undefined && r.end <= r.start) return Readable.from([]);
    opts?.signal?.throwIfAborted();
    const file = this.file(key);
    // GCS ranges are inclusive. Ranged reads are not hash-validated (the stored hash covers the whole object).
    const src = file.createReadStream(
      r ? { start: r.start, ...(r.end !== undefined ? { end: r.end - 1 } : {}) } : {},
    );
    const what = this.where(key);
    const out = new PassThrough();
    // One 'error' listener for the stream's whole life: before the response it fails the open, afterwards
    // it fails the returned stream (with a mapped error), so there is no window without a listener.
    let opened = false;
    let failOpen: (e: unknown) => void = () => {};
    src.on('error', (e) => (opened ? out.destroy(this.fail(e, { what })) : failOpen(e)));
    out.on('close', () => {
      if (!src.destroyed) src.destroy();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          src.off('response', onResponse);
          opts?.signal?.removeEventListener('abort', onAbort);
        };
        const onResponse = (res: { statusCode?: number }) => {
          // On an error status the client destroys the stream with an ApiError right after.
          if (res.statusCode !== undefined && res.statusCode < 300) {
            opened = true;
            cleanup();
            resolve();
          }
        };
        failOpen = (e) => {
          cleanup();
          reject(e);
        };
        const onAbort = () => {
          cleanup();
          src.destroy();
          reject(opts?.signal?.reason);
        };
        src.on('response', onResponse);
        opts?.signal?.addEventListener('abort', onAbort, { once: true });
        // The request starts on the first read.
        src.read(0);
      });
    } catch (e) {
      out.destroy();
      // 416: the range starts at or past the end. (fake-gcs-server 1.54.0 then closes the keep-alive
      // connection without saying so; the next request on it fails with ECONNRESET, i.e. transient.)
      if (r && isRangeNotSatisfiable(e)) return Readable.from([]);
      throw this.fail(e, { what });
    }
    if (opts?.signal) {
      const signal = opts.signal;
      const onAbort = () => out.destroy(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      out.on('close', () => signal.removeEventListener('abort', onAbort));
    }
    // The client's timeout covers the request, not a body that stops flowing half way.
    stallDeadline(src, out, this.timeoutMs, what);
    src.pipe(out);
    return out;
  }

  async get(key: string, opts?: GetOptions): Promise<Uint8Array> {
    const stream = await this.openRead(key, opts);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  getStream(key: string, opts?: GetOptions): Promise<Readable> {
    return this.openRead(key, opts);
  }

  async head(key: string): Promise<ObjectMeta> {
    try {
      const [m] = await this.file(key).getMetadata();
      return metaOf(key, m);
    } catch (e) {
      throw this.fail(e, { what: this.where(key) });
    }
  }

  /**
   * One multipart upload, without the retry loop of `File.save` (which would retry a conditional
   * upload whose first attempt may have landed, then report the 412 as a lost race).
   */
  private async upload(
    key: string,
    body: Body,
    opts: PutOptions | undefined,
    conditional: boolean,
  ): Promise<PutResult> {
    const bytes = toBytes(body);
    const crc32c = crc32cOf(bytes);
    const file = this.file(key);
    const what = this.where(key);
    opts?.signal?.throwIfAborted();
    const ws = file.createWriteStream({
      resumable: false,
      validation: false,
      metadata: { crc32c, ...(opts?.contentType ? { contentType: opts.contentType } : {}) },
      ...(conditional ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
    });
    try {
      await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), ws, {
        signal: opts?.signal,
      });
    } catch (e) {
      throw this.fail(e, { what, notFoundIsBucket: true, conditional });
    }
    const m = file.metadata;
    if (m.crc32c !== undefined && m.crc32c !== crc32c) {
      throw new TributaryError(
        'INTERNAL',
        `GCS stored ${what} with CRC32C ${m.crc32c}, but the uploaded body has ${crc32c} (generation ${String(m.generation)})`,
      );
    }
    return { etag: String(m.generation ?? '') };
  }

  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    return this.upload(key, body, opts, false);
  }

  putIfAbsent(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    return this.upload(key, body, opts, true);
  }

  putFile(key: string, localPath: string, opts?: PutOptions): Promise<PutResult> {
    return putFileAsStream(localPath, (body) => this.putStream(key, body, opts));
  }

  async putStream(key: string, body: Readable, opts?: PutOptions): Promise<PutResult> {
    const file = this.file(key);
    const ws: Writable = file.createWriteStream({
      // Resumable: the body goes up as one streamed PUT to an upload session and never sits in memory.
      resumable: true,
      validation: 'crc32c',
      ...(opts?.contentType ? { metadata: { contentType: opts.contentType } } : {}),
    });
    // The client sets no deadline on a resumable upload's requests: ours is on the body's progress.
    const up = uploadDeadline(body, this.timeoutMs, this.where(key), opts?.signal);
    try {
      await pipeline(up.body, ws, { signal: up.signal });
    } catch (e) {
      throw up.stalled(e) ?? this.fail(e, { what: this.where(key), notFoundIsBucket: true });
    } finally {
      up.done();
    }
    return { etag: String(file.metadata.generation ?? '') };
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectMeta> {
    const bucket = this.storage.bucket(this.bucketName);
    const fullPrefix = joinPrefix(this.prefix, checkListPrefix(prefix));
    const after = opts?.startAfter === undefined ? undefined : joinPrefix(this.prefix, opts.startAfter);
    // startOffset is inclusive: the key equal to `after` is skipped below.
    let query: GetFilesOptions | null = {
      prefix: fullPrefix,
      autoPaginate: false,
      maxResults: LIST_PAGE,
      ...(after !== undefined ? { startOffset: after } : {}),
    };
    const what = `${this.url}/${prefix}*`;
    while (query) {
      opts?.signal?.throwIfAborted();
      let files: File[];
      let next: GetFilesOptions | null;
      try {
        [files, next] = (await bucket.getFiles(query)) as unknown as [File[], GetFilesOptions | null];
      } catch (e) {
        throw this.fail(e, { what, notFoundIsBucket: true });
      }
      for (const f of files) {
        if (after !== undefined && Buffer.compare(Buffer.from(f.name), Buffer.from(after)) <= 0) continue;
        yield metaOf(stripRoot(this.prefix, f.name), f.metadata);
      }
      query = next && next.pageToken ? { ...next, autoPaginate: false } : null;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.file(key).delete({ ignoreNotFound: true });
    } catch (e) {
      const mapped = this.fail(e, { what: this.where(key) });
      if (mapped instanceof TributaryError && mapped.code === 'NOT_FOUND') return;
      throw mapped;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) checkKey(k);
    await eachLimit(keys, DELETE_CONCURRENCY, (k) => this.delete(k));
  }

  async locate(key: string): Promise<ObjectLocation> {
    return { kind: 'gcs', service: this.service, container: this.bucketName, name: this.file(key).name };
  }

  async copyFrom(src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions): Promise<boolean> {
    const loc = await src.locate?.(srcKey);
    if (!loc || loc.kind !== 'gcs' || loc.service !== this.service) return false;
    opts?.signal?.throwIfAborted();
    try {
      // objects.rewrite, looping over rewrite tokens for large objects or copies across locations.
      await this.storage.bucket(loc.container).file(loc.name).copy(this.file(dstKey));
      return true;
    } catch (e) {
      const mapped = this.fail(e, { what: `${src.url}/${srcKey} (copy to ${this.where(dstKey)})` });
      // Same endpoint, but this identity may not read the other bucket: the caller streams instead.
      if (mapped instanceof TributaryError && mapped.code === 'AUTH') return false;
      throw mapped;
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<void> {
    const dst = this.file(dstKey);
    try {
      // objects.rewrite under the hood; the client loops over rewrite tokens for large objects.
      await this.file(srcKey).copy(dst);
    } catch (e) {
      throw this.fail(e, { what: `${this.where(srcKey)} (copy to ${dstKey})` });
    }
  }

  async close(): Promise<void> {
    // The client holds no sockets beyond the shared keep-alive agent, which closes idle sockets itself.
  }
}
