/**
 * cloneTable when the source is not as the last clone left it (issue 14 "Incremental deep clone"):
 * (a) log cleanup took the commits since the recorded version → snapshot diff, target == source;
 * (b) VACUUM took a file between the snapshot read and its copy → the current version is cloned instead,
 *     or, when the current version still names the file, a clear NOT_FOUND;
 * (c) a target that is not a clone of the source is refused; replace makes it equal;
 * (d) an interrupted clone resumes: objects already on the target are not copied again.
 * The `copy` hook below is the real copy (the clone's default, copyObject), with the race
 * or the crash injected around it; the stores are real (local files, moto).
 */
import { Snapshot } from '../../lake/delta/snapshot';
import { writeCheckpoint } from '../../lake/delta/checkpoint';
import { commitKey, parseLogKey } from '../../lake/delta/log-path';
import { isTributaryError } from '../../lake/errors';
import type { ObjectStore } from '../../lake/storage/object-store';
import {
  CLONE_SOURCE_TAG,
  type CloneProgress,
  type CopyFn,
  cloneAppId,
  cloneTable,
  defaultCopy,
} from '../../lake/table/clone';
import { deleteWhere } from '../../lake/table/delete';
import { loadSnapshotOrUndefined } from '../../lake/table/latest';
import { vacuum } from '../../lake/table/maintenance';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { type BackendKind, openTestStore } from '../harness/stores';
import { jsonl, rows, tableRows } from './helpers';

/** The real copy (the clone's default, copyObject). */
const realCopy: CopyFn = defaultCopy;

const sourceBytes = (s: Snapshot) => s.files.reduce((a, f) => a + f.size, 0);

let src: ObjectStore & { cleanup(): Promise<void> };
let dst: ObjectStore & { cleanup(): Promise<void> };
const open = async (a: BackendKind, b: BackendKind) => {
  src = await openTestStore(a, 'src');
  dst = await openTestStore(b, 'dst');
};
afterEach(async () => {
  await src?.cleanup();
  await dst?.cleanup();
});

describe.each([
  ['local', 'local'],
  ['local', 's3'],
] as [BackendKind, BackendKind][])('log cleanup: %s → %s', (a, b) => {
  test('commits since the last clone are gone: a snapshot diff, and the target equals the source', async () => {
    await open(a, b);
    await writeTable(src, {
      sourceSql: jsonl(rows(0, 20)),
      partitionBy: ['part'],
      txn: { appId: 'w', version: 1 },
    });
    await writeTable(src, { sourceSql: jsonl(rows(20, 10)), txn: { appId: 'w', version: 2 } });
    const first = await cloneTable(src, dst);
    expect(first.sourceVersion).toBe(1);
    // A file the target's own writer added stays through the snapshot diff.
    await writeTable(dst, { sourceSql: jsonl(rows(500, 2)) });
    await writeTable(src, { sourceSql: jsonl(rows(30, 10)), txn: { appId: 'w', version: 3 } });
    await deleteWhere(src, 'id IN (1, 4, 22, 31)');
    await deleteWhere(src, "part = 'p2'");
    await writeTable(src, { sourceSql: jsonl(rows(40, 6)), txn: { appId: 'w', version: 4 } });
    const latest = await Snapshot.load(src, defaultEngine);
    expect(latest.version).toBe(5);
    // Log retention: a checkpoint at the latest version, and every commit before it deleted.
    await writeCheckpoint(src, defaultEngine, latest.version);
    const old: string[] = [];
    for await (const m of src.list('_delta_log/')) {
      const f = parseLogKey(m.key, src.url);
      if (f && f.version < latest.version) old.push(m.key);
    }
    await src.deleteMany(old);
    await expect(src.head(commitKey(2))).rejects.toThrow();

    const plans: string[] = [];
    const r = await cloneTable(src, dst, { onPlan: (p) => plans.push(p.mode) });
    expect(r.kind).toBe('committed');
    expect(r.mode).toBe('snapshotDiff');
    expect(plans).toEqual(['snapshotDiff']);
    expect(r.fallbackReason).toMatch(/has no commit 2 \(the log was cleaned up/);
    expect(r.previousSourceVersion).toBe(1);
    expect(r.sourceVersion).toBe(5);
    expect(r.metrics.numRemovedFiles).toBeGreaterThan(0);
    const s1 = await Snapshot.load(src, defaultEngine);
    const had = new Set((await Snapshot.load(dst, defaultEngine, { version: 0 })).files.map((f) => f.path));
    expect(r.bytesTransferred).toBe(s1.files.filter((f) => !had.has(f.path)).reduce((x, f) => x + f.size, 0));
    // The target is the source plus its own writer's 2 rows.
    const got = await tableRows(dst);
    const want = await tableRows(src);
    expect(got.length).toBe(want.length + 2);
    expect(got.filter((l) => !want.includes(l))).toHaveLength(2);
    const tgt = await Snapshot.load(dst, defaultEngine);
    const fromSource = tgt.files.filter((f) => f.tags?.[CLONE_SOURCE_TAG] === s1.metadata.id);
    expect(fromSource.map((f) => f.path).sort()).toEqual(s1.files.map((f) => f.path).sort());
    expect(tgt.txnVersion('w')).toBe(4);
    expect(tgt.txnVersion(cloneAppId(s1.metadata.id))).toBe(5);
    // And the next clone with no change is a no-op.
    expect(await cloneTable(src, dst)).toMatchObject({ kind: 'upToDate', bytesTransferred: 0 });
  });
});

describe('VACUUM between the snapshot read and the copy', () => {
  test('a file the source removed and vacuumed: the current version is cloned instead', async () => {
    await open('local', 's3');
    await writeTable(src, { sourceSql: jsonl(rows(0, 12)), partitionBy: ['part'] });
    const v0 = await Snapshot.load(src, defaultEngine);
    let raced = false;
    // Just before the first copy, another writer overwrites the table and VACUUM (retention 0) deletes
    // the files v0 had: the clone read v0 and now finds its files gone.
    const copy: CopyFn = async (...args) => {
      if (!raced) {
        raced = true;
        await writeTable(src, { sourceSql: jsonl(rows(100, 9)), mode: 'overwrite' });
        const vac = await vacuum(src, { retainHours: 0, enforceRetention: false });
        expect(vac.deleted.length).toBe(v0.files.length);
      }
      return realCopy(...args);
    };
    const r = await cloneTable(src, dst, { copy, concurrency: 1 });
    expect(raced).toBe(true);
    expect(r.kind).toBe('committed');
    expect(r.sourceVersion).toBe(1);
    expect(r.fallbackReason).toMatch(
      /no longer has .* \(removed by VACUUM\?\); cloned the current version 1 instead of 0/,
    );
    expect(await tableRows(dst)).toEqual(await tableRows(src, 1));
    expect(await tableRows(dst)).toHaveLength(9);
  });

  test('a file the current version still names is gone: a clear NOT_FOUND, nothing published', async () => {
    await open('local', 'local');
    await writeTable(src, { sourceSql: jsonl(rows(0, 12)), partitionBy: ['part'] });
    const v0 = await Snapshot.load(src, defaultEngine);
    const victim = v0.files[0]!.path;
    const copy: CopyFn = async (s, key, ...rest) => {
      if (decodeURIComponent(key) === decodeURIComponent(victim)) await s.delete(key);
      return realCopy(s, key, ...rest);
    };
    const e = await cloneTable(src, dst, { copy }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTributaryError(e, 'NOT_FOUND')).toBe(true);
    expect((e as Error).message).toMatch(
      /version 0 names .*, which is gone from storage; the source table is damaged and cannot be cloned/,
    );
    expect(await loadSnapshotOrUndefined(dst, defaultEngine)).toBeUndefined();
  });
});

describe('a target that is not a clone', () => {
  test('is refused with a clear error; replace makes it equal the source', async () => {
    await open('s3', 'local');
    await writeTable(src, { sourceSql: jsonl(rows(0, 8)), txn: { appId: 'w', version: 7 } });
    await writeTable(dst, { sourceSql: jsonl(rows(50, 5)) });
    const e = await cloneTable(src, dst).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
    expect((e as Error).message).toMatch(/is a Delta table that is not a clone of s3:\/\/.* give replace/);
    expect((await Snapshot.load(dst, defaultEngine)).version).toBe(0);
    const r = await cloneTable(src, dst, { replace: true });
    expect(r.mode).toBe('replace');
    expect(r.metrics.numRemovedFiles).toBe(1);
    expect(await tableRows(dst)).toEqual(await tableRows(src));
    const t = await Snapshot.load(dst, defaultEngine);
    expect(t.txnVersion('w')).toBe(7);
    // From now on it is a clone: incremental.
    await writeTable(src, { sourceSql: jsonl(rows(8, 4)), txn: { appId: 'w', version: 8 } });
    const next = await cloneTable(src, dst);
    expect(next.mode).toBe('incremental');
    expect(await tableRows(dst)).toEqual(await tableRows(src));
  });
});

describe.each([
  ['local', 'local'],
  ['s3', 'gcs'],
] as [BackendKind, BackendKind][])('resume after an interrupted clone: %s → %s', (a, b) => {
  test('objects already on the target are not copied again', async () => {
    await open(a, b);
    for (let i = 0; i < 4; i++)
      await writeTable(src, {
        sourceSql: jsonl(rows(i * 30, 30)),
        partitionBy: ['part'],
        txn: { appId: 'w', version: i },
      });
    // Tributary's ingest state beside the table travels too.
    await src.put('_tributary/ingest/manifests/000001.json', JSON.stringify({ files: ['a', 'b'] }));
    const snap = await Snapshot.load(src, defaultEngine);
    const total = sourceBytes(snap) + (await src.head('_tributary/ingest/manifests/000001.json')).size;
    expect(snap.files.length).toBeGreaterThanOrEqual(10);
    const N = 5;
    let calls = 0;
    let copiedBeforeCrash = 0;
    const inFlight: Promise<unknown>[] = [];
    const crashing: CopyFn = (...args) => {
      if (calls++ >= N) return Promise.reject(new Error('worker lost (injected after 5 objects)'));
      const p = realCopy(...args).then((c) => {
        copiedBeforeCrash += c.bytes;
        return c;
      });
      inFlight.push(p);
      return p;
    };
    await expect(cloneTable(src, dst, { copy: crashing, concurrency: 3 })).rejects.toThrow(/worker lost/);
    await Promise.allSettled(inFlight);
    // Nothing published: the target has no version yet.
    expect(await loadSnapshotOrUndefined(dst, defaultEngine)).toBeUndefined();
    expect(copiedBeforeCrash).toBeGreaterThan(0);

    let last: CloneProgress | undefined;
    const r = await cloneTable(src, dst, { onProgress: (p) => (last = p) });
    expect(r.kind).toBe('committed');
    expect(r.mode).toBe('full');
    expect(last?.objectsAlreadyPresent).toBe(N);
    expect(last?.objectsDone).toBe(snap.files.length + 1);
    expect(r.stateFilesCopied).toBe(1);
    expect(copiedBeforeCrash + r.bytesTransferred).toBe(total);
    expect(await tableRows(dst)).toEqual(await tableRows(src));
    expect(await dst.get('_tributary/ingest/manifests/000001.json')).toEqual(
      await src.get('_tributary/ingest/manifests/000001.json'),
    );
  });
});
