/** commitFiles, the one commit seam: txn short-circuit, re-plan after a logical conflict, carried txns. */
import { Snapshot } from '../../lake/delta/snapshot';
import type { ObjectStore } from '../../lake/storage/object-store';
import { commitFiles } from '../../lake/table/commit-files';
import { defaultEngine, removeOf, writeTable } from '../../lake/table/operations';
import { jsonlRelation } from '../harness/jsonl';
import { openTestStore } from '../harness/stores';

const jsonl = jsonlRelation;

describe('commitFiles', () => {
  let store: ObjectStore & { cleanup(): Promise<void> };
  beforeEach(async () => {
    store = await openTestStore('local');
    await writeTable(store, { sourceSql: jsonl([{ id: 1 }, { id: 2 }]) });
    await writeTable(store, { sourceSql: jsonl([{ id: 3 }]) });
  });
  afterEach(async () => store.cleanup());

  test('a txn already recorded is not planned again; a new one commits once', async () => {
    let plans = 0;
    const req = {
      txn: { appId: 'app', version: 7 },
      plan: async () => {
        plans++;
        return { actions: { operation: 'WRITE', isBlindAppend: true }, result: 'planned' };
      },
    };
    const a = await commitFiles(store, req);
    expect(a).toMatchObject({ kind: 'committed', version: 2, result: 'planned' });
    const b = await commitFiles(store, req);
    expect(b).toMatchObject({
      kind: 'alreadyCommitted',
      appId: 'app',
      recordedVersion: 7,
      result: undefined,
    });
    expect(plans).toBe(1);
    expect((await Snapshot.load(store, defaultEngine)).version).toBe(2);
  });

  test('two removes of the same file: the loser re-plans on the new snapshot and sees the file gone', async () => {
    const snap = await Snapshot.load(store, defaultEngine);
    const victim = snap.files[0]!;
    const seen: number[] = [];
    const removeVictim = () =>
      commitFiles(store, {
        snapshot: snap,
        plan: async (s) => {
          seen.push(s!.version);
          const f = s!.files.find((x) => x.path === victim.path);
          if (!f) return { actions: undefined, result: 'gone' };
          return {
            actions: {
              operation: 'DELETE',
              isBlindAppend: false,
              readFiles: new Set([f.path]),
              removes: [removeOf(f, Date.now())],
            },
            result: 'removed',
          };
        },
      });
    const first = await removeVictim();
    expect(first).toMatchObject({ kind: 'committed', version: 2, result: 'removed' });
    const second = await removeVictim();
    expect(second).toMatchObject({ kind: 'nothing', version: 2, replans: 1, result: 'gone' });
    expect(seen).toEqual([1, 1, 2]);
  });

  test('carried txns are state, not idempotency keys: a winner recording one is a conflict, not a no-op', async () => {
    const snap = await Snapshot.load(store, defaultEngine);
    // Another writer records app w at 5 after our read.
    await commitFiles(store, {
      txn: { appId: 'w', version: 5 },
      plan: async () => ({ actions: { operation: 'WRITE', isBlindAppend: true }, result: null }),
    });
    let plans = 0;
    const r = await commitFiles(store, {
      snapshot: snap,
      txn: { appId: 'clone', version: 1 },
      plan: async (s) => {
        plans++;
        const carry = (s!.txnVersion('w') ?? -1) < 4 ? [{ appId: 'w', version: 4 }] : [];
        return { actions: { operation: 'CLONE', isBlindAppend: false, txns: carry }, result: carry.length };
      },
    });
    expect(r).toMatchObject({ kind: 'committed', replans: 1, result: 0 });
    expect(plans).toBe(2);
    const after = await Snapshot.load(store, defaultEngine);
    expect(after.txnVersion('w')).toBe(5);
    expect(after.txnVersion('clone')).toBe(1);
  });
});
