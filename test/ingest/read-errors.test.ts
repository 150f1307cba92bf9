/**
 * A source file whose download breaks part way (a connection reset) fails its batch with a transient
 * error, for the activity to retry; it is never taken for a truncated gzip (whose unreadable tail is
 * quarantined and the file recorded as done). Before, a broken gzip download was an uncaught stream error
 * that took the whole worker process down. Plain and gzipped files alike; the retry then ingests every line
 * exactly once and quarantines nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingestBatch } from '../../activities/ingest/batch';
import { planBatches } from '../../activities/ingest/plan';
import { isTributaryError } from '../../lake/errors';
import { withFaults } from '../../lake/storage/faults';
import { openStore } from '../../lake/storage/open';
import { createTestLocation } from '../harness/stores';
import { ingestTargetAt, sourceKeys, tableRows, writeRawFiles } from './helpers';

test.each(['part-0002.jsonl.gz', 'part-0001.jsonl'])(
  'a download of %s broken part way fails the batch (transient), and the retry ingests it whole',
  async (broken) => {
    const loc = await createTestLocation('local');
    const target = ingestTargetAt(loc.url, 'r1');
    const raw = await openStore(target.raw);
    const lines = await writeRawFiles(raw, 3, 3000); // part-0002 is gzipped (every third file)
    const size = (await raw.head(`logs/${broken}`)).size;
    const faulty = withFaults(raw, [
      { ops: ['getStream'], key: `logs/${broken}`, failCalls: [1], breakBodyAfterBytes: size >> 1 },
    ]);
    const deps = { open: async (url: string) => (url === target.raw ? faulty : openStore(url)) };
    const plan = await planBatches(deps, { target, maxBatches: 4 });
    expect(plan.pending).toEqual([0]);

    const first = await ingestBatch(deps, { target, seq: 0 }).catch((e: unknown) => e);
    expect(isTributaryError(first, 'STORAGE_TRANSIENT')).toBe(true);
    expect(String(first)).toContain(`getStream logs/${broken}`);
    expect(await tableRows(await openStore(target.table))).toEqual([]);
    expect(await tableRows(await openStore(target.quarantine))).toEqual([]);

    // The retry (the fault fired once) reads the file whole.
    const r = await ingestBatch(deps, { target, seq: 0 });
    expect(r).toMatchObject({ lines, rows: lines, quarantined: 0, alreadyCommitted: false });
    const rows = await tableRows(await openStore(target.table));
    expect(sourceKeys(rows)).toEqual({ unique: lines, total: lines });
    expect(await tableRows(await openStore(target.quarantine))).toEqual([]);
  },
);

test('a source file the store refuses to open (a key that is not canonical) is quarantined with the reason; the rest commits', async () => {
  const loc = await createTestLocation('local');
  const target = ingestTargetAt(loc.url, 'keys');
  const dir = fileURLToPath(target.raw);
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const good = '{"ts":"2024-05-01T00:00:00Z","msg":"ok"}\n';
  // Names a log shipper could write to a bucket but no canonical key can be (S3 takes `a/../b` and `a//b`
  // as well); before, the batch failed with BAD_INPUT on every run and the region was wedged.
  writeFileSync(path.join(dir, 'logs', 'ok.jsonl'), good.repeat(3));
  writeFileSync(path.join(dir, 'logs', 'back\\slash.jsonl'), good);
  writeFileSync(path.join(dir, 'logs', 'ctl\u0001.jsonl'), good);
  const deps = { open: (url: string) => openStore(url) };
  expect((await planBatches(deps, { target, maxBatches: 4 })).pending).toEqual([0]);
  const r = await ingestBatch(deps, { target, seq: 0 });
  expect(r).toMatchObject({ files: 3, lines: 5, rows: 3, quarantined: 2 });
  const q = (await tableRows(await openStore(target.quarantine))).sort((a, b) =>
    String(a.source_file).localeCompare(String(b.source_file)),
  );
  expect(q.map((x) => [x.source_file, Number(x.line), x.reason])).toEqual([
    ['logs/back\\slash.jsonl', 0, expect.stringMatching(/^source file cannot be read: .*backslash/)],
    [
      'logs/ctl\u0001.jsonl',
      0,
      expect.stringMatching(/^source file cannot be read: .*control character U\+0001/),
    ],
  ]);
  // Recorded as done: the next plan has nothing left.
  expect((await planBatches(deps, { target, maxBatches: 4 })).pending).toEqual([]);
});
