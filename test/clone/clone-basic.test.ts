/**
 * cloneTable on local stores: a full clone equals the source at the recorded version, an incremental one
 * copies only the new files, a repeat copies nothing, and writers' txns travel.
 */
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { cloneAppId, cloneTable } from '../../lake/table/clone';
import { deleteWhere } from '../../lake/table/delete';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { jsonlRelation } from '../harness/jsonl';
import { openTestStore } from '../harness/stores';

const jsonl = jsonlRelation;
const rows = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: from + i,
    part: `p${(from + i) % 3}`,
    msg: `m${from + i}`,
  }));
const sorted = async (s: ObjectStore, version?: number) =>
  (await scanRows(s, await Snapshot.load(s, defaultEngine, { version })))
    .map((r) => JSON.stringify({ id: Number(r.id), part: r.part, msg: r.msg }))
    .sort();

describe('cloneTable (local)', () => {
  let src: ObjectStore & { cleanup(): Promise<void> };
  let dst: ObjectStore & { cleanup(): Promise<void> };
  beforeEach(async () => {
    src = await openTestStore('local');
    dst = await openTestStore('local');
  });
  afterEach(async () => {
    await src.cleanup();
    await dst.cleanup();
  });

  test('full, incremental with a delete, then a no-op; txns carried, history its own', async () => {
    await writeTable(src, {
      sourceSql: jsonl(rows(0, 30)),
      partitionBy: ['part'],
      txn: { appId: 'w1', version: 1 },
    });
    await writeTable(src, { sourceSql: jsonl(rows(30, 10)), txn: { appId: 'w1', version: 2 } });
    const first = await cloneTable(src, dst);
    expect(first.kind).toBe('committed');
    expect(first.mode).toBe('full');
    expect(first.sourceVersion).toBe(1);
    const s1 = await Snapshot.load(src, defaultEngine);
    expect(first.metrics.sourceNumOfFiles).toBe(s1.files.length);
    expect(first.metrics.numCopiedFiles).toBe(s1.files.length);
    expect(first.bytesTransferred).toBe(s1.files.reduce((a, f) => a + f.size, 0));
    expect(await sorted(dst)).toEqual(await sorted(src));
    const t1 = await Snapshot.load(dst, defaultEngine);
    expect(t1.version).toBe(0);
    expect(t1.metadata.id).not.toBe(s1.metadata.id);
    expect(t1.partitionColumns).toEqual(['part']);
    expect(t1.txnVersion('w1')).toBe(2);
    expect(t1.txnVersion(cloneAppId(s1.metadata.id))).toBe(1);

    await writeTable(src, { sourceSql: jsonl(rows(40, 5)), txn: { appId: 'w1', version: 3 } });
    await deleteWhere(src, "part = 'p0'");
    const s2 = await Snapshot.load(src, defaultEngine);
    const before = new Set(s1.files.map((f) => f.path));
    const newBytes = s2.files.filter((f) => !before.has(f.path)).reduce((a, f) => a + f.size, 0);
    const second = await cloneTable(src, dst);
    expect(second.mode).toBe('incremental');
    expect(second.previousSourceVersion).toBe(1);
    expect(second.sourceVersion).toBe(s2.version);
    expect(second.bytesTransferred).toBe(newBytes);
    expect(second.metrics.numRemovedFiles).toBeGreaterThan(0);
    expect(await sorted(dst)).toEqual(await sorted(src));
    expect((await Snapshot.load(dst, defaultEngine)).txnVersion('w1')).toBe(3);

    const third = await cloneTable(src, dst);
    expect(third.kind).toBe('upToDate');
    expect(third.bytesTransferred).toBe(0);
    expect((await Snapshot.load(dst, defaultEngine)).version).toBe(1);
  });

  test("the target's own writers' files stay, and a carried txn never moves backwards", async () => {
    await writeTable(src, { sourceSql: jsonl(rows(0, 5)), txn: { appId: 'w', version: 5 } });
    await cloneTable(src, dst);
    await writeTable(dst, { sourceSql: jsonl(rows(100, 3)), txn: { appId: 'w', version: 9 } });
    await writeTable(src, { sourceSql: jsonl(rows(5, 5)), txn: { appId: 'w', version: 6 } });
    const r = await cloneTable(src, dst);
    expect(r.carriedTxns).toEqual([]);
    const t = await Snapshot.load(dst, defaultEngine);
    expect(t.txnVersion('w')).toBe(9);
    expect(await sorted(dst)).toHaveLength(13);
  });

  test('a target that is not a clone of the source is refused unless replace is given', async () => {
    await writeTable(src, { sourceSql: jsonl(rows(0, 5)) });
    await writeTable(dst, { sourceSql: jsonl(rows(50, 5)) });
    await expect(cloneTable(src, dst)).rejects.toThrow(/not a clone of/);
    const r = await cloneTable(src, dst, { replace: true });
    expect(r.mode).toBe('replace');
    expect(await sorted(dst)).toEqual(await sorted(src));
  });
});
