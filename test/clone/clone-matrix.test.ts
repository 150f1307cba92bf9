/**
 * Issue 14, evidence 1: cloneTable on every ordered pair of backends (local, S3 on moto, Azure on Azurite,
 * GCS on fake-gcs-server), full then incremental, with the source appended to while each clone runs.
 * The source is partitioned, evolves its schema (mergeSchema) between clones, has a copy-on-write delete
 * (remove + add) and checkpoints (delta.checkpointInterval = 2) inside the cloned range. After each clone
 * the target, read by Tributary and by delta-rs (on every backend: Azurite and fake-gcs-server through
 * object_store's emulator options), equals the source at the recorded
 * source version (time travel); a clone with no source change copies 0 bytes; the target's txns are the
 * source's; the clone commit's commitInfo is Delta's CLONE.
 */
import { Snapshot } from '../../lake/delta/snapshot';
import { parseLogKey } from '../../lake/delta/log-path';
import type { ObjectStore } from '../../lake/storage/object-store';
import { CLONE_SOURCE_TAG, type CloneResult, cloneAppId, cloneTable } from '../../lake/table/clone';
import { deleteWhere } from '../../lake/table/delete';
import { history } from '../../lake/table/maintenance';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { ALL_BACKENDS, type BackendKind, openTestStore } from '../harness/stores';
import { deltaRsRows, deltaRsUri, rowSet } from '../interop/deltars';
import { jsonl, rows, tableRows } from './helpers';

const PAIRS: [BackendKind, BackendKind][] = ALL_BACKENDS.flatMap((a) =>
  ALL_BACKENDS.map((b) => [a, b] as [BackendKind, BackendKind]),
);
const METRIC_NAMES = [
  'copiedFilesSize',
  'numCopiedFiles',
  'numRemovedFiles',
  'removedFilesSize',
  'sourceNumOfFiles',
  'sourceTableSize',
  // Beside Delta's CLONE metrics: the clouds the copied bytes left and reached.
  'sourceCloud',
  'targetCloud',
].sort();

/** The cloud a test store lives in, from its URL scheme. */
const cloudOf = (url: string): string =>
  url.startsWith('s3://')
    ? 'aws'
    : url.startsWith('az://')
      ? 'azure'
      : url.startsWith('gs://')
        ? 'gcp'
        : 'local';

/** Appends `count` small batches to the source (txn app `w-conc`), starting at `from`. */
async function appendWhile(src: ObjectStore, from: number, count: number, extra?: boolean) {
  for (let i = 0; i < count; i++)
    await writeTable(src, {
      sourceSql: jsonl(rows(1000 + from * 10 + i * 3, 3, extra ? (id) => ({ extra: `x${id}` }) : undefined)),
      txn: { appId: 'w-conc', version: from + i },
      mergeSchema: extra === true,
    });
}

/** The target equals the source at the recorded version, by our reader and delta-rs; txns and commitInfo. */
async function expectCloneOf(src: ObjectStore, dst: ObjectStore, dstKind: BackendKind, r: CloneResult) {
  const srcAt = await Snapshot.load(src, defaultEngine, { version: r.sourceVersion });
  const tgt = await Snapshot.load(dst, defaultEngine);
  expect(tgt.version).toBe(r.targetVersion);
  const want = await tableRows(src, r.sourceVersion);
  expect(await tableRows(dst)).toEqual(want);
  expect(rowSet(await deltaRsRows(deltaRsUri(dst.url), dstKind))).toEqual(want);
  expect(tgt.schema).toEqual(srcAt.schema);
  expect(tgt.partitionColumns).toEqual(['part']);
  expect(tgt.config).toEqual(srcAt.config);
  expect(tgt.metadata.id).not.toBe(srcAt.metadata.id);
  // Same files (by path and size), every one tagged with the source's id.
  const files = (s: Snapshot) => s.files.map((f) => `${f.path}:${f.size}`).sort();
  expect(files(tgt)).toEqual(files(srcAt));
  expect(tgt.files.every((f) => f.tags?.[CLONE_SOURCE_TAG] === srcAt.metadata.id)).toBe(true);
  // The carried txns are the source's, plus the clone's own record.
  const txns = (s: Snapshot) => Object.fromEntries([...s.txns.values()].map((t) => [t.appId, t.version]));
  expect(txns(tgt)).toEqual({ ...txns(srcAt), [cloneAppId(srcAt.metadata.id)]: r.sourceVersion });
  const [info] = await history(dst, { limit: 1 });
  if (!info) throw new Error(`no history on ${dst.url}`);
  expect(info.version).toBe(r.targetVersion);
  expect(info.operation).toBe('CLONE');
  expect(info.operationParameters).toMatchObject({ source: src.url, sourceVersion: String(r.sourceVersion) });
  expect(Object.keys((info.operationMetrics ?? {}) as object).sort()).toEqual(METRIC_NAMES);
  const m = info.operationMetrics as Record<string, string>;
  expect([m.sourceCloud, m.targetCloud]).toEqual([cloudOf(src.url), cloudOf(dst.url)]);
  expect(m.sourceNumOfFiles).toBe(String(srcAt.files.length));
  expect(m.sourceTableSize).toBe(String(srcAt.files.reduce((a, f) => a + f.size, 0)));
  expect(m.numCopiedFiles).toBe(String(r.metrics.numCopiedFiles));
  expect(m.copiedFilesSize).toBe(String(r.metrics.copiedFilesSize));
  expect(m.numRemovedFiles).toBe(String(r.metrics.numRemovedFiles));
}

/** Checkpoint versions in the source's log. */
async function checkpoints(src: ObjectStore): Promise<number[]> {
  const out: number[] = [];
  for await (const m of src.list('_delta_log/')) {
    const f = parseLogKey(m.key, src.url);
    if (f && f.kind === 'checkpoint') out.push(f.version);
  }
  return out;
}

describe.each(PAIRS)('clone %s → %s', (srcKind, dstKind) => {
  test('full then incremental under concurrent appends', async () => {
    const src = await openTestStore(srcKind, 'src/tbl');
    const dst = await openTestStore(dstKind, 'replica');
    try {
      await writeTable(src, {
        sourceSql: jsonl(rows(0, 30)),
        partitionBy: ['part'],
        configuration: { 'delta.checkpointInterval': '2' },
        txn: { appId: 'w1', version: 1 },
      });
      await writeTable(src, { sourceSql: jsonl(rows(30, 12)), txn: { appId: 'w1', version: 2 } });
      // Copy-on-write delete inside partitions: files are rewritten (remove + add).
      const del = await deleteWhere(src, 'id IN (0, 7, 14, 21, 28, 35)');
      expect(del.removedFiles).toBeGreaterThan(0);
      expect(del.addedFiles).toBeGreaterThan(0);

      // 1. Full clone while the source is appended to.
      const [first] = await Promise.all([cloneTable(src, dst), appendWhile(src, 0, 3)]);
      expect(first.kind).toBe('committed');
      expect(first.mode).toBe('full');
      const s1 = await Snapshot.load(src, defaultEngine, { version: first.sourceVersion });
      expect(first.sourceVersion).toBeGreaterThanOrEqual(2);
      expect(first.bytesTransferred).toBe(s1.files.reduce((a, f) => a + f.size, 0));
      expect(first.metrics.numCopiedFiles).toBe(s1.files.length);
      await expectCloneOf(src, dst, dstKind, first);

      // 2. Schema evolution, another delete, a checkpoint in the range; incremental under appends.
      await writeTable(src, {
        sourceSql: jsonl(rows(200, 9, (id) => ({ extra: `e${id}` }))),
        mergeSchema: true,
        txn: { appId: 'w1', version: 3 },
      });
      await deleteWhere(src, "part = 'p1' AND id IN (1, 202, 205)");
      const mid = await Snapshot.load(src, defaultEngine);
      const [second] = await Promise.all([cloneTable(src, dst), appendWhile(src, 3, 3, true)]);
      expect(second.kind).toBe('committed');
      expect(second.mode).toBe('incremental');
      expect(second.previousSourceVersion).toBe(first.sourceVersion);
      expect(second.sourceVersion).toBeGreaterThanOrEqual(mid.version);
      const s2 = await Snapshot.load(src, defaultEngine, { version: second.sourceVersion });
      const had = new Set(s1.files.map((f) => f.path));
      const fresh = s2.files.filter((f) => !had.has(f.path));
      expect(second.bytesTransferred).toBe(fresh.reduce((a, f) => a + f.size, 0));
      expect(second.metrics.numCopiedFiles).toBe(fresh.length);
      expect(second.metrics.numRemovedFiles).toBeGreaterThan(0);
      expect((await checkpoints(src)).some((v) => v > first.sourceVersion && v <= second.sourceVersion)).toBe(
        true,
      );
      expect(s2.schema.fields.map((f) => f.name)).toContain('extra');
      await expectCloneOf(src, dst, dstKind, second);

      // 3. Catch up with what arrived during the clone, then a clone with no change copies nothing.
      const latest = await Snapshot.load(src, defaultEngine);
      const third = await cloneTable(src, dst);
      expect(third.sourceVersion).toBe(latest.version);
      if (latest.version > second.sourceVersion) {
        expect(third.kind).toBe('committed');
        expect(third.mode).toBe('incremental');
        await expectCloneOf(src, dst, dstKind, third);
      }
      const tv = (await Snapshot.load(dst, defaultEngine)).version;
      const again = await cloneTable(src, dst);
      expect(again).toMatchObject({
        kind: 'upToDate',
        mode: 'none',
        bytesTransferred: 0,
        sourceVersion: latest.version,
        targetVersion: tv,
      });
      expect(again.metrics.numCopiedFiles).toBe(0);
      expect((await Snapshot.load(dst, defaultEngine)).version).toBe(tv);
      expect(await tableRows(dst)).toEqual(await tableRows(src));
    } finally {
      await src.cleanup();
      await dst.cleanup();
    }
  }, 240_000);
});
