import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { eachLimit } from '../each-limit';
import { TributaryError, alreadyExists, configInvalid, notFound, transient } from '../errors';
import { excerpt } from '../redact';
import { linkedAbort } from './abort';
import { checkKey, checkListPrefix, checkRoot, joinPrefix, stripRoot } from './keys';
import { DEFAULT_REQUEST_TIMEOUT_MS, mappedStream, putFileAsStream, toBytes } from './object-store';
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

export interface S3StoreOptions {
  bucket: string;
  /** Root prefix inside the bucket ('' or 'a/b', no leading/trailing '/'). */
  prefix: string;
  /** Emulator or S3-compatible endpoint; implies path-style addressing unless `forcePathStyle` says otherwise. */
  endpoint?: string;
  /** Defaults to the SDK chain (AWS_REGION, AWS_DEFAULT_REGION, shared config), then 'us-east-1'. */
  region?: string;
  forcePathStyle?: boolean;
  /** Defaults to the SDK credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Idle limit per request (no bytes either way), default DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /**
   * Server-side copies of objects larger than this use UploadPartCopy (CopyObject accepts at most 5 GiB);
   * default MAX_COPY_OBJECT_BYTES. Lower only to exercise the multipart path on small objects.
   */
  multipartCopyAboveBytes?: number;
  /** Part size of a multipart server-side copy, default COPY_PART_BYTES (S3: 5 MiB to 5 GiB per part). */
  copyPartBytes?: number;
}

/** CopyObject's limit: larger objects must be copied part by part. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;
/** 512 MiB parts: a 5 TiB object (S3's maximum) fits in S3's 10,000 parts. */
export const COPY_PART_BYTES = 512 * 1024 ** 2;
const COPY_PART_CONCURRENCY = 4;
/** A single-part, unencrypted (or SSE-S3) ETag is the hex MD5 of the content. */
const MD5_ETAG = /^"?([0-9a-f]{32})"?$/;

/** Multipart settings for putStream: at most PART_SIZE * QUEUE_SIZE bytes are buffered at a time. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
/** DeleteObjects accepts at most 1000 keys per request. */
const DELETE_BATCH = 1000;

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'OperationAborted',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);
const AUTH_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);

interface SdkError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Where an error happened, for the message and for what a 404 means there. */
interface ErrorContext {
  /** Human-readable location, e.g. s3://bucket/root/key. Never contains credentials. */
  what: string;
  /** A 404 here can only mean the bucket is missing (list, put): report CONFIG_INVALID. */
  notFoundIsBucket?: boolean;
  /** The operation is a create-if-absent: 412 and 409 mean another writer got there first. */
  conditional?: boolean;
}

/**
 * Maps an SDK or network error to a TributaryError. Messages name the bucket/key and the S3 error
 * code only; the SDK error (which never carries the secret key) stays as `cause`.
 */
function mapS3Error(e: unknown, bucket: string, ctx: ErrorContext): Error {
  if (e instanceof TributaryError) return e;
  const err = (e ?? {}) as SdkError;
  // A caller's AbortSignal firing is not a storage failure: let it through unchanged.
  if (err.name === 'AbortError') return e as Error;
  const name = err.name ?? err.Code ?? '';
  const status = err.$metadata?.httpStatusCode;
  const label = `${name || err.code || 'error'}${status ? ` (HTTP ${status})` : ''}`;
  if (name === 'NoSuchBucket' || (ctx.notFoundIsBucket && (status === 404 || name === 'NotFound')))
    return configInvalid(
      `S3 bucket ${JSON.stringify(bucket)} does not exist (while accessing ${ctx.what})`,
      e,
    );
  if (name === 'InvalidBucketName')
    return configInvalid(`invalid S3 bucket name ${JSON.stringify(bucket)} (while accessing ${ctx.what})`, e);
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed')
    return configInvalid(
      `S3 bucket ${JSON.stringify(bucket)} is in another region than the client's (${label}; while accessing ${ctx.what})`,
      e,
    );
  // 409 ConditionalRequestConflict: AWS documents it as "a conflicting operation (another conditional
  // write, or a delete) is in progress; retry". It is treated as a lost race here, like 412.
  if (
    ctx.conditional &&
    (status === 412 ||
      name === 'PreconditionFailed' ||
      status === 409 ||
      name === 'ConditionalRequestConflict')
  )
    return alreadyExists(ctx.what, e);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return notFound(ctx.what, e);
  if (status === 401 || status === 403 || AUTH_NAMES.has(name))
    return new TributaryError('AUTH', `S3 denied access to ${ctx.what}: ${label}`, { cause: e });
  if (
    status === 429 ||
    (status !== undefined && status >= 500) ||
    TRANSIENT_NAMES.has(name) ||
    NETWORK_CODES.has(err.code ?? '') ||
    NETWORK_CODES.has(name) ||
    /socket hang up|socket (?:has been )?(?:closed|ended)|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT/i.test(
      err.message ?? '',
    )
  )
    return transient(`transient S3 error on ${ctx.what}: ${label}: ${excerpt(err.message ?? '')}`, e);
  return new TributaryError(
    'INTERNAL',
    `S3 error on ${ctx.what}: ${label}: ${excerpt(err.message ?? String(e))}`,
    {
      cause: e,
    },
  );
}

/** Percent-encodes each '/'-separated segment, the form CopySource needs. */
const encodeKeyPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/**
 * Raw S3 adapter (wrap with withRetries). Uses conditional writes (`If-None-Match: *`) for putIfAbsent,
 * multipart uploads (lib-storage) for putStream and ListObjectsV2 for listings.
 */
export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  /**
   * Same settings but a single attempt, used only for putIfAbsent. If the SDK retried a conditional
   * PUT whose first attempt landed but whose response was lost, the retry would see 412 and we would
   * report ALREADY_EXISTS for a write we actually won. withRetries owns that retry instead: it knows
   * the outcome was hidden and compares the stored bytes with ours.
   */
  private readonly onceClient: S3Client;
  private readonly timeoutMs: number;
  /** Service identity for server-side copies (ObjectLocation.service). */
  private readonly service: string;
  private readonly multipartCopyAbove: number;
  private readonly copyPartBytes: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = checkRoot(opts.prefix, 'S3 store root');
    this.url = formatStoreUrl({ kind: 's3', bucket: this.bucket, prefix: this.prefix });
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.multipartCopyAbove = opts.multipartCopyAboveBytes ?? MAX_COPY_OBJECT_BYTES;
    this.copyPartBytes = opts.copyPartBytes ?? COPY_PART_BYTES;
    // CopyObject reads the source with the destination request's credentials: one endpoint and one access
    // key (or both from the SDK chain) can copy server-side. AWS regions need not match (cross-region copy).
    this.service = `s3|${opts.endpoint ?? 'aws'}|${opts.credentials?.accessKeyId ?? 'sdk-chain'}`;
    const config: S3ClientConfig = {
      region: opts.region ?? regionFromChain,
      forcePathStyle: opts.forcePathStyle ?? opts.endpoint !== undefined,
      ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      // A socket that stays silent this long fails the attempt (TimeoutError: transient) instead of
      // hanging the caller for ever; connecting gets 10 s.
      requestHandler: {
        socketTimeout: this.timeoutMs,
        connectionTimeout: 10_000,
      },
    };
    this.client = new S3Client(config);
    this.onceClient = new S3Client({ ...config, maxAttempts: 1 });
  }

  private full(key: string): string {
    return joinPrefix(this.prefix, checkKey(key));
  }

  private where(key: string): string {
    return `${this.url}/${key}`;
  }

  private fail(e: unknown, ctx: ErrorContext): Error {
    return mapS3Error(e, this.bucket, ctx);
  }

  private static rangeHeader(opts?: GetOptions): string | undefined {
    const r = opts?.range;
    if (!r) return undefined;
    return r.end === undefined ? `bytes=${r.start}-` : `bytes=${r.start}-${r.end - 1}`;
  }

  private static emptyRange(opts?: GetOptions): boolean {
    const r = opts?.range;
    return r !== undefined && r.end !== undefined && r.end <= r.start;
  }

  /** S3 answers 416 when the range starts at or beyond the end; the contract reads that as no bytes. */
  private static isUnsatisfiableRange(e: unknown): boolean {
    const err = e as SdkError;
    return err?.$metadata?.httpStatusCode === 416 || err?.name === 'InvalidRange';
  }

  async get(key: string, opts?: GetOptions): Promise<Uint8Array> {
    const Key = this.full(key);
    if (S3Store.emptyRange(opts)) return new Uint8Array(0);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: S3Store.rangeHeader(opts) }),
        { abortSignal: opts?.signal },
      );
      if (!res.Body) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (opts?.range && S3Store.isUnsatisfiableRange(e)) return new Uint8Array(0);
      throw this.fail(e, { what: this.where(key) });
    }
  }

  async getStream(key: string, opts?: GetOptions): Promise<Readable> {
    const Key = this.full(key);
    if (S3Store.emptyRange(opts)) return Readable.from([]);
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: S3Store.rangeHeader(opts) }),
        { abortSignal: opts?.signal },
      );
      if (!res.Body) return Readable.from([]);
      // The client's socket idle timeout, left on, would also cut off a reader that merely pauses longer
      // than it: once the answer is here, the body's own deadline (stallDeadline) counts only the time the
      // reader waits for bytes.
      const body = res.Body as Readable & Partial<Pick<IncomingMessage, 'socket'>>;
      body.socket?.setTimeout(0);
      return mappedStream(body, (e) => this.fail(e, { what: this.where(key) }), {
        ms: this.timeoutMs,
        what: this.where(key),
      });
    } catch (e) {
      if (opts?.range && S3Store.isUnsatisfiableRange(e)) return Readable.from([]);
      throw this.fail(e, { what: this.where(key) });
    }
  }

  async head(key: string): Promise<ObjectMeta> {
    const Key = this.full(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      // SSE-KMS and SSE-C ETags are not the MD5 of the content (AWS "Checking object integrity").
      const md5 =
        res.ServerSideEncryption?.startsWith('aws:kms') || res.SSECustomerAlgorithm
          ? undefined
          : MD5_ETAG.exec(res.ETag ?? '')?.[1];
      return {
        key,
        size: res.ContentLength ?? 0,
        etag: res.ETag ?? '',
        lastModified: res.LastModified ?? new Date(0),
        ...(md5 !== undefined ? { md5 } : {}),
      };
    } catch (e) {
      throw this.fail(e, { what: this.where(key) });
    }
  }

  async put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    const Key = this.full(key);
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: toBytes(body),
          ContentType: opts?.contentType,
        }),
        { abortSignal: opts?.signal },
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      throw this.fail(e, { what: this.where(key), notFoundIsBucket: true });
    }
  }

  putFile(key: string, localPath: string, opts?: PutOptions): Promise<PutResult> {
    return putFileAsStream(localPath, (body) => this.putStream(key, body, opts));
  }

  async putStream(key: string, body: Readable, opts?: PutOptions): Promise<PutResult> {
    const Key = this.full(key);
    opts?.signal?.throwIfAborted();
    const { controller: abortController, unlink } = linkedAbort(opts?.signal);
    try {
      // Small bodies (< one part) go up as a single PutObject; larger ones as a multipart upload that
      // is aborted on failure (leavePartsOnError: false), so no partial object is ever visible.
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: body, ContentType: opts?.contentType },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
        abortController,
      });
      const res = await upload.done();
      return { etag: res.ETag ?? '' };
    } catch (e) {
      throw this.fail(e, { what: this.where(key), notFoundIsBucket: true });
    } finally {
      unlink();
    }
  }

  async putIfAbsent(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    const Key = this.full(key);
    try {
      const res = await this.onceClient.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: toBytes(body),
          ContentType: opts?.contentType,
          IfNoneMatch: '*',
        }),
        { abortSignal: opts?.signal },
      );
      return { etag: res.ETag ?? '' };
    } catch (e) {
      throw this.fail(e, { what: this.where(key), notFoundIsBucket: true, conditional: true });
    }
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectMeta> {
    const Prefix = joinPrefix(this.prefix, checkListPrefix(prefix));
    let StartAfter = opts?.startAfter === undefined ? undefined : joinPrefix(this.prefix, opts.startAfter);
    let ContinuationToken: string | undefined;
    const what = `${this.url}/${prefix}*`;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix, StartAfter, ContinuationToken }),
          { abortSignal: opts?.signal },
        );
      } catch (e) {
        throw this.fail(e, { what, notFoundIsBucket: true });
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield {
          key: stripRoot(this.prefix, o.Key),
          size: o.Size ?? 0,
          etag: o.ETag ?? '',
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      if (!page.IsTruncated || !page.NextContinuationToken) return;
      ContinuationToken = page.NextContinuationToken;
      // StartAfter only matters on the first request; the token carries the position afterwards.
      StartAfter = undefined;
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.full(key);
    try {
      // S3 answers 204 for a missing key too.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (e) {
      const mapped = this.fail(e, { what: this.where(key) });
      if (mapped instanceof TributaryError && mapped.code === 'NOT_FOUND') return;
      throw mapped;
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.full(k));
    for (let i = 0; i < full.length; i += DELETE_BATCH) {
      const batch = full.slice(i, i + DELETE_BATCH);
      let res;
      try {
        res = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (e) {
        throw this.fail(e, {
          what: `${this.url} (batch delete of ${batch.length} keys)`,
          notFoundIsBucket: true,
        });
      }
      // A 200 response can still report per-key failures; missing keys count as deleted.
      const errors = (res.Errors ?? []).filter((x) => x.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        const first = errors[0]!;
        const rel = first.Key === undefined ? '?' : stripRoot(this.prefix, first.Key);
        // Surface the first failure with S3's code; transient ones (SlowDown, InternalError) are retried.
        const pseudo: SdkError = {
          name: first.Code,
          message: `${errors.length} of ${batch.length} deletes failed: ${first.Message ?? ''}`,
        };
        throw this.fail(Object.assign(new Error(pseudo.message), pseudo, { errors }), {
          what: this.where(rel),
        });
      }
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<void> {
    const src = this.full(srcKey);
    const Key = this.full(dstKey);
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: `${encodeURIComponent(this.bucket)}/${encodeKeyPath(src)}`,
        }),
      );
    } catch (e) {
      // CopyObject's 404 (NoSuchKey) is about the source.
      throw this.fail(e, { what: `${this.where(srcKey)} (copy to ${dstKey})` });
    }
  }

  async locate(key: string): Promise<ObjectLocation> {
    return { kind: 's3', service: this.service, container: this.bucket, name: this.full(key) };
  }

  async copyFrom(src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions): Promise<boolean> {
    const loc = await src.locate?.(srcKey);
    if (!loc || loc.kind !== 's3' || loc.service !== this.service) return false;
    const Key = this.full(dstKey);
    const CopySource = `${encodeURIComponent(loc.container)}/${encodeKeyPath(loc.name)}`;
    const what = `${src.url}/${srcKey} (copy to ${this.where(dstKey)})`;
    try {
      const size = opts?.size ?? (await src.head(srcKey)).size;
      if (size > this.multipartCopyAbove) await this.copyParts(CopySource, Key, size, opts?.signal);
      else
        await this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key, CopySource, ChecksumAlgorithm: 'CRC32' }),
          {
            abortSignal: opts?.signal,
          },
        );
      return true;
    } catch (e) {
      const mapped = this.fail(e, { what });
      // Same endpoint, but this identity may not read the other bucket: the caller streams instead.
      if (mapped instanceof TributaryError && mapped.code === 'AUTH') return false;
      throw mapped;
    }
  }

  /** UploadPartCopy in ranges of copyPartBytes, aborted on failure so no partial object is ever visible. */
  private async copyParts(CopySource: string, Key: string, size: number, signal?: AbortSignal) {
    const Bucket = this.bucket;
    const partBytes = Math.max(this.copyPartBytes, Math.ceil(size / 10_000));
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }), {
      abortSignal: signal,
    });
    const count = Math.ceil(size / partBytes);
    const parts: { PartNumber: number; ETag: string }[] = new Array(count);
    try {
      await eachLimit(
        Array.from({ length: count }, (_, i) => i),
        COPY_PART_CONCURRENCY,
        async (i) => {
          const start = i * partBytes;
          const end = Math.min(size, start + partBytes) - 1;
          const res = await this.client.send(
            new UploadPartCopyCommand({
              Bucket,
              Key,
              UploadId,
              PartNumber: i + 1,
              CopySource,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
            { abortSignal: signal },
          );
          parts[i] = { PartNumber: i + 1, ETag: res.CopyPartResult?.ETag ?? '' };
        },
      );
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
        { abortSignal: signal },
      );
    } catch (e) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }))
        // Best effort: parts of an upload that could not be aborted stay until a lifecycle rule removes them.
        .catch(() => undefined);
      throw e;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.onceClient.destroy();
  }
}

/**
 * The SDK's own region chain (AWS_REGION, AWS_DEFAULT_REGION, shared config/profile), falling back to
 * us-east-1 when none is configured. Resolved once per process, on the first request that needs it.
 */
let chainRegion: Promise<string> | undefined;
function regionFromChain(): Promise<string> {
  chainRegion ??= (async () => {
    const probe = new S3Client({});
    try {
      return (await probe.config.region()) || 'us-east-1';
    } catch {
      return 'us-east-1';
    } finally {
      probe.destroy();
    }
  })();
  return chainRegion;
}
