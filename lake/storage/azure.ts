import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TokenCredential } from '@azure/core-auth';
import {
  BlobServiceClient,
  type BlobClient,
  type ContainerClient,
  StorageSharedKeyCredential,
  type StoragePipelineOptions,
} from '@azure/storage-blob';
import { TributaryError, alreadyExists, configInvalid, notFound, transient } from '../errors';
import { linkedAbort, uploadDeadline, withDeadline } from './abort';
import { checkKey, checkListPrefix, checkRoot, joinPrefix, stripRoot } from './keys';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  compareKeys,
  mappedStream,
  putFileAsStream,
  toBytes,
} from './object-store';
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

export interface AzureStoreOptions {
  account: string;
  container: string;
  /** Root prefix inside the container ('' or 'a/b'); leading/trailing '/' are ignored. */
  prefix: string;
  /** Blob service endpoint; default `https://<account>.blob.core.windows.net`. Emulators: `http://127.0.0.1:PORT/devstoreaccount1`. */
  endpoint?: string;
  accountKey?: string;
  /** Takes precedence over everything else, including `endpoint` (the connection string names its own endpoint). */
  connectionString?: string;
  /** Limit per request (an upload gets 1 s more per MiB), default DEFAULT_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
}

/** The storage emulators' well-known development account. Its key is published by Microsoft and is not a secret. */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const STREAM_BLOCK_BYTES = 8 * 1024 * 1024;
const STREAM_CONCURRENCY = 4;

/** Blob Batch accepts at most 256 sub-requests per batch. */
const BATCH_MAX = 256;
const DELETE_PARALLELISM = 16;
const LIST_PAGE = 1000;
/** Azure's container naming rule (the service answers 400 OutOfRangeInput/InvalidResourceName otherwise). */
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'REQUEST_SEND_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // Azure error codes that come with 5xx/408/429 (listed for body-less responses and batch sub-responses).
  'ServerBusy',
  'OperationTimedOut',
  'InternalError',
  // Content-MD5 we sent did not match what arrived: corruption in transit, worth another attempt.
  'Md5Mismatch',
]);

const statusOf = (e: unknown): number | undefined => {
  const s = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
};

/** Azure's error code: from the x-ms-error-code header (HEAD responses have no body) or the XML body. */
const errorCodeOf = (e: unknown): string | undefined => {
  const d = (e as { details?: { errorCode?: unknown } } | null)?.details?.errorCode;
  if (typeof d === 'string') return d;
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

const isAbort = (e: unknown) => (e as { name?: unknown } | null)?.name === 'AbortError';

/** A URL safe to mention in a message: no query string (SAS), no userinfo. */
function safeUrl(u: string): string {
  try {
    const p = new URL(u);
    return `${p.protocol}//${p.host}${p.pathname}`.replace(/\/+$/, '');
  } catch {
    return '<unparseable URL>';
  }
}

/** Host names whose first label is the storage account (others may be custom domains or private endpoints). */
const AZURE_HOST = /\.blob\.core\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net|cloudapi\.de)$/i;

function endpointAccountCheckable(endpoint: string): boolean {
  try {
    const { hostname } = new URL(endpoint);
    return (
      AZURE_HOST.test(hostname) ||
      hostname === 'localhost' ||
      /^[\d.]+$/.test(hostname) ||
      hostname.startsWith('[')
    );
  } catch {
    return false;
  }
}

function loadDefaultAzureCredential(account: string): TokenCredential {
  let identity: { DefaultAzureCredential: new () => TokenCredential };
  try {
    // Optional dependency, loaded only when no key or connection string is configured.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    identity = require('@azure/identity');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND')
      throw configInvalid(
        `no credentials for Azure storage account "${account}": pass accountKey or connectionString, ` +
          `set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_KEY, or install @azure/identity ` +
          `(npm install @azure/identity) to use DefaultAzureCredential (managed identity, az login, workload identity)`,
        e,
      );
    throw configInvalid('could not load @azure/identity for DefaultAzureCredential', e);
  }
  return new identity.DefaultAzureCredential();
}

/**
 * `body` in blocks of `size` bytes (the last one shorter), each copied into a buffer from `free` (or a new one):
 * the caller hands a block's buffer back to `free` once the service has it, so a stream's memory is the buffers
 * in flight plus the one filling, whenever the garbage collector runs. (Concatenating a fresh 8 MiB buffer per
 * block left each one to a full GC: on a loaded 2-core machine a 200 MiB copy peaked at +290 MiB RSS.)
 */
async function* blocksOf(body: Readable, size: number, free: Buffer[]): AsyncGenerator<Buffer> {
  let block = free.pop() ?? Buffer.allocUnsafeSlow(size);
  let have = 0;
  for await (const chunk of body) {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    for (let at = 0; at < c.length; ) {
      const n = c.copy(block, have, at);
      at += n;
      have += n;
      if (have === size) {
        yield block;
        block = free.pop() ?? Buffer.allocUnsafeSlow(size);
        have = 0;
      }
    }
  }
  if (have) yield block.subarray(0, have);
}

interface Clients {
  /** SDK retries off (maxTries 1): withRetries owns retrying, and putIfAbsent must see the outcome of every attempt. */
  raw: BlobServiceClient;
  /** SDK retries on, for block uploads of putStream (re-staging a block is idempotent; the stream cannot be replayed). */
  streaming: BlobServiceClient;
  /** Where the credential came from, for error messages (never the credential itself). */
  source: string;
}

function makeClients(opts: AzureStoreOptions): Clients {
  const raw: StoragePipelineOptions = {
    retryOptions: { maxTries: 1 },
    userAgentOptions: { userAgentPrefix: 'tributary' },
  };
  const streaming: StoragePipelineOptions = { userAgentOptions: { userAgentPrefix: 'tributary' } };
  const { account } = opts;

  const fromConnectionString = (cs: string, source: string): Clients => {
    let c: Clients;
    try {
      c = {
        raw: BlobServiceClient.fromConnectionString(cs, raw),
        streaming: BlobServiceClient.fromConnectionString(cs, streaming),
        source,
      };
    } catch (e) {
      // The SDK's messages name the malformed part, never the connection string's values.
      throw configInvalid(`invalid Azure storage connection string (${source})`, e);
    }
    if (c.raw.accountName && c.raw.accountName !== account)
      throw configInvalid(
        `the Azure connection string (${source}) is for account "${c.raw.accountName}" but the store names account "${account}"`,
      );
    return c;
  };

  const endpoint = (opts.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, '');
  const withCredential = (cred: StorageSharedKeyCredential | TokenCredential, source: string): Clients => {
    let c: Clients;
    try {
      new URL(endpoint);
      c = {
        raw: new BlobServiceClient(endpoint, cred, raw),
        streaming: new BlobServiceClient(endpoint, cred, streaming),
        source,
      };
    } catch (e) {
      throw configInvalid(`invalid Azure blob endpoint ${safeUrl(endpoint)}`, e);
    }
    if (endpointAccountCheckable(endpoint) && c.raw.accountName && c.raw.accountName !== account)
      throw configInvalid(
        `Azure endpoint ${safeUrl(endpoint)} is for account "${c.raw.accountName}" but the store names account "${account}"`,
      );
    return c;
  };

  if (opts.connectionString) return fromConnectionString(opts.connectionString, 'connectionString option');
  if (opts.accountKey)
    return withCredential(new StorageSharedKeyCredential(account, opts.accountKey), 'accountKey option');
  const envCs = process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (envCs) {
    // An ambient connection string for another account does not apply to this store (think: replicating between
    // two accounts); fall through to the next source instead of failing.
    try {
      return fromConnectionString(envCs, 'AZURE_STORAGE_CONNECTION_STRING');
    } catch (e) {
      if (!(e instanceof TributaryError) || !/ is for account /.test(e.message)) throw e;
    }
  }
  const envKey = process.env.AZURE_STORAGE_KEY;
  const envAccount = process.env.AZURE_STORAGE_ACCOUNT;
  if (envKey && (!envAccount || envAccount === account))
    return withCredential(new StorageSharedKeyCredential(account, envKey), 'AZURE_STORAGE_KEY');
  if (account === DEV_ACCOUNT)
    return withCredential(
      new StorageSharedKeyCredential(account, DEV_ACCOUNT_KEY),
      'emulator development account key',
    );
  return withCredential(loadDefaultAzureCredential(account), 'DefaultAzureCredential');
}

/**
 * Re-sequences a listing that arrives in UTF-16 code-unit order into UTF-8 byte order.
 *
 * Azure (and Azurite) list blobs in UTF-16 code-unit order. That equals UTF-8 byte order except between
 * supplementary-plane characters (surrogate pairs, e.g. emoji: UTF-16 0xD800-0xDFFF, UTF-8 lead byte 0xF0-0xF4) and
 * U+E000-U+FFFF (UTF-16 0xE000-0xFFFF, UTF-8 lead byte 0xEE-0xEF): UTF-16 puts the former first, UTF-8 the latter.
 * A received key X can therefore only be overtaken by a later key that shares X's text up to X's first surrogate
 * and has a character >= U+E000 there. Keys are held back only while the listing is still inside that prefix, so
 * keys without supplementary characters stream through without buffering. If the input is already in UTF-8 order
 * the output is unchanged.
 */
export class Utf8Reorder<T> {
  private readonly pending: { key: string; value: T }[] = [];
  private head = 0;
  private last: string | undefined;

  /** Records the server's position (every listed key, including ones the caller filters out). */
  see(key: string): void {
    this.last = key;
  }

  add(key: string, value: T): void {
    const p = this.pending;
    let lo = this.head;
    let hi = p.length;
    if (hi > lo && compareKeys(p[hi - 1]!.key, key) > 0) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareKeys(p[mid]!.key, key) <= 0) lo = mid + 1;
        else hi = mid;
      }
      p.splice(lo, 0, { key, value });
    } else {
      p.push({ key, value });
    }
  }

  private safe(key: string): boolean {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdfff)
        return this.last === undefined || !this.last.startsWith(key.slice(0, i));
    }
    return true;
  }

  /** Values that can be emitted now, in UTF-8 key order; `done` when the listing has ended. */
  *drain(done = false): Generator<T> {
    const p = this.pending;
    while (this.head < p.length && (done || this.safe(p[this.head]!.key))) {
      const item = p[this.head]!;
      p[this.head++] = undefined as never;
      yield item.value;
    }
    if (this.head === p.length) {
      p.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > p.length) {
      p.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * Azure Blob Storage as an ObjectStore (raw: no retries of its own, wrap with withRetries).
 *
 * - Credentials, first match wins: `connectionString`; `accountKey`; env AZURE_STORAGE_CONNECTION_STRING (if it is
 *   for this account); env AZURE_STORAGE_KEY (if AZURE_STORAGE_ACCOUNT is unset or this account); the emulators'
 *   published development key for account `devstoreaccount1`; DefaultAzureCredential from the optional
 *   `@azure/identity` package.
 * - putIfAbsent is `Put Blob` with `If-None-Match: *`. SDK retries are off for every call except putStream's block
 *   uploads, so an attempt whose outcome was hidden by a transient failure surfaces as STORAGE_TRANSIENT and
 *   withRetries can verify it.
 * - Listing is re-sequenced from Azure's UTF-16 order into UTF-8 byte order (see Utf8Reorder); Azure has no
 *   startAfter, so keys <= startAfter are skipped client-side. HNS directory placeholders are not listed.
 * - copy is an in-account `Copy Blob` (source authorised by the request's own credential, no SAS minted).
 * - Error messages name the store URL, status and Azure error code only: never credentials, SAS or signed URLs.
 */
export class AzureStore implements ObjectStore {
  readonly kind = 'azure' as const;
  readonly url: string;
  private readonly root: string;
  private readonly container: ContainerClient;
  private readonly serviceClient: BlobServiceClient;
  private readonly streamingContainer: ContainerClient;
  private readonly containerName: string;
  private readonly account: string;
  private readonly credentialSource: string;
  private readonly host: string;
  private batchSupported = true;
  /** Deadline per request (withDeadline): the Azure SDK waits for ever for an answer by default. */
  private readonly timeoutMs: number;

  constructor(opts: AzureStoreOptions) {
    if (!opts.account) throw configInvalid('Azure store needs an account name');
    if (!opts.container)
      throw configInvalid(`Azure store for account "${opts.account}" needs a container name`);
    if (!CONTAINER_NAME.test(opts.container) && !['$root', '$logs', '$web'].includes(opts.container))
      throw configInvalid(
        `invalid Azure container name "${opts.container}": 3-63 characters of a-z, 0-9 and single hyphens, ` +
          `starting and ending with a letter or digit`,
      );
    this.account = opts.account;
    this.containerName = opts.container;
    this.root = checkRoot(opts.prefix ?? '', 'Azure store root');
    this.url = formatStoreUrl({
      kind: 'azure',
      account: opts.account,
      container: opts.container,
      prefix: this.root,
    });
    const clients = makeClients(opts);
    this.credentialSource = clients.source;
    this.serviceClient = clients.raw;
    this.container = clients.raw.getContainerClient(opts.container);
    this.streamingContainer = clients.streaming.getContainerClient(opts.container);
    this.host = safeUrl(clients.raw.url);
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  private name(key: string): string {
    return joinPrefix(this.root, checkKey(key));
  }

  private blob(key: string): BlobClient {
    return this.container.getBlobClient(this.name(key));
  }

  private where(key: string): string {
    return `${this.url}/${key}`;
  }

  /**
   * Maps an SDK/network error to a TributaryError (original kept as `cause`). AbortErrors pass through unchanged.
   * Never uses the SDK's message text: some echo request details.
   */
  private fail(
    e: unknown,
    op: string,
    what: string,
    opts: { conditionalCreate?: boolean; signal?: AbortSignal } = {},
  ): Error {
    if (e instanceof TributaryError) return e;
    if (isAbort(e)) {
      // The caller's own cancellation stays an AbortError. The SDK also raises AbortError when the server drops the
      // connection in the middle of a download body (RetriableReadableStream maps the response's 'aborted' event to
      // it, without resuming): that one is transient.
      if (opts.signal?.aborted) return e as Error;
      return transient(`Azure connection dropped during ${op} on ${what} (talking to ${this.host})`, e);
    }
    const conditionalCreate = opts.conditionalCreate ?? false;
    const status = statusOf(e);
    const code = errorCodeOf(e);
    const detail =
      `${status === undefined ? '' : `HTTP ${status} `}${code ?? (e as Error)?.name ?? 'error'}`.trim();
    if (status === 404 && code === 'ContainerNotFound')
      return configInvalid(
        `Azure container "${this.containerName}" does not exist in storage account "${this.account}" (${this.url})`,
        e,
      );
    if (status === 404) return notFound(what, e);
    if (conditionalCreate && (status === 409 || status === 412)) return alreadyExists(what, e);
    if (status === 401 || status === 403)
      return new TributaryError(
        'AUTH',
        `Azure denied ${op} on ${what} (${detail}; credentials from ${this.credentialSource})`,
        { cause: e },
      );
    if (
      (status !== undefined && TRANSIENT_STATUS.has(status)) ||
      (code !== undefined && TRANSIENT_CODES.has(code))
    )
      return transient(
        `transient Azure failure during ${op} on ${what} (${detail}${status === undefined ? ` talking to ${this.host}` : ''})`,
        e,
      );
    if (
      (e as Error)?.name === 'TimeoutError' ||
      (status === undefined &&
        /socket hang up|aborted|premature|received less data than required/i.test(
          String((e as Error)?.message),
        ))
    )
      return transient(
        `transient Azure failure during ${op} on ${what} (${detail} talking to ${this.host})`,
        e,
      );
    if (status === 400 && (code === 'InvalidResourceName' || code === 'InvalidUri'))
      return configInvalid(`Azure rejected the name in ${op} on ${what} (${detail})`, e);
    if (status === 400 && code === 'OutOfRangeInput')
      return new TributaryError('BAD_INPUT', `Azure rejected ${op} on ${what} (${detail})`, { cause: e });
    return new TributaryError('INTERNAL', `Azure ${op} on ${what} failed (${detail})`, { cause: e });
  }

  async get(key: string, opts?: GetOptions): Promise<Uint8Array> {
    const r = opts?.range;
    const blob = this.blob(key);
    if (r && r.end !== undefined && r.end <= r.start) return new Uint8Array(0);
    try {
      return await withDeadline(this.timeoutMs, opts?.signal, async (abortSignal) => {
        const res = await blob.download(r?.start ?? 0, r?.end === undefined ? undefined : r.end - r.start, {
          abortSignal,
        });
        const body = res.readableStreamBody;
        if (!body) return new Uint8Array(0);
        const chunks: Buffer[] = [];
        for await (const c of body as Readable)
          chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
        return Buffer.concat(chunks);
      });
    } catch (e) {
      // 416: the range starts at or beyond the end of an existing blob.
      if (r && statusOf(e) === 416) return new Uint8Array(0);
      throw this.fail(e, 'get', this.where(key), { signal: opts?.signal });
    }
  }

  async getStream(key: string, opts?: GetOptions): Promise<Readable> {
    const r = opts?.range;
    const blob = this.blob(key);
    if (r && r.end !== undefined && r.end <= r.start) return Readable.from([]);
    let src: Readable;
    try {
      // The SDK resumes a broken body from the last byte received (If-Match on the ETag), up to 5 times.
      const res = await blob.download(r?.start ?? 0, r?.end === undefined ? undefined : r.end - r.start, {
        abortSignal: opts?.signal,
        maxRetryRequests: 5,
      });
      if (!res.readableStreamBody) return Readable.from([]);
      src = res.readableStreamBody as Readable;
    } catch (e) {
      if (r && statusOf(e) === 416) return Readable.from([]);
      throw this.fail(e, 'get', this.where(key), { signal: opts?.signal });
    }
    return mappedStream(src, (e) => this.fail(e, 'read', this.where(key), { signal: opts?.signal }), {
      ms: this.timeoutMs,
      what: this.where(key),
    });
  }

  async head(key: string): Promise<ObjectMeta> {
    try {
      const p = await withDeadline(this.timeoutMs, undefined, (abortSignal) =>
        this.blob(key).getProperties({ abortSignal }),
      );
      return {
        key,
        size: p.contentLength ?? 0,
        etag: p.etag ?? '',
        lastModified: p.lastModified ?? new Date(0),
        ...(p.contentMD5 && p.contentMD5.length === 16
          ? { md5: Buffer.from(p.contentMD5).toString('hex') }
          : {}),
      };
    } catch (e) {
      throw this.fail(e, 'head', this.where(key));
    }
  }

  private async upload(
    key: string,
    body: Body,
    opts: PutOptions | undefined,
    ifAbsent: boolean,
  ): Promise<PutResult> {
    const bytes = toBytes(body);
    const client = this.container.getBlockBlobClient(this.name(key));
    try {
      const ms = this.timeoutMs + Math.ceil(bytes.byteLength / (1 << 20)) * 1000;
      const res = await withDeadline(ms, opts?.signal, (abortSignal) =>
        client.upload(bytes, bytes.byteLength, {
          abortSignal,
          blobHTTPHeaders: opts?.contentType ? { blobContentType: opts.contentType } : undefined,
          conditions: ifAbsent ? { ifNoneMatch: '*' } : undefined,
        }),
      );
      return { etag: res.etag ?? '' };
    } catch (e) {
      throw this.fail(e, ifAbsent ? 'putIfAbsent' : 'put', this.where(key), {
        conditionalCreate: ifAbsent,
        signal: opts?.signal,
      });
    }
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
    const client = this.streamingContainer.getBlockBlobClient(this.name(key));
    const up = uploadDeadline(body, this.timeoutMs, this.where(key), opts?.signal);
    // Stages 8 MiB blocks, at most 4 in flight, in buffers it reuses, then commits the block list: never holds
    // the whole body.
    // (The SDK's uploadStream does the same, but does not hand its abort signal to the blocks: a block sent
    // to a service that never answers would wait forever.)
    // With `md5`, each block carries its MD5, which the service checks on arrival (400 Md5Mismatch, transient),
    // and the blob gets the MD5 of all the blocks as its Content-MD5, which Azure does not compute for a block
    // list: head() then reports the MD5 of exactly the bytes the service accepted (azcopy's --put-md5). Off by
    // default: two MD5 passes cost about a third of the upload rate here (bench/storage.ts, 0.93 -> 0.64).
    const whole = opts?.md5 ? createHash('md5') : undefined;
    const prefix = randomUUID();
    const ids: string[] = [];
    const inflight = new Set<Promise<void>>();
    const free: Buffer[] = [];
    let failed: { e: unknown } | undefined;
    try {
      for await (const block of blocksOf(up.body, STREAM_BLOCK_BYTES, free)) {
        const id = Buffer.from(`${prefix}-${String(ids.length).padStart(6, '0')}`).toString('base64');
        ids.push(id);
        whole?.update(block);
        const transactionalContentMD5 = whole ? createHash('md5').update(block).digest() : undefined;
        const p: Promise<void> = client
          .stageBlock(id, block, block.length, { abortSignal: up.signal, transactionalContentMD5 })
          .then(
            () => {
              inflight.delete(p);
              if (block.length === STREAM_BLOCK_BYTES) free.push(block);
            },
            (e: unknown) => {
              inflight.delete(p);
              failed ??= { e };
            },
          );
        inflight.add(p);
        while (inflight.size >= STREAM_CONCURRENCY && !failed) await Promise.race(inflight);
        if (failed) break;
      }
      await Promise.all(inflight);
      if (failed) throw failed.e;
      const res = await client.commitBlockList(ids, {
        abortSignal: up.signal,
        blobHTTPHeaders: {
          ...(whole ? { blobContentMD5: whole.digest() } : {}),
          ...(opts?.contentType ? { blobContentType: opts.contentType } : {}),
        },
      });
      return { etag: res.etag ?? '' };
    } catch (e) {
      const err = up.stalled(e) ?? this.fail(e, 'putStream', this.where(key), { signal: opts?.signal });
      await Promise.all(inflight); // blocks still out end too (the deadline covers them)
      throw err;
    } finally {
      up.done();
    }
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectMeta> {
    const full = joinPrefix(this.root, checkListPrefix(prefix));
    const startAfter = opts?.startAfter;
    const order = new Utf8Reorder<ObjectMeta>();
    // One signal for the whole listing (the SDK takes it once): the caller's, or a page's deadline.
    const { controller: ac, unlink } = linkedAbort(opts?.signal);
    const pages = this.container
      .listBlobsFlat({
        prefix: full === '' ? undefined : full,
        includeMetadata: true,
        abortSignal: ac.signal,
      })
      .byPage({ maxPageSize: LIST_PAGE });
    const iterator = pages[Symbol.asyncIterator]();
    try {
      for (;;) {
        let page;
        const timer = setTimeout(() => ac.abort(), this.timeoutMs);
        try {
          page = await iterator.next();
        } catch (e) {
          throw this.fail(e, 'list', `${this.url}/${prefix}*`, { signal: opts?.signal });
        } finally {
          clearTimeout(timer);
        }
        if (page.done) break;
        for (const item of page.value.segment.blobItems) {
          const key = stripRoot(this.root, item.name);
          order.see(key);
          // Directories of hierarchical-namespace (ADLS Gen2) accounts appear as empty marker blobs.
          if (item.metadata?.hdi_isfolder === 'true') continue;
          if (startAfter !== undefined && compareKeys(key, startAfter) <= 0) continue;
          order.add(key, {
            key,
            size: item.properties.contentLength ?? 0,
            etag: item.properties.etag,
            lastModified: item.properties.lastModified,
          });
        }
        yield* order.drain();
      }
      yield* order.drain(true);
    } finally {
      unlink();
      await iterator.return?.();
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await withDeadline(this.timeoutMs, undefined, (abortSignal) =>
        this.blob(key).deleteIfExists({ deleteSnapshots: 'include', abortSignal }),
      );
    } catch (e) {
      throw this.fail(e, 'delete', this.where(key));
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const unique = [...new Set(keys)];
    for (const k of unique) checkKey(k);
    if (unique.length === 0) return;
    if (unique.length > 1 && this.batchSupported) {
      try {
        for (let i = 0; i < unique.length; i += BATCH_MAX)
          await this.deleteBatch(unique.slice(i, i + BATCH_MAX));
        return;
      } catch (e) {
        // Batch itself refused (e.g. not offered for this account type or SAS scope): delete one by one instead,
        // which also produces the precise error if the cause was not the batch.
        if (!(e instanceof BatchRefused)) throw e;
        if (e.unsupported) this.batchSupported = false;
      }
    }
    let next = 0;
    const worker = async () => {
      while (next < unique.length) await this.delete(unique[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_PARALLELISM, unique.length) }, worker));
  }

  private async deleteBatch(keys: string[]): Promise<void> {
    let res;
    try {
      res = await withDeadline(this.timeoutMs, undefined, (abortSignal) =>
        this.container.getBlobBatchClient().deleteBlobs(
          keys.map((k) => this.blob(k)),
          { deleteSnapshots: 'include', abortSignal },
        ),
      );
    } catch (e) {
      const mapped = this.fail(e, 'deleteMany', `${keys.length} keys under ${this.url}`);
      if (
        mapped instanceof TributaryError &&
        (mapped.code === 'STORAGE_TRANSIENT' ||
          (mapped.code === 'CONFIG_INVALID' && errorCodeOf(e) === 'ContainerNotFound'))
      )
        throw mapped;
      const status = statusOf(e);
      throw new BatchRefused(status === 400 || status === 404 || status === 405 || status === 501, e);
    }
    for (const [i, sub] of res.subResponses.entries()) {
      if (
        sub.status === 202 ||
        sub.status === 200 ||
        (sub.status === 404 && sub.errorCode !== 'ContainerNotFound')
      )
        continue;
      const key = keys[i] ?? '(unknown key)';
      throw this.fail(
        { statusCode: sub.status, details: { errorCode: sub.errorCode } },
        'delete',
        this.where(key),
      );
    }
  }

  async copy(srcKey: string, dstKey: string): Promise<void> {
    await this.copyBlob(this.blob(srcKey), this.where(srcKey), dstKey);
  }

  async locate(key: string): Promise<ObjectLocation> {
    return {
      kind: 'azure',
      service: `azure|${this.host}`,
      container: this.containerName,
      name: this.name(key),
    };
  }

  async copyFrom(src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions): Promise<boolean> {
    const loc = await src.locate?.(srcKey);
    // Copy Blob authorises a source in the same account with the request's own credential; a blob of
    // another account would need a SAS minted for it, which this store does not do.
    if (!loc || loc.kind !== 'azure' || loc.service !== `azure|${this.host}`) return false;
    opts?.signal?.throwIfAborted();
    const source = this.serviceClient.getContainerClient(loc.container).getBlobClient(loc.name);
    try {
      await this.copyBlob(source, `${src.url}/${srcKey}`, dstKey, opts?.signal);
      return true;
    } catch (e) {
      if (e instanceof TributaryError && e.code === 'AUTH') return false;
      throw e;
    }
  }

  private async copyBlob(
    src: BlobClient,
    srcWhat: string,
    dstKey: string,
    signal?: AbortSignal,
  ): Promise<void> {
    const dst = this.blob(dstKey);
    try {
      // In-account Copy Blob: the source is authorised by this request's credential (shared key or Entra ID),
      // so no SAS is minted; the copy is normally complete when the call returns.
      // The deadline covers starting the copy, not waiting for it: a big copy may take longer, server-side.
      const poller = await withDeadline(this.timeoutMs, signal, (abortSignal) =>
        dst.beginCopyFromURL(src.url, { intervalInMs: 250, abortSignal }),
      );
      const res = await poller.pollUntilDone();
      if (res.copyStatus !== undefined && res.copyStatus !== 'success')
        throw transient(`Azure copy ${srcWhat} -> ${this.where(dstKey)} ended with status ${res.copyStatus}`);
    } catch (e) {
      const code = errorCodeOf(e);
      if (statusOf(e) === 404 && code !== 'ContainerNotFound') throw notFound(srcWhat, e);
      // A copy the service reports as failed (the poller throws a plain Error) is worth another attempt.
      if (
        statusOf(e) === undefined &&
        !isAbort(e) &&
        !(e instanceof TributaryError) &&
        /copy failed/i.test(String((e as Error)?.message))
      )
        throw transient(`Azure copy ${srcWhat} -> ${this.where(dstKey)} failed`, e);
      throw this.fail(e, 'copy', `${srcWhat} -> ${this.where(dstKey)}`);
    }
  }

  async close(): Promise<void> {}
}

/** The batch request as a whole was refused; `unsupported` when the service does not offer batches here. */
class BatchRefused extends Error {
  constructor(
    readonly unsupported: boolean,
    cause: unknown,
  ) {
    super('blob batch refused', { cause });
  }
}
