import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { TributaryError } from '../errors';
import { LocalStore } from '../storage/local';
import {
  DV_MAGIC_NATIVE,
  DV_MAGIC_PORTABLE,
  crc32,
  crc32Portable,
  decodeInlineDeletionVector,
  decodeRoaringBitmapArray,
  dvRelativePath,
  dvStoreKey,
  dvUniqueId,
  loadDeletionVector,
  parseDeletionVectorDescriptor,
  parseDeletionVectorFile,
  z85Decode,
  z85DecodeUuid,
  z85Encode,
} from './deletion-vectors';
import type { DeletionVectorDescriptor } from './deletion-vectors';

const TABLES = '/work/shared/delta-conformance/tables';

/** Runs `fn` and returns the TributaryError it throws (failing the test if it throws something else or nothing). */
async function errorOf(fn: () => unknown): Promise<TributaryError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof TributaryError) return e;
    throw e;
  }
  throw new Error('expected a TributaryError, nothing was thrown');
}

// ---------------------------------------------------------------------------------------------------------
// A test-only RoaringBitmapArray encoder (portable format), written from RoaringFormatSpec, so the decoder
// can be driven through every container kind and header variant.
// ---------------------------------------------------------------------------------------------------------

type Mode = 'norun' | 'auto';

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}

function runsOf(vals: number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const v of vals) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === v) last[1]++;
    else runs.push([v, 1]);
  }
  return runs;
}

/** Serializes a 32-bit Roaring bitmap of sorted unique values in [0, 2^32). */
function roaring32(values: number[], mode: Mode): Buffer {
  const groups = new Map<number, number[]>();
  for (const v of values) {
    const key = Math.floor(v / 65536);
    const g = groups.get(key) ?? [];
    g.push(v % 65536);
    groups.set(key, g);
  }
  const keys = [...groups.keys()].sort((a, b) => a - b);
  const bodies: Buffer[] = [];
  const isRun: boolean[] = [];
  for (const key of keys) {
    const vals = groups.get(key) as number[];
    const runs = runsOf(vals);
    const runBytes = 2 + runs.length * 4;
    const plainBytes = vals.length <= 4096 ? vals.length * 2 : 8192;
    if (mode === 'auto' && runBytes < plainBytes) {
      bodies.push(Buffer.concat([u16(runs.length), ...runs.flatMap(([s, n]) => [u16(s), u16(n - 1)])]));
      isRun.push(true);
    } else if (vals.length <= 4096) {
      bodies.push(Buffer.concat(vals.map(u16)));
      isRun.push(false);
    } else {
      const bits = Buffer.alloc(8192);
      for (const v of vals) bits[v >> 3] = (bits[v >> 3] as number) | (1 << (v & 7));
      bodies.push(bits);
      isRun.push(false);
    }
  }
  const n = keys.length;
  const anyRun = isRun.some(Boolean);
  const head: Buffer[] = [];
  if (anyRun) {
    head.push(u32(12347 + (n - 1) * 65536));
    const flags = Buffer.alloc(Math.ceil(n / 8));
    isRun.forEach((r, i) => {
      if (r) flags[i >> 3] = (flags[i >> 3] as number) | (1 << (i & 7));
    });
    head.push(flags);
  } else {
    head.push(u32(12346), u32(n));
  }
  for (const k of keys) head.push(u16(k), u16((groups.get(k) as number[]).length - 1));
  if (!anyRun || n >= 4) {
    let at = Buffer.concat(head).length + n * 4;
    for (const b of bodies) {
      head.push(u32(at));
      at += b.length;
    }
  }
  return Buffer.concat([...head, ...bodies]);
}

/** Serializes a RoaringBitmapArray (magic + portable 64-bit format) of sorted unique row indexes. */
function roaringBitmapArray(rows: number[], mode: Mode = 'auto'): Buffer {
  const buckets = new Map<number, number[]>();
  for (const r of rows) {
    const high = Math.floor(r / 2 ** 32);
    const b = buckets.get(high) ?? [];
    b.push(r % 2 ** 32);
    buckets.set(high, b);
  }
  const highs = [...buckets.keys()].sort((a, b) => a - b);
  const parts = [u32(DV_MAGIC_PORTABLE), u32(highs.length), u32(0)];
  for (const h of highs) parts.push(u32(h), roaring32(buckets.get(h) as number[], mode));
  return Buffer.concat(parts);
}

/** A DV file: version byte 1, then at `offset` each record: BE size, bitmap, BE CRC-32 (zlib's, independently). */
function dvFile(bitmap: Buffer, offset = 1): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(bitmap.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(bitmap));
  const pad = Buffer.alloc(offset - 1, 0xee);
  return Buffer.concat([Buffer.from([1]), pad, size, bitmap, crc]);
}

const inlineDv = (bitmap: Buffer, cardinality: number): DeletionVectorDescriptor => ({
  storageType: 'i',
  pathOrInlineDv: z85Encode(bitmap),
  sizeInBytes: bitmap.length,
  cardinality,
});

// ---------------------------------------------------------------------------------------------------------
// Conformance tables: every add (and remove) with a deletion vector in every table's JSON log.
// ---------------------------------------------------------------------------------------------------------

interface LoggedDv {
  table: string;
  version: number;
  kind: 'add' | 'remove';
  path: string;
  numRecords?: number;
  dv: DeletionVectorDescriptor;
}

function loggedDvs(): LoggedDv[] {
  const out: LoggedDv[] = [];
  for (const table of readdirSync(TABLES).sort()) {
    let files: string[];
    try {
      files = readdirSync(path.join(TABLES, table, '_delta_log'));
    } catch {
      continue;
    }
    for (const f of files.filter((x) => /^\d{20}\.json$/.test(x)).sort()) {
      const lines = readFileSync(path.join(TABLES, table, '_delta_log', f), 'utf8').split('\n');
      for (const line of lines) {
        if (!line.trim()) continue;
        const action = JSON.parse(line) as Record<string, Record<string, unknown> | undefined>;
        for (const kind of ['add', 'remove'] as const) {
          const a = action[kind];
          if (!a || a['deletionVector'] == null) continue;
          const stats =
            typeof a['stats'] === 'string' ? (JSON.parse(a['stats']) as { numRecords?: number }) : {};
          out.push({
            table,
            version: Number(f.slice(0, 20)),
            kind,
            path: a['path'] as string,
            numRecords: stats.numRecords,
            dv: parseDeletionVectorDescriptor(a['deletionVector'], `${table} v${f.slice(0, 20)} ${kind}`),
          });
        }
      }
    }
  }
  return out;
}

const LOGGED = loggedDvs();
const ADDS = LOGGED.filter((x) => x.kind === 'add');

describe('deletion vectors of the conformance tables', () => {
  it('finds the DV tables (and none in table-without-dv-small)', () => {
    expect([...new Set(LOGGED.map((x) => x.table))].sort()).toEqual([
      'dv-partitioned-with-checkpoint',
      'log-replay-dv-key-cases',
    ]);
    expect(ADDS.length).toBe(13);
    expect(LOGGED.some((x) => x.table === 'table-without-dv-small')).toBe(false);
  });

  it.each(ADDS.map((x) => [`${x.table} v${x.version} ${x.path} ${dvUniqueId(x.dv)}`, x] as const))(
    'add %s decodes to `cardinality` sorted, unique rows below numRecords',
    async (_name, x) => {
      const store = new LocalStore(path.join(TABLES, x.table));
      const rows = await loadDeletionVector(store, store.url, x.dv);
      const arr = rows.toSortedArray();
      expect(rows.size).toBe(x.dv.cardinality);
      expect(arr.length).toBe(x.dv.cardinality);
      expect(x.numRecords).toBeGreaterThan(0);
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i] as number;
        expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
        expect(v).toBeLessThan(x.numRecords as number);
        if (i > 0) expect(v).toBeGreaterThan(arr[i - 1] as number);
        expect(rows.has(v)).toBe(true);
      }
      for (let r = 0; r < (x.numRecords as number); r++) expect(rows.has(r)).toBe(arr.includes(r));
      // The file named by the UUID exists in the table directory.
      const rel = dvRelativePath(x.dv) as string;
      expect(readdirSync(path.join(TABLES, x.table))).toContain(rel);
    },
  );

  it.each(
    LOGGED.filter((x) => x.kind === 'remove').map(
      (x) => [`${x.table} v${x.version} ${dvUniqueId(x.dv)}`, x] as const,
    ),
  )('remove %s still decodes to its cardinality', async (_name, x) => {
    const store = new LocalStore(path.join(TABLES, x.table));
    expect((await loadDeletionVector(store, store.url, x.dv)).size).toBe(x.dv.cardinality);
  });

  // Pinned rows. Cross-checked outside this suite: reading the data file with DuckDB and dropping these
  // row positions yields exactly expected/log-replay-dv-key-cases.jsonl (47 of 50 rows).
  it('pins the rows of log-replay-dv-key-cases', async () => {
    const store = new LocalStore(path.join(TABLES, 'log-replay-dv-key-cases'));
    const byVersion = async (v: number) => {
      const x = ADDS.find((a) => a.table === 'log-replay-dv-key-cases' && a.version === v) as LoggedDv;
      return (await loadDeletionVector(store, store.url, x.dv)).toSortedArray();
    };
    expect(await byVersion(1)).toEqual([0]);
    expect(await byVersion(2)).toEqual([0, 7]);
    expect(await byVersion(3)).toEqual([0, 7, 14]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Z85 and paths
// ---------------------------------------------------------------------------------------------------------

describe('Z85', () => {
  it('decodes and encodes the ZeroMQ RFC 32 test vector', () => {
    const bytes = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(Array.from(z85Decode('HelloWorld'))).toEqual(Array.from(bytes));
    expect(z85Encode(bytes)).toBe('HelloWorld');
  });

  it('pads unaligned input with zeros on encode', () => {
    const enc = z85Encode(Uint8Array.from([1, 2, 3, 4, 5]));
    expect(enc).toHaveLength(10);
    expect(Array.from(z85Decode(enc))).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
  });

  it('round-trips arbitrary aligned bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const bytes = raw.subarray(0, raw.length - (raw.length % 4));
        expect(Array.from(z85Decode(z85Encode(bytes)))).toEqual(Array.from(bytes));
      }),
    );
  });

  it('rejects bad length, bad characters and 32-bit overflow with INVALID_LOG', async () => {
    expect((await errorOf(() => z85Decode('Hello!'))).message).toMatch(/multiple of 5 characters, got 6/);
    const bad = await errorOf(() => z85Decode('Hel"o'));
    expect(bad.code).toBe('INVALID_LOG');
    expect(bad.message).toMatch(/invalid Z85 character "\\"" at position 3/);
    expect((await errorOf(() => z85Decode('#####'))).message).toMatch(/exceeds 32 bits/);
  });

  it('decodes UUIDs: PROTOCOL.md example 1 and delta-kernel-rs vectors', () => {
    expect(z85DecodeUuid('^-aqEH.-t@S}K{vb[*k^')).toBe('d2c639aa-8816-431a-aaf6-d3fe2512ff61');
    expect(z85DecodeUuid('rsTVZ&*Sl-RXRWjryu/!')).toBe('550e8400-e29b-41d4-a716-446655440000');
    expect(z85DecodeUuid('5<w-%>:JjlQ/G/]6C<1m')).toBe('123e4567-e89b-12d3-a456-426614174000');
  });
});

describe('DV paths and ids', () => {
  const u = (pathOrInlineDv: string, offset?: number): DeletionVectorDescriptor => ({
    storageType: 'u',
    pathOrInlineDv,
    sizeInBytes: 40,
    cardinality: 6,
    ...(offset === undefined ? {} : { offset }),
  });

  it('derives the relative path with and without a random prefix (PROTOCOL.md "Derived Fields")', () => {
    expect(dvRelativePath(u('ab^-aqEH.-t@S}K{vb[*k^', 4))).toBe(
      'ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin',
    );
    expect(dvRelativePath(u('dvrsTVZ&*Sl-RXRWjryu/!'))).toBe(
      'dv/deletion_vector_550e8400-e29b-41d4-a716-446655440000.bin',
    );
    expect(dvRelativePath(u('vBn[lx{q8@P<9BNH/isA', 1))).toBe(
      'deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin',
    );
    expect(
      dvRelativePath({ storageType: 'i', pathOrInlineDv: 'x', sizeInBytes: 1, cardinality: 1 }),
    ).toBeUndefined();
  });

  it('rejects a u path shorter than a UUID', async () => {
    const e = await errorOf(() => dvRelativePath(u('tooShort')));
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toMatch(/shorter than a 20-character Z85 UUID/);
  });

  it('builds uniqueId with @offset only when an offset is present', () => {
    expect(dvUniqueId(u('ab^-aqEH.-t@S}K{vb[*k^', 4))).toBe('uab^-aqEH.-t@S}K{vb[*k^@4');
    expect(dvUniqueId(u('ab^-aqEH.-t@S}K{vb[*k^'))).toBe('uab^-aqEH.-t@S}K{vb[*k^');
    expect(dvUniqueId(u('ab^-aqEH.-t@S}K{vb[*k^', 0))).toBe('uab^-aqEH.-t@S}K{vb[*k^@0');
  });

  it('resolves p paths inside the table root to store keys, and refuses others', async () => {
    const p = (pathOrInlineDv: string): DeletionVectorDescriptor => ({
      ...u(''),
      storageType: 'p',
      pathOrInlineDv,
    });
    const file = 'deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin';
    expect(dvRelativePath(p(`s3://mytable/${file}`))).toBe(`s3://mytable/${file}`);
    expect(dvStoreKey(p(`s3://mytable/${file}`), 's3://mytable/')).toBe(file);
    expect(dvStoreKey(p(`s3://bucket/t/dv/${file}`), 's3://bucket/t')).toBe(`dv/${file}`);
    expect(dvStoreKey(p(`file:///tmp/my%20table/a%3Db/${file}`), 'file:///tmp/my table/')).toBe(
      `a=b/${file}`,
    );
    expect(dvStoreKey(p(`/tmp/tbl/${file}`), 'file:///tmp/tbl')).toBe(file);

    for (const [dvPath, root] of [
      [`s3://other/${file}`, 's3://mytable/'],
      [`s3://mytable2/${file}`, 's3://mytable'],
      [`s3://bucket/tbl2/${file}`, 's3://bucket/tbl'],
      [`gs://mytable/${file}`, 's3://mytable/'],
      [`relative/${file}`, 's3://mytable/'],
    ] as const) {
      const e = await errorOf(() => dvStoreKey(p(dvPath), root));
      expect(e.code).toBe('PROTOCOL_UNSUPPORTED');
      expect(e.message).toContain(dvPath);
      expect(e.message).toContain(`outside the table root ${root}`);
    }
  });

  it('reads a p DV that points into the table root', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dv-p-'));
    try {
      writeFileSync(path.join(dir, 'my dv.bin'), dvFile(roaringBitmapArray([2, 3, 5])));
      const store = new LocalStore(dir);
      const dv: DeletionVectorDescriptor = {
        storageType: 'p',
        pathOrInlineDv: `${store.url}/my%20dv.bin`,
        offset: 1,
        sizeInBytes: roaringBitmapArray([2, 3, 5]).length,
        cardinality: 3,
      };
      expect((await loadDeletionVector(store, store.url, dv)).toSortedArray()).toEqual([2, 3, 5]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseDeletionVectorDescriptor', () => {
  it('accepts JSON and checkpoint shapes (bigint longs, null offset)', () => {
    expect(
      parseDeletionVectorDescriptor(
        {
          storageType: 'u',
          pathOrInlineDv: 'vBn[lx{q8@P<9BNH/isA',
          offset: 1,
          sizeInBytes: 36,
          cardinality: 2,
        },
        'add',
      ),
    ).toEqual({
      storageType: 'u',
      pathOrInlineDv: 'vBn[lx{q8@P<9BNH/isA',
      offset: 1,
      sizeInBytes: 36,
      cardinality: 2,
    });
    expect(
      parseDeletionVectorDescriptor(
        { storageType: 'i', pathOrInlineDv: 'abcde', offset: null, sizeInBytes: 4, cardinality: 2n },
        'add',
      ),
    ).toEqual({ storageType: 'i', pathOrInlineDv: 'abcde', sizeInBytes: 4, cardinality: 2 });
  });

  it('names the action and field it refuses', async () => {
    const e = await errorOf(() =>
      parseDeletionVectorDescriptor(
        { storageType: 'x', pathOrInlineDv: 'a', sizeInBytes: 1, cardinality: 1 },
        'v3 add a.parquet',
      ),
    );
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toBe(
      `v3 add a.parquet: deletionVector.storageType must be one of 'u', 'i', 'p', got "x"`,
    );
    expect(
      (
        await errorOf(() =>
          parseDeletionVectorDescriptor(
            { storageType: 'i', pathOrInlineDv: 'abcde', offset: 1, sizeInBytes: 4, cardinality: 1 },
            'add',
          ),
        )
      ).message,
    ).toMatch(/inline deletionVector must not have an offset/);
    expect(
      (
        await errorOf(() =>
          parseDeletionVectorDescriptor(
            { storageType: 'u', pathOrInlineDv: 'a', sizeInBytes: 4, cardinality: -1 },
            'add',
          ),
        )
      ).message,
    ).toMatch(/cardinality must be a non-negative integer, got -1/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Inline DVs and the bitmap format
// ---------------------------------------------------------------------------------------------------------

describe('inline DVs', () => {
  it('decodes the delta-kernel-rs inline vector (rows 3, 4, 7, 11, 18, 29)', () => {
    const rows = decodeInlineDeletionVector({
      storageType: 'i',
      pathOrInlineDv: '^Bg9^0rr910000000000iXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L',
      sizeInBytes: 44,
      cardinality: 6,
    });
    expect(rows.toSortedArray()).toEqual([3, 4, 7, 11, 18, 29]);
    expect(rows.has(4)).toBe(true);
    expect(rows.has(5)).toBe(false);
  });

  // PROTOCOL.md "JSON Example 3" decodes to a big-endian header (magic 0x6439d3d0) that no reference reader
  // accepts (delta-spark and both kernels read the magic little-endian); we refuse it the same way.
  it('refuses the outdated PROTOCOL.md inline example with an unknown-magic INVALID_LOG', async () => {
    const e = await errorOf(() =>
      decodeInlineDeletionVector({
        storageType: 'i',
        pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L',
        sizeInBytes: 40,
        cardinality: 6,
      }),
    );
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toMatch(/unknown RoaringBitmapArray magic number 3503503716 \(expected 1681511377\)/);
  });

  it('decodes a real table DV re-encoded inline, including an unaligned size', async () => {
    const x = ADDS.find((a) => a.table === 'log-replay-dv-key-cases' && a.version === 3) as LoggedDv;
    const file = readFileSync(path.join(TABLES, x.table, dvRelativePath(x.dv) as string));
    const offset = x.dv.offset ?? 1;
    const bitmap = file.subarray(offset + 4, offset + 4 + x.dv.sizeInBytes);
    expect(bitmap.length % 4).not.toBe(0); // 38 bytes: Z85 padding is exercised
    const dv = inlineDv(bitmap, x.dv.cardinality);
    expect(dv.pathOrInlineDv).toHaveLength(50); // 10 blocks of 5 characters
    expect(decodeInlineDeletionVector(dv).toSortedArray()).toEqual([0, 7, 14]);
    expect((await loadDeletionVector(new LocalStore('/nonexistent'), 'file:///nonexistent', dv)).size).toBe(
      3,
    );
  });

  it('refuses an inline DV whose cardinality differs, naming both numbers', async () => {
    const dv = inlineDv(roaringBitmapArray([1, 2, 3]), 4);
    const e = await errorOf(() => decodeInlineDeletionVector(dv));
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toContain(`inline ${dvUniqueId(dv)}`);
    expect(e.message).toMatch(/cardinality mismatch: the log says 4, the bitmap holds 3 rows/);
  });

  it('refuses sizeInBytes beyond the decoded text', async () => {
    const dv = { ...inlineDv(roaringBitmapArray([1]), 1), sizeInBytes: 1000 };
    expect((await errorOf(() => decodeInlineDeletionVector(dv))).message).toMatch(
      /sizeInBytes 1000 exceeds the \d+ decoded bytes/,
    );
  });
});

describe('RoaringBitmapArray decoding', () => {
  const decode = (b: Buffer) => Array.from(decodeRoaringBitmapArray(b));

  it('handles array, bitmap and run containers with and without offset headers', () => {
    const dense = Array.from({ length: 5000 }, (_, i) => 65536 * 3 + i * 7); // > 4096 values: bitmap container
    const runs = [
      ...Array.from({ length: 3000 }, (_, i) => 10 + i),
      ...Array.from({ length: 100 }, (_, i) => 40000 + i),
    ];
    const sparse = [70000, 70001, 70005];
    for (const mode of ['norun', 'auto'] as const) {
      expect(decode(roaringBitmapArray(sparse, mode))).toEqual(sparse); // 1 container: run cookie, no offsets
      expect(decode(roaringBitmapArray(runs, mode))).toEqual(runs);
      const many = [...runs, ...sparse, ...dense, 65536 * 9]; // >= 4 containers: offset header present
      expect(decode(roaringBitmapArray(many, mode))).toEqual(many);
    }
    const withRuns = roaringBitmapArray(runs, 'auto');
    expect(withRuns.readUInt16LE(16)).toBe(12347); // really the run cookie
  });

  it('spans several 32-bit buckets', () => {
    const rows = [5, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 65536, 3 * 2 ** 32 + 17, 2 ** 52 + 1];
    expect(decode(roaringBitmapArray(rows))).toEqual(rows);
  });

  it('decodes any set of row indexes (property)', () => {
    const rowIndex = fc.oneof(
      fc.integer({ min: 0, max: 200_000 }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 2 ** 32 - 70_000, max: 2 ** 32 + 70_000 }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(rowIndex, { maxLength: 300 }),
        fc.constantFrom<Mode>('norun', 'auto'),
        (raw, mode) => {
          const rows = [...raw].sort((a, b) => a - b);
          const bytes = roaringBitmapArray(rows, mode);
          expect(decode(bytes)).toEqual(rows);
          const dv = inlineDv(bytes, rows.length);
          const got = decodeInlineDeletionVector(dv);
          expect(got.size).toBe(rows.length);
          for (const r of rows.slice(0, 20)) expect(got.has(r)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('decodes a long run and a dense bitmap (property over ranges)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 33 }),
        fc.integer({ min: 1, max: 150_000 }),
        (start, len) => {
          const rows = Array.from({ length: len }, (_, i) => start + i);
          expect(decode(roaringBitmapArray(rows, 'auto'))).toEqual(rows);
        },
      ),
      { numRuns: 20 },
    );
  });

  it("reads delta-spark's native format too", () => {
    const b0 = roaring32([1, 2, 3], 'norun');
    const b1 = roaring32([9], 'auto');
    const bytes = Buffer.concat([u32(DV_MAGIC_NATIVE), u32(2), u32(b0.length), b0, u32(b1.length), b1]);
    expect(decode(bytes)).toEqual([1, 2, 3, 2 ** 32 + 9]);
  });

  it('refuses malformed bitmaps with INVALID_LOG naming the problem', async () => {
    const ok = roaringBitmapArray([1, 2, 3], 'norun');
    const cases: [Buffer, RegExp][] = [
      [Buffer.concat([u32(42), ok.subarray(4)]), /unknown RoaringBitmapArray magic number 42/],
      [ok.subarray(0, ok.length - 1), /truncated bitmap: array container of 3 values needs 6 bytes/],
      [
        Buffer.concat([ok.subarray(0, 16), u32(99999), ok.subarray(20)]),
        /unknown Roaring cookie 99999 in bucket 0/,
      ],
      [
        Buffer.concat([ok.subarray(0, 12), u32(0x80000000), ok.subarray(16)]),
        /bucket key 2147483648 has its most significant bit set/,
      ],
      [
        Buffer.concat([
          u32(DV_MAGIC_PORTABLE),
          u32(2),
          u32(0),
          u32(1),
          roaring32([1], 'norun'),
          u32(0),
          roaring32([1], 'norun'),
        ]),
        /bucket keys not ascending \(0 after 1\)/,
      ],
      [Buffer.concat([ok.subarray(0, 4), u32(1), u32(1)]), /bucket count 4294967297 is out of range/],
    ];
    for (const [bytes, message] of cases) {
      const e = await errorOf(() => decodeRoaringBitmapArray(bytes, 'test.bin'));
      expect(e.code).toBe('INVALID_LOG');
      expect(e.message).toMatch(/^deletion vector test\.bin: /);
      expect(e.message).toMatch(message);
    }
    // A run container whose runs disagree with its header cardinality.
    const run = roaringBitmapArray(
      Array.from({ length: 10 }, (_, i) => 10 + i),
      'auto',
    );
    const runAt = run.length - 4; // last run pair: start, length - 1
    const lying = Buffer.from(run);
    lying.writeUInt16LE(5, runAt + 2);
    expect((await errorOf(() => decodeRoaringBitmapArray(lying))).message).toMatch(
      /run container 0\/0 holds 6 values, its header says 10/,
    );
  });

  it('refuses row indexes beyond 2^53 as PROTOCOL_UNSUPPORTED', async () => {
    const bytes = Buffer.concat([
      u32(DV_MAGIC_PORTABLE),
      u32(1),
      u32(0),
      u32(2 ** 21),
      roaring32([0], 'norun'),
    ]);
    const e = await errorOf(() => decodeRoaringBitmapArray(bytes, 'big.bin'));
    expect(e.code).toBe('PROTOCOL_UNSUPPORTED');
    expect(e.message).toBe(
      'deletion vector big.bin: row indexes from 2097152 * 2^32 exceed 2^53 and cannot be represented exactly',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The DV file format, through a LocalStore on a scratch copy
// ---------------------------------------------------------------------------------------------------------

describe('DV files', () => {
  let dir: string;
  let store: LocalStore;
  const x = () => ADDS.find((a) => a.table === 'log-replay-dv-key-cases' && a.version === 3) as LoggedDv;
  const key = () => dvRelativePath(x().dv) as string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dv-file-'));
    store = new LocalStore(dir);
    copyFileSync(path.join(TABLES, x().table, key()), path.join(dir, key()));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const corrupt = (at: (file: Buffer) => number) => {
    const f = readFileSync(path.join(dir, key()));
    const i = at(f);
    f[i] = (f[i] as number) ^ 0x01;
    writeFileSync(path.join(dir, key()), f);
  };

  it('reads the intact copy', async () => {
    expect((await loadDeletionVector(store, store.url, x().dv)).toSortedArray()).toEqual([0, 7, 14]);
    expect(parseDeletionVectorFile(readFileSync(path.join(dir, key())), x().dv).toSortedArray()).toEqual([
      0, 7, 14,
    ]);
  });

  it('refuses a flipped bitmap byte: checksum mismatch → INVALID_LOG', async () => {
    corrupt((f) => f.length - 6); // inside the last array container value
    const e = await errorOf(() => loadDeletionVector(store, store.url, x().dv));
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toContain(`deletion vector ${key()}@1: checksum mismatch: stored CRC-32 0x`);
  });

  it('refuses a flipped checksum byte → INVALID_LOG', async () => {
    corrupt((f) => f.length - 1);
    const e = await errorOf(() => loadDeletionVector(store, store.url, x().dv));
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toMatch(/checksum mismatch/);
  });

  it('refuses a cardinality that differs from the bitmap, naming the path and both numbers', async () => {
    const e = await errorOf(() => loadDeletionVector(store, store.url, { ...x().dv, cardinality: 5 }));
    expect(e.code).toBe('INVALID_LOG');
    expect(e.message).toBe(
      `deletion vector ${key()}@1: cardinality mismatch: the log says 5, the bitmap holds 3 rows`,
    );
  });

  it('refuses a size that differs from the file, a bad version and a truncated file', async () => {
    expect(
      (await errorOf(() => loadDeletionVector(store, store.url, { ...x().dv, sizeInBytes: 30 }))).message,
    ).toBe(`deletion vector ${key()}@1: size mismatch: the log says 30 bytes, the file says 38`);
    expect(
      (await errorOf(() => loadDeletionVector(store, store.url, { ...x().dv, sizeInBytes: 60 }))).message,
    ).toMatch(/file too short: the DV needs bytes 1\.\.69, only 46 bytes are available from 1/);
    corrupt(() => 0);
    expect((await errorOf(() => loadDeletionVector(store, store.url, x().dv))).message).toMatch(
      /unsupported DV file format version 0 \(expected 1\)/,
    );
  });

  it('maps a missing file to NOT_FOUND naming the DV', async () => {
    rmSync(path.join(dir, key()));
    const e = await errorOf(() => loadDeletionVector(store, store.url, x().dv));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain(
      `deletion vector file ${key()} (${dvUniqueId(x().dv)}) not found under ${store.url}`,
    );
  });

  it('reads several DVs from one file, near and far offsets', async () => {
    const a = roaringBitmapArray([1, 4, 9]);
    const b = roaringBitmapArray(Array.from({ length: 70_000 }, (_, i) => i * 2)); // large: bitmap containers
    const first = dvFile(a);
    const pad = Buffer.alloc(100_000, 0xab); // second DV starts beyond the single-read window
    const size = Buffer.alloc(4);
    size.writeUInt32BE(b.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(b));
    writeFileSync(path.join(dir, 'multi.bin'), Buffer.concat([first, pad, size, b, crc]));
    const p = (offset: number, bm: Buffer, cardinality: number): DeletionVectorDescriptor => ({
      storageType: 'p',
      pathOrInlineDv: `${store.url}/multi.bin`,
      offset,
      sizeInBytes: bm.length,
      cardinality,
    });
    expect((await loadDeletionVector(store, store.url, p(1, a, 3))).toSortedArray()).toEqual([1, 4, 9]);
    const far = await loadDeletionVector(store, store.url, p(first.length + pad.length, b, 70_000));
    expect(far.size).toBe(70_000);
    expect(far.has(139_998)).toBe(true);
    expect(far.has(139_999)).toBe(false);
  });
});

describe('CRC-32', () => {
  it('matches the standard check value and node:zlib', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(crc32Portable(data)).toBe(zlib.crc32(data) >>> 0);
      }),
    );
  });
});
