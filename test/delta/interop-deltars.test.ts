/**
 * delta-rs as a peer: tables it writes read identically by Tributary, and both engines appending to one
 * table at the same time lose no commit (local files, and S3 on moto with delta-rs conditional put).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { type BackendKind, openTestStore } from '../harness/stores';
import { deltaRs, deltaRsRows, rowSet } from '../interop/deltars';

const dir = mkdtempSync(path.join(tmpdir(), 'tributary-deltars-'));
/** delta-rs addresses S3 buckets as s3://bucket/prefix, like we do; local tables by path. */
const peerUri = (url: string) => (url.startsWith('file://') ? new URL(url).pathname : url);

test('tables delta-rs writes (partitions, overwrite, types) read identically by Tributary', async () => {
  const store = await openTestStore('local');
  try {
    const rows = [
      { part: 'a b', id: 1, price: 1.5, ok: true, ts: '2024-03-01T12:00:00.5Z', tags: ['x'] },
      { part: 'c=d', id: 2, price: null, ok: false, ts: '2024-03-02T00:00:00Z', tags: [] },
      { part: null, id: 3, price: 3.25, ok: null, ts: null, tags: null },
    ];
    const f = path.join(dir, 'rows.jsonl');
    writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n'));
    await deltaRs(['write', peerUri(store.url), f, 'append', 'part']);
    await deltaRs(['write', peerUri(store.url), f, 'append', 'part']);
    const mine = await scanRows(store, await Snapshot.load(store, defaultEngine));
    expect(mine).toHaveLength(6);
    expect(rowSet(mine)).toEqual(rowSet(await deltaRsRows(peerUri(store.url))));
    await deltaRs(['write', peerUri(store.url), f, 'overwrite', 'part']);
    const after = await scanRows(store, await Snapshot.load(store, defaultEngine));
    expect(rowSet(after)).toEqual(rowSet(await deltaRsRows(peerUri(store.url))));
    expect(after).toHaveLength(3);
    // and we can append to their table
    await writeTable(store, {
      sourceSql: `(SELECT 'z' AS part, 9::BIGINT AS id, 0.5::DOUBLE AS price, true AS ok, '2024-01-01T00:00:00Z' AS ts, ['q'] AS tags)`,
    });
    expect(rowSet(await deltaRsRows(peerUri(store.url)))).toEqual(
      rowSet(await scanRows(store, await Snapshot.load(store, defaultEngine))),
    );
  } finally {
    await store.cleanup();
  }
});

describe.each([['local'], ['s3']] as [BackendKind][])(
  'Tributary and delta-rs appending concurrently: %s',
  (kind) => {
    test('no lost commit', async () => {
      const store = await openTestStore(kind, 'shared');
      try {
        await writeTable(store, { sourceSql: `(SELECT 'init' AS writer, -1::BIGINT AS seq)` });
        const N = 25;
        const peer = Promise.all([
          deltaRs(['append-loop', peerUri(store.url), 'rs-a', String(N)], kind),
          deltaRs(['append-loop', peerUri(store.url), 'rs-b', String(N)], kind),
        ]);
        const ours = Promise.all(
          ['tb-a', 'tb-b'].map(async (w) => {
            for (let i = 0; i < N; i++)
              await writeTable(store, { sourceSql: `(SELECT '${w}' AS writer, ${i}::BIGINT AS seq)` });
          }),
        );
        await Promise.all([peer, ours]);
        const snap = await Snapshot.load(store, defaultEngine);
        expect(snap.version).toBe(4 * N);
        const rows = await scanRows(store, snap);
        const keys = new Set(rows.map((r) => `${r.writer}/${r.seq}`));
        expect(rows).toHaveLength(4 * N + 1);
        expect(keys.size).toBe(4 * N + 1);
        expect(rowSet(await deltaRsRows(peerUri(store.url), kind))).toEqual(rowSet(rows));
      } finally {
        await store.cleanup();
      }
    }, 300_000);
  },
);
