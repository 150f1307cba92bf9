/**
 * The ObjectStore contract, run unchanged against every backend: local files, S3 (moto), Azure Blob
 * (Azurite) and GCS (fake-gcs-server). A backend whose emulator is not running fails here with the
 * reason; nothing is skipped.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isTributaryError } from '../../lake/errors';
import { copyObject } from '../../lake/storage/copy';
import type { ObjectStore } from '../../lake/storage/object-store';
import { compareKeys } from '../../lake/storage/object-store';
import { ALL_BACKENDS, type BackendKind, openTestStore } from '../harness/stores';

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const m of it) out.push(m.key);
  return out;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isTributaryError(e) ? e.code : `no TributaryError: ${String(e)}`).toBe(code);
}

/** Deterministic pseudo-random bytes (xorshift32), produced chunk by chunk so no side holds them whole. */
function* pseudoRandomChunks(total: number, chunk = 1 << 20, seed = 0x9e3779b9): Generator<Buffer> {
  let x = seed >>> 0;
  for (let done = 0; done < total; done += chunk) {
    const n = Math.min(chunk, total - done);
    const buf = Buffer.allocUnsafe(n + ((4 - (n % 4)) % 4));
    for (let i = 0; i < buf.length; i += 4) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      buf.writeUInt32LE(x, i);
    }
    yield buf.subarray(0, n);
  }
}

async function sha256OfStream(r: Readable): Promise<{ hash: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of r) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { hash: h.digest('hex'), size };
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<unknown>,
): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

describe.each(ALL_BACKENDS.map((b) => [b]))('storage contract: %s', (kind: BackendKind) => {
  let store: ObjectStore & { cleanup: () => Promise<void> };

  beforeAll(async () => {
    store = await openTestStore(kind, 'root/prefix');
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  test('empty and binary objects round-trip; head reports size and etag', async () => {
    await store.put('rt/empty', new Uint8Array(0));
    expect((await store.get('rt/empty')).length).toBe(0);
    const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    await store.put('rt/binary', all);
    expect(Buffer.from(await store.get('rt/binary')).equals(Buffer.from(all))).toBe(true);
    const h = await store.head('rt/binary');
    expect(h.size).toBe(512);
    expect(h.etag.length).toBeGreaterThan(0);
    expect(h.lastModified.getTime()).toBeGreaterThan(Date.now() - 3600_000);
    await store.put('rt/binary', 'replaced');
    expect(text(await store.get('rt/binary'))).toBe('replaced');
    expect((await store.head('rt/binary')).etag).not.toBe(h.etag);
  });

  test('ranged reads', async () => {
    await store.put('range/obj', '0123456789');
    expect(text(await store.get('range/obj', { range: { start: 2, end: 5 } }))).toBe('234');
    expect(text(await store.get('range/obj', { range: { start: 7 } }))).toBe('789');
    expect(text(await store.get('range/obj', { range: { start: 0, end: 1 } }))).toBe('0');
    const s = await store.getStream('range/obj', { range: { start: 4, end: 8 } });
    expect((await sha256OfStream(s)).size).toBe(4);
  });

  test('missing objects: NOT_FOUND on get/head/getStream; delete is idempotent', async () => {
    await expectCode(store.get('missing/x'), 'NOT_FOUND');
    await expectCode(store.head('missing/x'), 'NOT_FOUND');
    await expectCode(
      store.getStream('missing/x').then((s) => sha256OfStream(s)),
      'NOT_FOUND',
    );
    await store.delete('missing/x');
    await store.put('del/a', 'a');
    await store.put('del/b', 'b');
    await store.deleteMany(['del/a', 'del/b', 'del/never']);
    await store.delete('del/a');
    expect(await collect(store.list('del/'))).toEqual([]);
  });

  test('keys with spaces, unicode, =, %, + (Delta partition paths) round-trip exactly', async () => {
    const keys = [
      'odd/date=2024-01-01/part-0 with space.parquet',
      'odd/name=a%2Fb/x+y.json',
      'odd/ünïcödé/日本語/ключ.txt',
      'odd/p=%25%3D%2B/a=b=c',
      'odd/plus+/100%/tilde~!',
    ];
    for (const k of keys) await store.put(k, k);
    for (const k of keys) expect(text(await store.get(k))).toBe(k);
    expect(await collect(store.list('odd/'))).toEqual([...keys].sort(compareKeys));
  });

  test('listing over more than one page, by prefix and startAfter, in byte order', async () => {
    const keys = Array.from({ length: 1105 }, (_, i) => `many/k${String(i).padStart(5, '0')}`);
    await mapLimit(keys, 32, (k) => store.put(k, ''));
    await store.put('many-sibling', 'not under many/');
    await store.put('manyx/other', 'not under many/');
    const listed = await collect(store.list('many/'));
    expect(listed).toEqual(keys);
    const after = await collect(store.list('many/', { startAfter: 'many/k00999' }));
    expect(after).toEqual(keys.slice(1000));
    const all = await collect(store.list('many'));
    expect(all.length).toBe(1107);
    expect([...all].sort(compareKeys)).toEqual(all);
  });

  test('server-side copy and cross-store copy', async () => {
    await store.put('copy/src', 'payload');
    await store.copy('copy/src', 'copy/dst');
    expect(text(await store.get('copy/dst'))).toBe('payload');
    const other = await openTestStore(kind === 'local' ? 's3' : 'local');
    try {
      await copyObject(store, 'copy/src', other, 'in/other');
      expect(text(await other.get('in/other'))).toBe('payload');
      await other.put('back', 'from-other');
      await copyObject(other, 'back', store, 'copy/back');
      expect(text(await store.get('copy/back'))).toBe('from-other');
    } finally {
      await other.cleanup();
    }
  });

  test('putIfAbsent: second writer gets ALREADY_EXISTS and the first content stays', async () => {
    await store.putIfAbsent('pia/once', 'first');
    await expectCode(store.putIfAbsent('pia/once', 'second'), 'ALREADY_EXISTS');
    expect(text(await store.get('pia/once'))).toBe('first');
  });

  test('putIfAbsent race: 20 rounds of 8 concurrent writers, exactly one winner per round', async () => {
    for (let round = 0; round < 20; round++) {
      const key = `race/${round}.json`;
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, w) =>
          store.putIfAbsent(key, `writer-${w}-round-${round}`).then(
            () => ({ w, won: true as const }),
            (e: unknown) => ({ w, won: false as const, code: isTributaryError(e) ? e.code : String(e) }),
          ),
        ),
      );
      const winners = outcomes.filter((o) => o.won);
      expect(winners.length).toBe(1);
      for (const o of outcomes) if (!o.won) expect(o.code).toBe('ALREADY_EXISTS');
      expect(text(await store.get(key))).toBe(`writer-${winners[0]!.w}-round-${round}`);
    }
  });

  test('putFile uploads a local file whole and replaces an object; a missing local file fails and creates nothing; an empty stream makes an empty object', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'putfile-'));
    try {
      const file = path.join(dir, 'part.parquet');
      const bytes = Buffer.concat([...pseudoRandomChunks(3 * 1024 * 1024 + 17)]);
      writeFileSync(file, bytes);
      await store.put('file/dst', 'old');
      await store.putFile('file/dst', file);
      expect(Buffer.from(await store.get('file/dst')).equals(bytes)).toBe(true);
      expect((await store.head('file/dst')).size).toBe(bytes.length);
      await expect(store.putFile('file/none', path.join(dir, 'missing'))).rejects.toThrow(/missing/);
      await expectCode(store.head('file/none'), 'NOT_FOUND');
      await store.putStream('file/empty', Readable.from([]));
      expect((await store.get('file/empty')).length).toBe(0);
      expect(await collect(store.list('file/'))).toEqual(['file/dst', 'file/empty']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('200 MB object streams up and down without holding it in memory', async () => {
    const size = 200 * 1024 * 1024;
    const expected = createHash('sha256');
    for (const c of pseudoRandomChunks(size)) expected.update(c);
    await store.putStream('big/200mb.bin', Readable.from(pseudoRandomChunks(size)));
    expect((await store.head('big/200mb.bin')).size).toBe(size);
    const got = await sha256OfStream(await store.getStream('big/200mb.bin'));
    expect(got.size).toBe(size);
    expect(got.hash).toBe(expected.digest('hex'));
    const tail = await store.get('big/200mb.bin', { range: { start: size - 10 } });
    expect(tail.length).toBe(10);
    await store.delete('big/200mb.bin');
  }, 300_000);
});
