/**
 * OPTIMIZE under storage faults (throttling, 5xx, timeouts, resets, lost responses, a lost commit
 * response, broken downloads, and a whole-backend outage) on S3 and Azure, while appends keep arriving
 * on a fault-free store and readers read: the table ends with every row exactly once, no reader sees a
 * partial commit, and the compaction lands. A failed try is retried as its Temporal activity would be.
 */
import { isTributaryError } from '../../lake/errors';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { type OptimizeResult, optimize } from '../../lake/table/optimize';
import { jsonlRelation } from '../harness/jsonl';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { chaos, checkReads, rateOf, readerLoop, seedOf } from './helpers';

jest.setTimeout(300_000);

const rowsOfBatch = (i: number) =>
  Array.from({ length: 5 }, (_, j) => ({ day: j % 2 ? 'a' : 'b', id: i * 5 + j, msg: `m${i}-${j}` }));

describe.each([
  ['s3', 31],
  ['azure', 32],
] as [BackendKind, number][])('optimize under storage faults: %s', (kind, fixedSeed) => {
  test('every row once, readers never see a partial commit, the compaction lands', async () => {
    const seed = seedOf(fixedSeed);
    const c = chaos(seed, rateOf());
    const loc = await createTestLocation(kind);
    const clean = emulatorOptions([kind]);
    const url = `${loc.url}/regional`;
    const stores: ObjectStore[] = [];
    const open = async (faulty: boolean) => {
      const s = await openStore(url, faulty ? { ...clean, decorate: c.decorate } : clean);
      stores.push(s);
      return s;
    };
    try {
      const writer = await open(false);
      for (let i = 0; i < 30; i++)
        await writeTable(writer, {
          sourceSql: jsonlRelation(rowsOfBatch(i)),
          partitionBy: i === 0 ? ['day'] : undefined,
        });
      const readers = [readerLoop(await open(false)), readerLoop(await open(true), true)];
      let appending = true;
      const appends = (async () => {
        for (let i = 30; appending && i < 60; i++)
          await writeTable(writer, { sourceSql: jsonlRelation(rowsOfBatch(i)) });
      })();
      const outage = new Promise((r) => setTimeout(r, 300)).then(() => c.outage(kind, 1500));
      let result: OptimizeResult | undefined;
      const failures: string[] = [];
      for (let attempt = 1; attempt <= 5 && !result; attempt++) {
        try {
          result = await optimize(await open(true), { concurrency: 1 });
        } catch (e) {
          if (!isTributaryError(e, 'STORAGE_TRANSIENT')) throw e;
          failures.push((e as Error).message);
        }
      }
      appending = false;
      await Promise.all([appends, outage]);
      const logs = await Promise.all(readers.map((r) => r.stop()));
      const stats = c.stats();
      console.log(
        `optimize chaos ${kind}: seed ${seed}, ${stats.injected} faults ${JSON.stringify(stats.byLabel)}; ` +
          `${failures.length} failed tries; result ${JSON.stringify(result && { v: result.version, removed: result.numRemovedFiles, added: result.numAddedFiles, replans: result.replans })}; ` +
          `reads ${logs.map((l) => `${l.seen.length}/${l.transient}`).join(', ')}`,
      );
      expect(result).toBeDefined();
      expect(stats.injected).toBeGreaterThan(0);

      const snap = await Snapshot.load(writer, defaultEngine);
      const rows = await scanRows(writer, snap);
      const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      const appended = (ids.at(-1)! + 1) / 5;
      expect(appended).toBeGreaterThanOrEqual(30);
      expect(ids).toEqual(Array.from({ length: appended * 5 }, (_, k) => k));
      // The 60 small files of the first 30 appends were compacted (whatever the appends added meanwhile).
      expect(snap.files.length).toBeLessThanOrEqual(2 + (appended - 30) * 2);
      for (const l of logs) expect(await checkReads(writer, l)).toEqual([]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await loc.cleanup();
    }
  });
});
