/**
 * Tables Tributary writes: read back by our reader and by delta-rs with identical rows and history.
 */
import { isTributaryError } from '../../lake/errors';
import { LAST_CHECKPOINT_KEY, checkpointKey } from '../../lake/delta/log-path';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { deleteWhere } from '../../lake/table/delete';
import { jsonlRelation } from '../harness/jsonl';
import { openTestStore } from '../harness/stores';
import { deltaRsMeta, deltaRsRows, rowSet } from '../interop/deltars';

const jsonl = jsonlRelation;
const localPath = (s: ObjectStore) => new URL(s.url).pathname;
const ours = async (s: ObjectStore, version?: number) =>
  scanRows(s, await Snapshot.load(s, defaultEngine, { version }));

const AWKWARD = [
  'plain',
  'with space',
  'a=b',
  '100%',
  'slash/inside',
  'ünï 日本',
  'colon:x',
  'plus+sign',
  "quote'd",
  '#hash?',
  null,
];

describe('tables Tributary writes', () => {
  let store: ObjectStore & { cleanup(): Promise<void> };
  beforeEach(async () => {
    store = await openTestStore('local');
  });
  afterEach(async () => store.cleanup());

  test('partitioned appends with awkward partition values: our reader and delta-rs agree', async () => {
    const rows = AWKWARD.map((p, i) => ({
      part: p,
      id: i,
      msg: `row ${i}`,
      ts: `2024-01-0${(i % 9) + 1}T00:00:00.123456Z`,
    }));
    await writeTable(store, { sourceSql: jsonl(rows.slice(0, 6)), partitionBy: ['part'] });
    await writeTable(store, { sourceSql: jsonl(rows.slice(6)) });
    const mine = await ours(store);
    expect(mine).toHaveLength(AWKWARD.length);
    const theirs = await deltaRsRows(localPath(store));
    expect(rowSet(theirs)).toEqual(rowSet(mine));
    const nullRow = mine.find((r) => r.part === null);
    expect(nullRow?.id).toBe('10');
    const meta = await deltaRsMeta(localPath(store));
    expect(meta.version).toBe(1);
    expect(meta.partitionColumns).toEqual(['part']);
    expect(meta.history.map((h) => [h.version, h.operation, h.engineInfo])).toEqual([
      [1, 'WRITE', 'tributary/0.1.0'],
      [0, 'CREATE TABLE AS SELECT', 'tributary/0.1.0'],
    ]);
    expect(meta.history[0]!.isBlindAppend).toBe(true);
  });

  test('overwrite replaces rows; time travel by version and timestamp sees the old ones', async () => {
    await writeTable(store, { sourceSql: jsonl([{ k: 1 }, { k: 2 }]) });
    const t0 = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await writeTable(store, { sourceSql: jsonl([{ k: 3 }]), mode: 'overwrite' });
    expect(rowSet(await ours(store))).toEqual(rowSet([{ k: 3 }]));
    expect(rowSet(await ours(store, 0))).toEqual(rowSet([{ k: 1 }, { k: 2 }]));
    const snapAt = await Snapshot.load(store, defaultEngine, { timestamp: t0 });
    expect(snapAt.version).toBe(0);
    expect(rowSet(await deltaRsRows(localPath(store)))).toEqual(rowSet([{ k: 3 }]));
    expect(rowSet(await deltaRsRows(localPath(store), 'local', 0))).toEqual(rowSet([{ k: 1 }, { k: 2 }]));
    const snap = await Snapshot.load(store, defaultEngine);
    expect(snap.tombstones).toHaveLength(1);
  });

  test('schema evolution: new columns need mergeSchema; then old rows read NULL, also in delta-rs', async () => {
    await writeTable(store, { sourceSql: jsonl([{ a: 1, s: { x: 1 } }]) });
    const refused = await writeTable(store, { sourceSql: jsonl([{ a: 2, b: 'new' }]) }).catch(
      (e: unknown) => e,
    );
    expect(isTributaryError(refused, 'BAD_INPUT') && refused.message).toMatch(
      /column b is not in the table schema/,
    );
    await writeTable(store, {
      sourceSql: jsonl([{ a: 2, b: 'new', s: { x: 2, y: 'nested-new' } }]),
      mergeSchema: true,
    });
    const snap = await Snapshot.load(store, defaultEngine);
    expect(snap.schema.fields.map((f) => f.name)).toEqual(['a', 's', 'b']);
    const mine = await ours(store);
    expect(rowSet(await deltaRsRows(localPath(store)))).toEqual(rowSet(mine));
    expect(mine.find((r) => r.a === '1')?.b).toBeNull();
    const bad = await writeTable(store, { sourceSql: jsonl([{ a: 'not a number' }]) }).catch(
      (e: unknown) => e,
    );
    expect(isTributaryError(bad, 'BAD_INPUT') && bad.message).toMatch(
      /column a: input type string does not fit table type long/,
    );
  });

  test('checkpoint every 10 commits: readable by delta-rs, and replay from it equals full replay', async () => {
    for (let i = 0; i < 12; i++) await writeTable(store, { sourceSql: jsonl([{ i, w: `v${i}` }]) });
    expect((await store.head(checkpointKey(10))).size).toBeGreaterThan(0);
    expect(JSON.parse(Buffer.from(await store.get(LAST_CHECKPOINT_KEY)).toString()).version).toBe(10);
    const snap = await Snapshot.load(store, defaultEngine);
    expect(snap.segment.checkpoint?.version).toBe(10);
    expect(snap.segment.commits.map((c) => c.version)).toEqual([11]);
    const fromCheckpoint = await ours(store);
    expect(fromCheckpoint).toHaveLength(12);
    // Without the checkpoint (full replay of 12 commits) the rows are the same.
    await store.delete(checkpointKey(10));
    await store.delete(LAST_CHECKPOINT_KEY);
    const full = await ours(store);
    expect(rowSet(full)).toEqual(rowSet(fromCheckpoint));
    await writeTable(store, { sourceSql: jsonl([{ i: 12, w: 'v12' }]) }); // 12: no checkpoint
    for (let i = 13; i <= 20; i++) await writeTable(store, { sourceSql: jsonl([{ i, w: `v${i}` }]) });
    expect((await store.head(checkpointKey(20))).size).toBeGreaterThan(0);
    expect(rowSet(await deltaRsRows(localPath(store)))).toEqual(rowSet(await ours(store)));
    expect((await deltaRsMeta(localPath(store))).version).toBe(20);
  });

  test('integers DuckDB widens to HUGEINT (0 then negatives) are stored as long', async () => {
    await writeTable(store, { sourceSql: jsonl([{ neg: 0 }, { neg: -1 }, { neg: -6 }]) });
    await writeTable(store, { sourceSql: jsonl([{ neg: -7 }]) });
    expect((await Snapshot.load(store, defaultEngine)).schema.fields[0]!.type).toBe('long');
    expect(rowSet(await ours(store))).toEqual(rowSet([{ neg: 0 }, { neg: -1 }, { neg: -6 }, { neg: -7 }]));
  });

  test('a struct column named like the row alias: q.x is its field, in reads and deletes', async () => {
    // Both a struct column `q` and a top-level column `x`: `q.x` must mean the field, whatever alias the
    // SQL gives the rows it filters.
    await writeTable(store, {
      sourceSql: jsonl([
        { id: 1, x: 1, q: { x: 2 }, __row: { x: 1 } },
        { id: 2, x: 2, q: { x: 1 }, __row: { x: 2 } },
      ]),
    });
    const { parsePredicate } = await import('../../lake/predicate');
    const snap = await Snapshot.load(store, defaultEngine);
    const read = async (where: string) =>
      (await scanRows(store, snap, { where: parsePredicate(where) })).map((r) => Number(r.id)).sort();
    expect(await read('q.x = 1')).toEqual([2]);
    expect(await read('x = 1')).toEqual([1]);
    expect(await read('__row.x = 2')).toEqual([2]);
    await deleteWhere(store, 'q.x = 1');
    expect((await ours(store)).map((r) => Number(r.id))).toEqual([1]);
  });

  test('txn (appId, version) makes a replayed write a no-op', async () => {
    const a = await writeTable(store, {
      sourceSql: jsonl([{ x: 1 }]),
      txn: { appId: 'ingest-eu', version: 7 },
    });
    const b = await writeTable(store, {
      sourceSql: jsonl([{ x: 1 }]),
      txn: { appId: 'ingest-eu', version: 7 },
    });
    const c = await writeTable(store, {
      sourceSql: jsonl([{ x: 2 }]),
      txn: { appId: 'ingest-eu', version: 8 },
    });
    expect([a.kind, b.kind, c.kind]).toEqual(['committed', 'alreadyCommitted', 'committed']);
    expect(await ours(store)).toHaveLength(2);
    expect((await Snapshot.load(store, defaultEngine)).txnVersion('ingest-eu')).toBe(8);
  });

  test('incremental snapshot update equals a full load (adds, removes, schema change, txn, checkpoint)', async () => {
    await writeTable(store, { sourceSql: jsonl([{ a: 1 }, { a: 2 }]) });
    const v0 = await Snapshot.load(store, defaultEngine);
    for (let i = 0; i < 11; i++)
      await writeTable(store, { sourceSql: jsonl([{ a: 10 + i }]), txn: { appId: 'app', version: i } });
    await writeTable(store, { sourceSql: jsonl([{ a: 99, b: 'x' }]), mergeSchema: true });
    await deleteWhere(store, 'a < 12');
    const updated = await v0.update(store, defaultEngine);
    const full = await Snapshot.load(store, defaultEngine);
    expect(updated.version).toBe(full.version);
    expect(updated.schema).toEqual(full.schema);
    expect([...updated.files].map((f) => f.path).sort()).toEqual([...full.files].map((f) => f.path).sort());
    expect([...updated.tombstones].map((f) => f.path).sort()).toEqual(
      [...full.tombstones].map((f) => f.path).sort(),
    );
    expect(updated.txnVersion('app')).toBe(10);
    expect(await updated.update(store, defaultEngine)).toBe(updated); // nothing new: same object
    expect(rowSet(await scanRows(store, updated))).toEqual(rowSet(await scanRows(store, full)));
  });

  test('bad input: missing table and malformed log give typed errors', async () => {
    const missing = await Snapshot.load(store, defaultEngine).catch((e: unknown) => e);
    expect(isTributaryError(missing, 'NOT_FOUND') && missing.message).toMatch(/no Delta table/);
    await writeTable(store, { sourceSql: jsonl([{ x: 1 }]) });
    await store.put('_delta_log/00000000000000000001.json', '{"add": {"path": "x.parquet", ');
    const bad = await Snapshot.load(store, defaultEngine).catch((e: unknown) => e);
    expect(isTributaryError(bad, 'INVALID_LOG') && bad.message).toMatch(
      /00000000000000000001\.json line 1: not valid JSON/,
    );
  });
});
