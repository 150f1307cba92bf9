/**
 * A batch retried after its files were written and its quarantine committed resumes from the heartbeat:
 * it commits those files (no raw file is read again, nothing twice); if a file is gone it starts over.
 * The activity takes the resume point from the failed attempt's heartbeat details.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { createIngestActivities } from '../../activities/ingest';
import { ingestBatch } from '../../activities/ingest/batch';
import { planBatches } from '../../activities/ingest/plan';
import type { BatchResumePoint } from '../../activities/ingest/types';
import type { IngestTarget } from '../../shapes/targets';
import { dataFileKey } from '../../lake/delta/paths';
import { openStore } from '../../lake/storage/open';
import { createTestLocation } from '../harness/stores';
import { ingestTargetAt, sourceKeys, tableRows, writeRawFiles } from './helpers';

const deps = { open: (url: string) => openStore(url) };

async function setup(): Promise<{ target: IngestTarget; lines: number }> {
  const loc = await createTestLocation('local');
  const target = ingestTargetAt(loc.url, 'r1', 10);
  const raw = await openStore(target.raw);
  const lines = await writeRawFiles(raw, 3, 40);
  await raw.put('logs/bad.jsonl', '{"ts": "2024-01-01T00:00:00Z"}\n{not json\n');
  const plan = await planBatches(deps, { target, maxBatches: 4 });
  expect(plan.pending).toEqual([0]);
  return { target, lines: lines + 2 };
}

/** Runs batch 0 until its files are written and quarantine committed, then "crashes"; returns the resume point. */
async function crashAfterReady(target: IngestTarget): Promise<BatchResumePoint> {
  let point: BatchResumePoint | undefined;
  await expect(
    ingestBatch(
      {
        ...deps,
        ready: (p) => {
          point = p;
          throw new Error('worker died after writing the files');
        },
      },
      { target, seq: 0 },
    ),
  ).rejects.toThrow(/worker died/);
  expect(point).toBeDefined();
  return point!;
}

test('a retry commits the files the failed attempt wrote, without reading raw files again', async () => {
  const { target, lines } = await setup();
  const point = await crashAfterReady(target);
  expect(point.totals).toEqual({ lines, rows: lines - 1, quarantined: 1, rescued: 0 });
  expect(await tableRows(await openStore(target.table))).toEqual([]);
  // The raw files are gone: a retry that read them again would quarantine "source file no longer exists".
  const raw = await openStore(target.raw);
  for await (const k of raw.list('')) await raw.delete(k.key);

  const r = await ingestBatch({ ...deps, resume: point }, { target, seq: 0 });
  expect(r).toMatchObject({ seq: 0, lines, rows: lines - 1, quarantined: 1, alreadyCommitted: false });
  const rows = await tableRows(await openStore(target.table));
  expect(sourceKeys(rows)).toEqual({ unique: lines - 1, total: lines - 1 });
  expect((await tableRows(await openStore(target.quarantine))).length).toBe(1);
  // Again (a retry after the commit landed): nothing more.
  const again = await ingestBatch({ ...deps, resume: point }, { target, seq: 0 });
  expect(again.alreadyCommitted).toBe(true);
  expect((await tableRows(await openStore(target.table))).length).toBe(lines - 1);
});

test('when a written file is gone the retry ingests the batch from scratch, still exactly once', async () => {
  const { target, lines } = await setup();
  const point = await crashAfterReady(target);
  const table = await openStore(target.table);
  await table.delete(dataFileKey(point.adds[0]!.path, table.url));
  const r = await ingestBatch({ ...deps, resume: point }, { target, seq: 0 });
  expect(r).toMatchObject({ lines, rows: lines - 1, quarantined: 1 });
  expect(sourceKeys(await tableRows(table))).toEqual({ unique: lines - 1, total: lines - 1 });
  // The quarantine commit of the first attempt carried the batch's txn: not written twice.
  expect((await tableRows(await openStore(target.quarantine))).length).toBe(1);
});

test('the activity resumes from the heartbeat details of the failed attempt', async () => {
  const { target, lines } = await setup();
  const point = await crashAfterReady(target);
  const raw = await openStore(target.raw);
  for await (const k of raw.list('')) await raw.delete(k.key);
  const env = new MockActivityEnvironment({ heartbeatDetails: { seq: 0, stage: 'ready', resume: point } });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const acts = createIngestActivities(deps);
  const r = await env.run(acts.ingestBatch, { target, seq: 0 });
  expect(r).toMatchObject({ lines, rows: lines - 1, quarantined: 1 });
  expect(beats[0]).toMatchObject({ seq: 0, resume: { seq: 0 } });
  expect(sourceKeys(await tableRows(await openStore(target.table)))).toEqual({
    unique: lines - 1,
    total: lines - 1,
  });
});
