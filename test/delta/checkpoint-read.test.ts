/**
 * The checkpoint reader's fast path (add rows joined into long strings, lake/engine/checkpoint-io.ts)
 * against the plain reading (every row through DuckDB's to_json): the same actions for awkward values
 * (NULL and '' apart, nulls in maps, numbers up to 2^53, deletion vectors, tags), for fields the protocol
 * does not name (Spark's stats_parsed), and for values holding the separators themselves, where it must
 * fall back. Also: compareKeys is UTF-8 byte order for any strings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { type Action, type AddFile, parseAction } from '../../lake/delta/actions';
import { readActions, writeCheckpoint } from '../../lake/engine/checkpoint-io';
import { sqlString, withConnection } from '../../lake/engine/duckdb';
import { openStore } from '../../lake/storage/open';
import { compareKeys } from '../../lake/storage/object-store';
import type { ObjectStore } from '../../lake/storage/object-store';

let dir: string;
let store: ObjectStore;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cp-read-'));
  store = await openStore(`file://${dir}`);
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The reference: every row through to_json, as the reader did before its fast path. */
async function plain(key: string): Promise<Record<string, unknown>[]> {
  return withConnection(async (c) => {
    const r = await c.runAndReadAll(
      `SELECT to_json(t)::VARCHAR AS j FROM read_parquet(${sqlString(path.join(dir, key))}) t`,
    );
    return r.getRowObjectsJS().map((row) => JSON.parse(row.j as string) as Record<string, unknown>);
  });
}

/** Parsed actions, nulls dropped (JSON null and an absent field mean the same), keys sorted, in a stable order. */
const sorted = (v: unknown): unknown =>
  v === null || typeof v !== 'object' || Array.isArray(v)
    ? v
    : Object.fromEntries(
        Object.entries(v)
          .filter(([, x]) => x !== null && x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, x]) => [k, sorted(x)]),
      );
const canon = (rows: Record<string, unknown>[]) =>
  rows.map((r, i) => JSON.stringify(sorted(parseAction(r, `row ${i}`)))).sort();

const base: Action[] = [
  { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
  {
    metaData: {
      id: 'c5c4a2a8-0000-4000-8000-000000000001',
      format: { provider: 'parquet', options: {} },
      schemaString: '{"type":"struct","fields":[]}',
      partitionColumns: ['p'],
      configuration: { 'delta.appendOnly': 'false' },
      createdTime: 1,
    },
  },
  { txn: { appId: 'egress-eu', version: 7, lastUpdated: 2 } },
];

const add = (over: Partial<AddFile>): Action => ({
  add: {
    path: 'p=a/part-0.parquet',
    partitionValues: { p: 'a' },
    size: 10,
    modificationTime: 1_700_000_000_000,
    dataChange: true,
    ...over,
  },
});

test('awkward values read the same as through to_json, on the fast path', async () => {
  const actions: Action[] = [
    ...base,
    add({ path: 'p=a/f1.parquet', stats: '{"numRecords":3,"minValues":{"s":"a\\u001fb"}}' }),
    add({ path: 'p=a/f2.parquet', stats: '' }),
    add({ path: 'p=a/f3.parquet', partitionValues: { p: null as unknown as string } }),
    add({ path: 'p=a/f4.parquet', partitionValues: {}, size: 2 ** 53 - 1, tags: { k: 'v', e: '' } }),
    add({
      path: 'p=a/f%20space é 𝄞.parquet',
      dataChange: false,
      deletionVector: {
        storageType: 'u',
        pathOrInlineDv: 'ab^-aqEH.-t@S}K{vb[*k^',
        offset: 4,
        sizeInBytes: 40,
        cardinality: 6,
      },
      baseRowId: 5,
      defaultRowCommitVersion: 3,
    }),
    { remove: { path: 'p=a/gone.parquet', deletionTimestamp: 9, dataChange: true } },
  ];
  await writeCheckpoint(store, 'fast.checkpoint.parquet', actions);
  const got = await readActions(store, 'fast.checkpoint.parquet');
  expect(got).toHaveLength(actions.length);
  expect(canon(got)).toEqual(canon(await plain('fast.checkpoint.parquet')));
  // NULL and '' stay apart; the JSON in stats is kept byte for byte.
  const byPath = new Map(got.filter((r) => r.add).map((r) => [(r.add as AddFile).path, r.add as AddFile]));
  expect(byPath.get('p=a/f1.parquet')!.stats).toBe('{"numRecords":3,"minValues":{"s":"a\\u001fb"}}');
  expect(byPath.get('p=a/f2.parquet')!.stats).toBe('');
  expect(byPath.get('p=a/f3.parquet')!.stats).toBeNull();
  expect(byPath.get('p=a/f3.parquet')!.partitionValues).toEqual({ p: null });
  expect(byPath.get('p=a/f4.parquet')!.size).toBe(2 ** 53 - 1);
  expect(byPath.get('p=a/f%20space é 𝄞.parquet')!.deletionVector!.cardinality).toBe(6);
});

test('a value holding a separator falls back to the plain reading, with the same result', async () => {
  const actions: Action[] = [
    ...base,
    add({ path: 'p=a/odd\u001ffield.parquet' }),
    add({ path: 'p=a/odd\u001erecord.parquet', stats: '{"numRecords":1}' }),
    add({ path: 'p=a/odd\u0002mark.parquet' }),
    add({ path: 'p=a/plain.parquet' }),
  ];
  await writeCheckpoint(store, 'odd.checkpoint.parquet', actions);
  const got = await readActions(store, 'odd.checkpoint.parquet');
  expect(canon(got)).toEqual(canon(await plain('odd.checkpoint.parquet')));
  expect(got.map((r) => (r.add as AddFile | undefined)?.path).filter(Boolean)).toEqual(
    expect.arrayContaining(['p=a/odd\u001ffield.parquet', 'p=a/odd\u001erecord.parquet']),
  );
});

test("fields the protocol does not name (Spark's stats_parsed) come through, and many groups of adds", async () => {
  // A checkpoint shaped like Spark's: add has stats_parsed and partitionValues_parsed besides its own.
  const key = 'spark-like.checkpoint.parquet';
  await withConnection((c) =>
    c.run(
      `COPY (SELECT NULL::STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER) AS protocol,
              {'path': 'f' || i || '.parquet', 'partitionValues': MAP {'p': 'x'}, 'size': i::BIGINT,
               'modificationTime': 1::BIGINT, 'dataChange': true, 'stats': NULL::VARCHAR,
               'stats_parsed': {'numRecords': i::BIGINT}, 'partitionValues_parsed': {'p': 'x'}} AS add
            FROM range(10000) r(i)
            UNION ALL SELECT {'minReaderVersion': 1, 'minWriterVersion': 2}, NULL)
       TO ${sqlString(path.join(dir, key))} (FORMAT parquet)`,
    ),
  );
  const got = await readActions(store, key);
  expect(got).toHaveLength(10_001);
  expect(canon(got)).toEqual(canon(await plain(key)));
  const f = got.find((r) => (r.add as AddFile | undefined)?.path === 'f9999.parquet')!.add as Record<
    string,
    unknown
  >;
  expect(f.stats_parsed).toEqual({ numRecords: 9999 });
  expect(f.size).toBe(9999);
});

test('compareKeys is the order of the UTF-8 bytes, for any strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      const want = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      expect(Math.sign(compareKeys(a, b))).toBe(want);
      expect(Math.sign(compareKeys(a + 'x', a + '\u{1F600}'))).toBe(-1);
      expect(Math.sign(compareKeys('\uFFFD', '\u{10000}'))).toBe(-1);
    }),
    { numRuns: 2000 },
  );
});
