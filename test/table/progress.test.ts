/**
 * lake/table/progress.ts on a real local table: rows since an instant (files decided by their stats, a
 * straddling file read, NULL times never counted) and a consumer's lag from its recorded version.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../lake/storage/open';
import { writeTable } from '../../lake/table/operations';
import { consumerLag, countRowsSince, historyOrEmpty, lastCommitBy } from '../../lake/table/progress';
import { createTestLocation } from '../harness/stores';

const rows = (...r: [number, string | null][]) =>
  `(SELECT * FROM (VALUES ${r.map(([id, at]) => `(${id}, ${at === null ? 'NULL::TIMESTAMPTZ' : `TIMESTAMPTZ '${at}'`})`).join(', ')}) v(id, _ingested_at))`;

test('countRowsSince: older files skipped, newer counted, straddling read, NULL not counted', async () => {
  const loc = await createTestLocation('local');
  try {
    const store = await openStore(`${loc.url}/q`);
    expect(await countRowsSince(store, '_ingested_at', new Date())).toBe(0); // no table
    await writeTable(store, {
      sourceSql: rows([1, '2026-01-01 00:00:00+00'], [2, '2026-01-03 00:00:00+00']),
    });
    await writeTable(store, { sourceSql: rows([3, '2026-01-05 00:00:00+00'], [4, null]) });
    await writeTable(store, { sourceSql: rows([5, '2025-12-01 00:00:00+00']) });
    await writeTable(store, {
      sourceSql: rows([6, '2026-01-04 00:00:00+00'], [7, '2026-01-06 12:00:00+00']),
    });
    const since = (iso: string) => countRowsSince(store, '_ingested_at', new Date(iso));
    expect(await since('2026-01-02T00:00:00Z')).toBe(4); // 2, 3, 6, 7
    expect(await since('2026-01-03T00:00:00Z')).toBe(4); // at the bound counts
    expect(await since('2026-01-03T00:00:00.001Z')).toBe(3);
    expect(await since('2020-01-01T00:00:00Z')).toBe(6);
    expect(await since('2027-01-01T00:00:00Z')).toBe(0);
    expect(await countRowsSince(store, 'no_such_column', new Date(0))).toBe(0);
  } finally {
    await loc.cleanup();
  }
});

test('consumerLag and lastCommitBy: versions after the recorded one, and the age of the oldest', async () => {
  const loc = await createTestLocation('local');
  try {
    const source = await openStore(`${loc.url}/src`);
    expect(await consumerLag(source, undefined)).toEqual({
      latestVersion: null,
      recordedVersion: -1,
      lagVersions: 0,
      lagSeconds: 0,
    });
    for (let i = 0; i < 3; i++) {
      await writeTable(source, {
        sourceSql: rows([i, '2026-01-01 00:00:00+00']),
        operation: 'STREAMING UPDATE',
        operationParameters: { appId: i === 1 ? 'me' : 'other', batch: i },
      });
      await sleep(20);
    }
    const now = Date.now() + 5_000;
    expect(await consumerLag(source, 2, now)).toEqual({
      latestVersion: 2,
      recordedVersion: 2,
      lagVersions: 0,
      lagSeconds: 0,
    });
    const behind = await consumerLag(source, 0, now);
    expect(behind).toMatchObject({ latestVersion: 2, recordedVersion: 0, lagVersions: 2 });
    expect(behind.lagSeconds).toBeGreaterThanOrEqual(5);
    expect((await consumerLag(source, undefined, now)).lagVersions).toBe(3);
    const h = await historyOrEmpty(source, 10);
    const mine = lastCommitBy(h, 'me');
    expect(mine?.version).toBe(1);
    expect(Number((mine?.operationParameters as Record<string, unknown>).batch)).toBe(1);
    expect(lastCommitBy(h, 'nobody')).toBeUndefined();
    expect(await historyOrEmpty(await openStore(`${loc.url}/none`), 10)).toEqual([]);
  } finally {
    await loc.cleanup();
  }
});
