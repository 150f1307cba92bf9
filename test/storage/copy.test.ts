/**
 * copyObject over every ordered pair of backends (local, S3 on moto, Azure on Azurite, GCS on
 * fake-gcs-server): server-side exactly where the service can (same backend), streamed otherwise, every
 * copy verified. Corruption is made by real stores wrapped to lose bytes, not by mocks.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { promisify } from 'node:util';
import { isTributaryError } from '../../lake/errors';
import { type CopyResult, copyObject } from '../../lake/storage/copy';
import { withFaults } from '../../lake/storage/faults';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { DEFAULT_RETRY } from '../../lake/storage/retry';
import {
  ALL_BACKENDS,
  AZURITE_KEY,
  type BackendKind,
  emulatorOptions,
  openTestStore,
} from '../harness/stores';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** lake/storage/s3.ts PART_SIZE: a putStream body at least this long goes up as a multipart upload. */
const S3_PART = 8 * MiB;

/** Deterministic bytes, chunk by chunk. */
function* chunks(total: number, seed: number, chunk = MiB): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  for (let done = 0; done < total; done += chunk) {
    const n = Math.min(chunk, total - done);
    const buf = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf[i] = x & 0xff;
    }
    yield buf;
  }
}

const sha256 = (parts: Iterable<Buffer>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

async function digestOf(store: ObjectStore, key: string): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of await store.getStream(key)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  if (!e) throw new Error('expected a failure, got success');
  return e;
}

interface Sample {
  key: string;
  size: number;
  /** put (one request) or putStream (multipart on S3 above S3_PART, a block list on Azure). */
  write: 'put' | 'putStream';
}

const SAMPLES: readonly Sample[] = [
  { key: 'data/empty.bin', size: 0, write: 'put' },
  { key: 'data/one.bin', size: 1, write: 'put' },
  { key: 'data/dir with spaces/ünïcødé – 日本 😀.bin', size: 3000, write: 'put' },
  { key: 'data/few-mb.bin', size: 3 * MiB + 17, write: 'putStream' },
  { key: 'data/multipart.bin', size: 12 * MiB + 5, write: 'putStream' },
];

async function writeSample(store: ObjectStore, s: Sample, seed: number): Promise<string> {
  if (s.write === 'put') await store.put(s.key, Buffer.concat([...chunks(s.size, seed)]));
  else await store.putStream(s.key, Readable.from(chunks(s.size, seed)));
  return sha256(chunks(s.size, seed));
}

/**
 * Whether `head` of an object written this way reports an MD5 (ObjectMeta.md5): S3 ETags of single-part
 * uploads, GCS md5Hash always; Azure for a single Put Blob (the service's Content-MD5) and for putStream with
 * `md5: true` (copyObject's targets: the MD5 of service-checked blocks), not for a plain putStream; local
 * files never.
 */
function reportsMd5(kind: BackendKind, size: number, write: 'put' | 'putStream' | 'copyObject'): boolean {
  switch (kind) {
    case 'local':
      return false;
    case 's3':
      return write === 'put' || size < S3_PART;
    case 'azure':
      return write !== 'putStream';
    case 'gcs':
      return true;
  }
}

/** What copyObject must report for one sample copied from `from` to `to`. */
function expected(
  from: BackendKind,
  to: BackendKind,
  s: Sample,
): Pick<CopyResult, 'serverSide' | 'verified'> {
  if (from === to) {
    // Server-side: the copy keeps the source's checksum where the service has one for it.
    const md5 = reportsMd5(from, s.size, s.write);
    return { serverSide: true, verified: md5 ? 'md5' : 'size' };
  }
  // Streamed: our MD5 against the source's and the target's (written with putStream; a local one is read back).
  const md5 = reportsMd5(from, s.size, s.write) || to === 'local' || reportsMd5(to, s.size, 'copyObject');
  return { serverSide: false, verified: md5 ? 'md5' : 'size' };
}

const PAIRS: [BackendKind, BackendKind][] = ALL_BACKENDS.flatMap((a) =>
  ALL_BACKENDS.map((b): [BackendKind, BackendKind] => [a, b]),
);

/** A second store in the same bucket/container/directory under another prefix. */
async function sibling(store: ObjectStore, kind: BackendKind, prefix: string): Promise<ObjectStore> {
  return openStore(store.url.replace(/\/[^/]+$/, `/${prefix}`), emulatorOptions([kind]));
}

describe.each(PAIRS)('copyObject %s -> %s', (from, to) => {
  let src: ObjectStore & { cleanup: () => Promise<void> };
  let dst: ObjectStore;
  let cleanupDst: () => Promise<void>;
  const hashes = new Map<string, string>();

  beforeAll(async () => {
    src = await openTestStore(from, 'src');
    if (from === to) {
      // Same backend, same bucket, another prefix: the service can copy it.
      dst = await sibling(src, to, 'dst');
      cleanupDst = () => dst.close();
    } else {
      const d = await openTestStore(to, 'dst');
      dst = d;
      cleanupDst = d.cleanup;
    }
    for (const [i, s] of SAMPLES.entries()) hashes.set(s.key, await writeSample(src, s, i + 1));
  }, 120_000);

  afterAll(async () => {
    await cleanupDst?.();
    await src?.cleanup();
  });

  test.each(SAMPLES.map((s) => [s.key, s] as const))('%s: bytes, size, path and check', async (_, s) => {
    const dstKey = `copied/${s.key}`;
    const r = await copyObject(src, s.key, dst, dstKey, { expectedSize: s.size });
    expect({ bytes: r.bytes, serverSide: r.serverSide, verified: r.verified }).toEqual({
      bytes: s.size,
      ...expected(from, to, s),
    });
    expect(r.checked).toContain('size');
    expect((await dst.head(dstKey)).size).toBe(s.size);
    expect(await digestOf(dst, dstKey)).toEqual({ hash: hashes.get(s.key), size: s.size });
  });

  test('a missing source is NOT_FOUND naming its key, without secrets', async () => {
    const e = await errorOf(copyObject(src, 'data/no such file.bin', dst, 'copied/none.bin'));
    expect(isTributaryError(e, 'NOT_FOUND')).toBe(true);
    expect(e.message).toContain(`${src.url}/data/no such file.bin`);
    expect(e.message).not.toContain(AZURITE_KEY);
    expect(e.message).not.toMatch(/secret|testing|sig=/i);
    await expect(dst.head('copied/none.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a source of another size than expected is BAD_INPUT and nothing is written', async () => {
    const e = await errorOf(copyObject(src, 'data/one.bin', dst, 'copied/wrong.bin', { expectedSize: 2 }));
    expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
    expect(e.message).toMatch(/data\/one\.bin is 1 bytes, but the caller expected 2/);
    await expect(dst.head('copied/wrong.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

/** `inner` whose putStream stores `mangle(body)` instead: a real store losing or changing bytes. */
function mangling(inner: ObjectStore, mangle: (chunk: Buffer, offset: number) => Buffer): ObjectStore {
  return {
    ...withMethods(inner),
    copyFrom: undefined, // streamed, so that the bytes go through the mangled putStream
    putStream: (key, body, opts) => {
      let offset = 0;
      const t = new Transform({
        transform(chunk: Buffer, _e, done) {
          const out = mangle(chunk, offset);
          offset += chunk.length;
          done(null, out);
        },
      });
      body.on('error', (e) => t.destroy(e));
      return inner.putStream(key, body.pipe(t), opts);
    },
  };
}

/** A store's methods as own properties bound to it (the adapters are classes; withRetries is a plain object). */
function withMethods(s: ObjectStore): ObjectStore {
  const out: Record<string, unknown> = { url: s.url, kind: s.kind };
  for (const k of [
    'get',
    'getStream',
    'head',
    'put',
    'putStream',
    'putFile',
    'putIfAbsent',
    'list',
    'delete',
    'deleteMany',
    'copy',
    'locate',
    'copyFrom',
    'close',
  ] as const) {
    const f = s[k] as ((...a: unknown[]) => unknown) | undefined;
    if (f) out[k] = f.bind(s);
  }
  return out as unknown as ObjectStore;
}

describe.each(ALL_BACKENDS)('copyObject into %s: bad copies are caught and deleted', (to) => {
  const from: BackendKind = to === 'local' ? 'gcs' : 'local';
  let src: ObjectStore & { cleanup: () => Promise<void> };
  let dst: ObjectStore & { cleanup: () => Promise<void> };
  const size = 2 * MiB + 3;

  beforeAll(async () => {
    src = await openTestStore(from, 'src');
    dst = await openTestStore(to, 'dst');
    await src.putStream('f.bin', Readable.from(chunks(size, 7)));
  }, 120_000);
  afterAll(async () => {
    await dst?.cleanup();
    await src?.cleanup();
  });

  test('a target that loses the last byte fails the copy and is deleted', async () => {
    const short = mangling(dst, (c, off) => (off + c.length === size ? c.subarray(0, c.length - 1) : c));
    const e = await errorOf(copyObject(src, 'f.bin', short, 'bad/short.bin'));
    expect(isTributaryError(e, 'INTERNAL')).toBe(true);
    expect(e.message).toContain(`the target holds ${size - 1} bytes, the source ${size}`);
    expect(e.message).toMatch(/did not verify in 3 attempts.*the target object was deleted/);
    await expect(dst.head('bad/short.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a target that changes one byte is caught by the MD5', async () => {
    const flipped = mangling(dst, (c, off) => {
      if (off > 1000 || off + c.length <= 1000) return c;
      const out = Buffer.from(c);
      out[1000 - off]! ^= 0xff;
      return out;
    });
    const r = copyObject(src, 'f.bin', flipped, 'bad/flipped.bin');
    // Every target reports (or, local, is read back for) the MD5 of what it stored; this one is under 8 MiB,
    // so a single-part upload on S3.
    const e = await errorOf(r);
    expect(isTributaryError(e, 'INTERNAL')).toBe(true);
    expect(e.message).toMatch(
      /md5 of the target [0-9a-f]{32} differs from the [0-9a-f]{32} of the bytes copied/,
    );
    await expect(dst.head('bad/flipped.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a source read that ends early fails the copy and leaves no target', async () => {
    const truncatedSrc: ObjectStore = {
      ...withMethods(src),
      copyFrom: undefined,
      getStream: async (key, o) => {
        const body = await src.getStream(key, o);
        let seen = 0;
        const cut = new Transform({
          transform(chunk: Buffer, _e, done) {
            const keep = Math.max(0, Math.min(chunk.length, size - 10 - seen));
            seen += chunk.length;
            done(null, chunk.subarray(0, keep));
          },
        });
        return body.pipe(cut);
      },
    };
    const e = await errorOf(copyObject(truncatedSrc, 'f.bin', dst, 'bad/early.bin'));
    expect(isTributaryError(e, 'INTERNAL')).toBe(true);
    expect(e.message).toContain(`read ${size - 10} bytes of the source's ${size}`);
    await expect(dst.head('bad/early.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe.each(ALL_BACKENDS)('copyObject within %s', (kind) => {
  let a: ObjectStore & { cleanup: () => Promise<void> };
  let b: ObjectStore & { cleanup: () => Promise<void> };

  beforeAll(async () => {
    a = await openTestStore(kind, 'a');
    b = await openTestStore(kind, 'b'); // another bucket/container/directory of the same service
    await a.put('x/k 1.bin', Buffer.concat([...chunks(5000, 3)]));
  }, 120_000);
  afterAll(async () => {
    await b?.cleanup();
    await a?.cleanup();
  });

  test('the same store, another key: server-side', async () => {
    const r = await copyObject(a, 'x/k 1.bin', a, 'y/k 2.bin');
    expect(r).toMatchObject({ bytes: 5000, serverSide: true });
    expect((await digestOf(a, 'y/k 2.bin')).hash).toBe(sha256(chunks(5000, 3)));
  });

  test('another bucket of the same service: server-side', async () => {
    const r = await copyObject(a, 'x/k 1.bin', b, 'z/k 3.bin');
    expect(r).toMatchObject({
      bytes: 5000,
      serverSide: true,
      verified: reportsMd5(kind, 5000, 'put') ? 'md5' : 'size',
    });
    expect((await digestOf(b, 'z/k 3.bin')).hash).toBe(sha256(chunks(5000, 3)));
  });

  test('an object onto itself is BAD_INPUT', async () => {
    const e = await errorOf(copyObject(a, 'x/k 1.bin', a, 'x/k 1.bin'));
    expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
  });
});

test('S3: a server-side copy above the CopyObject limit goes part by part (UploadPartCopy)', async () => {
  const a = await openTestStore('s3', 'a');
  try {
    // The limit lowered to 6 MiB with 5 MiB parts (S3's minimum), so 12 MiB takes three parts.
    const base = emulatorOptions(['s3']);
    const small = await openStore(a.url.replace(/\/a$/, '/b'), {
      ...base,
      s3: { ...base.s3, multipartCopyAboveBytes: 6 * MiB, copyPartBytes: 5 * MiB },
    });
    const size = 12 * MiB + 1;
    await a.put('big.bin', Buffer.concat([...chunks(size, 11)]));
    const r = await copyObject(a, 'big.bin', small, 'copied.bin');
    expect(r).toMatchObject({ bytes: size, serverSide: true });
    // A multipart ETag is not an MD5: only the size can be compared.
    expect(r.verified).toBe('size');
    expect((await small.head('copied.bin')).etag).toMatch(/-3"?$/);
    expect((await digestOf(small, 'copied.bin')).hash).toBe(sha256(chunks(size, 11)));
    await small.close();
  } finally {
    await a.cleanup();
  }
});

test('200 MiB streamed from S3 to Azure and from GCS to S3 with bounded memory', async () => {
  const size = 200 * MiB;
  const s3 = await openTestStore('s3', 'src');
  const azure = await openTestStore('azure', 'dst');
  const gcs = await openTestStore('gcs', 'src');
  try {
    await s3.putStream('big/200mb.bin', Readable.from(chunks(size, 5)));
    await gcs.putStream('big/200mb.bin', Readable.from(chunks(size, 5)));
    for (const [from, to, check] of [
      // Multipart S3 source (no MD5 ETag); the Azure target reports the MD5 of the blocks it accepted.
      [s3, azure, 'md5:target'],
      // GCS reports md5Hash; the S3 target's ETag is multipart, so the source's MD5 is the one compared.
      [gcs, s3, 'md5:source'],
    ] as const) {
      const dstUrl = `${to.url.replace(/\/[^/]+$/, '')}/rss-${from.kind}`;
      const { stdout } = await run(
        process.execPath,
        [
          '--expose-gc',
          '-r',
          'tsx/cjs',
          path.join(__dirname, 'copy-rss-child.ts'),
          from.url,
          dstUrl,
          'big/200mb.bin',
          String(size),
        ],
        { encoding: 'utf8', env: process.env },
      );
      const m = JSON.parse(stdout) as {
        result: CopyResult;
        ms: number;
        baselineRss: number;
        peakRss: number;
        baselineRetained: number;
        peakRetained: number;
      };
      const growthMiB = (m.peakRss - m.baselineRss) / MiB;
      const heldMiB = (m.peakRetained - m.baselineRetained) / MiB;
      console.log(
        `copyObject 200 MiB ${from.kind} -> ${to.kind}: ${m.ms} ms, held at most +${heldMiB.toFixed(0)} MiB; ` +
          `RSS ${(m.baselineRss / MiB).toFixed(0)} MiB before, peak ${(m.peakRss / MiB).toFixed(0)} MiB ` +
          `(+${growthMiB.toFixed(0)} MiB); checked ${m.result.checked.join(',')}`,
      );
      expect(m.result).toMatchObject({ bytes: size, serverSide: false, verified: 'md5' });
      expect(m.result.checked).toContain(check);
      // Whole in memory would be at least +200 MiB. What the copy keeps alive is the target's parts in flight
      // (Azure: 4 of 8 MiB plus the one filling, in reused buffers; S3: lib-storage's queue of 4 parts of
      // 8 MiB, concatenated fresh) and the SDKs' own buffers.
      expect(heldMiB).toBeLessThan(120);
      // RSS is printed, not bounded: even with the sampler's GCs, when freed memory goes back to the OS is
      // the allocator's business (CI measured +190 MiB with +21 MiB held; without the GCs, +66..+362 MiB).
      // What the code holds is the property, above; see copy-rss-child.ts.
      const copied = await openStore(dstUrl, emulatorOptions());
      expect(await digestOf(copied, 'big/200mb.bin')).toEqual({ hash: sha256(chunks(size, 5)), size });
      await copied.close();
    }
  } finally {
    await gcs.cleanup();
    await azure.cleanup();
    await s3.cleanup();
  }
}, 600_000);

describe('copyObject: transient failures and cancellation', () => {
  let src: ObjectStore & { cleanup: () => Promise<void> };
  let dst: ObjectStore & { cleanup: () => Promise<void> };
  const size = 3 * MiB;

  beforeAll(async () => {
    src = await openTestStore('local', 'src');
    dst = await openTestStore('s3', 'dst');
    await src.putStream('f.bin', Readable.from(chunks(size, 9)));
  }, 120_000);
  afterAll(async () => {
    await dst?.cleanup();
    await src?.cleanup();
  });

  test('a source body that breaks half way is read again and the copy verifies', async () => {
    const flaky = withFaults(src, [{ ops: ['getStream'], failCalls: [1, 2], breakBodyAfterBytes: MiB + 1 }]);
    const r = await copyObject(flaky, 'f.bin', dst, 'retried.bin');
    expect(flaky.stats.injected).toBe(2);
    expect(flaky.stats.calls.getStream).toBe(3);
    expect(r).toMatchObject({ bytes: size, serverSide: false, verified: 'md5' });
    expect(await digestOf(dst, 'retried.bin')).toEqual({ hash: sha256(chunks(size, 9)), size });
  });

  test('a source that keeps failing surfaces as STORAGE_TRANSIENT, with no target', async () => {
    const broken = withFaults(src, [{ ops: ['getStream'], probability: 1, breakBodyAfterBytes: 10 }]);
    const e = await errorOf(copyObject(broken, 'f.bin', dst, 'never.bin'));
    expect(isTributaryError(e, 'STORAGE_TRANSIENT')).toBe(true);
    expect(broken.stats.calls.getStream).toBe(DEFAULT_RETRY.maxAttempts);
    await expect(dst.head('never.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 60_000);

  test('a cancelled copy stops with the signal and leaves no target', async () => {
    const ac = new AbortController();
    const slow = withFaults(src, [{ ops: ['getStream'], latencyMs: 200 }]);
    const p = copyObject(slow, 'f.bin', dst, 'cancelled.bin', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const e = await errorOf(p);
    expect(e.name).toBe('AbortError');
    await expect(dst.head('cancelled.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

test('S3: the same endpoint with another access key streams instead of copying server-side', async () => {
  const a = await openTestStore('s3', 'a');
  try {
    const base = emulatorOptions(['s3']);
    // moto accepts any key pair; for CopyObject the destination's key must be able to read the source.
    const other = await openStore(a.url.replace(/\/a$/, '/b'), {
      ...base,
      s3: { ...base.s3, credentials: { accessKeyId: 'other-key', secretAccessKey: 'other-secret' } },
    });
    await a.put('k.bin', 'payload');
    const r = await copyObject(a, 'k.bin', other, 'k.bin');
    expect(r).toMatchObject({ bytes: 7, serverSide: false, verified: 'md5' });
    expect(r.checked).toEqual(['size', 'md5:source', 'md5:target']);
    expect(Buffer.from(await other.get('k.bin')).toString()).toBe('payload');
    await other.close();
  } finally {
    await a.cleanup();
  }
});
