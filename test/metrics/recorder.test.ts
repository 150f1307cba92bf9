/**
 * The recorder on its own: retried attempts are counted by activity type, ages grow between steps, the
 * newest queryable file is kept against late (older) files, and a metrics fault never fails a step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { countRetries, noMetrics, type PipelineMetrics } from '../../activities/metrics';
import type { IngestBatchResult } from '../../activities/ingest/types';
import { METRICS, meterMetrics } from '../../workers/metrics';

type Call = { name: string; op: 'add' | 'record' | 'set'; value: number; tags: Record<string, unknown> };

/** A MetricMeter that remembers every call. */
function fakeMeter(calls: Call[], failing = false) {
  const metric = (name: string, op: Call['op']) => ({
    name,
    [op]: (value: number, tags: Record<string, unknown> = {}) => {
      if (failing) throw new Error('exporter gone');
      calls.push({ name, op, value, tags });
    },
    withTags() {
      throw new Error('not used');
    },
  });
  return {
    createCounter: (name: string) => metric(name, 'add'),
    createHistogram: (name: string) => metric(name, 'record'),
    createGauge: (name: string) => metric(name, 'set'),
    withTags() {
      throw new Error('not used');
    },
  } as never;
}

const batch = (over: Partial<IngestBatchResult>): IngestBatchResult => ({
  seq: 0,
  version: 1,
  alreadyCommitted: false,
  addedColumns: [],
  files: 2,
  bytes: 100,
  lines: 10,
  rows: 9,
  quarantined: 1,
  rescued: 0,
  ...over,
});

const last = (calls: Call[], name: string) => calls.filter((c) => c.name === name).at(-1);

test('countRetries counts attempts after the first, by activity type and task queue', async () => {
  const seen: string[] = [];
  const metrics: PipelineMetrics = { ...noMetrics, activityRetry: (t, q) => seen.push(`${t}@${q}`) };
  const acts = countRetries({ ingestBatch: async (n: number) => n * 2 }, metrics);
  const first = new MockActivityEnvironment({ attempt: 1, activityType: 'ingestBatch', taskQueue: 'q1' });
  const third = new MockActivityEnvironment({ attempt: 3, activityType: 'ingestBatch', taskQueue: 'q1' });
  expect(await first.run(acts.ingestBatch, 2)).toBe(4);
  expect(await third.run(acts.ingestBatch, 3)).toBe(6);
  expect(seen).toEqual(['ingestBatch@q1']);
  // Without metrics the activities are the same functions.
  const plain = { a: async () => 1 };
  expect(countRetries(plain, noMetrics)).toBe(plain);
});

test('freshness: the newest file is kept against later batches of older files, and its age grows', async () => {
  const calls: Call[] = [];
  let now = 1_000_000;
  const m = meterMetrics(fakeMeter(calls), { now: () => now, tickMs: 10 });
  try {
    const labels = { region: 'eu', table: 'regional' };
    m.ingestBatch(batch({ newestSourceModified: now - 5_000 }), 1500, labels);
    expect(last(calls, METRICS.ingestFreshness)).toMatchObject({ value: 5, tags: labels });
    expect(last(calls, METRICS.ingestDuration)).toMatchObject({ value: 1.5 });
    now += 10_000;
    // A late file (older than the newest already queryable) does not make the data look older.
    m.ingestBatch(batch({ seq: 1, newestSourceModified: now - 60_000 }), 10, labels);
    expect(last(calls, METRICS.ingestFreshness)).toMatchObject({ value: 15 });
    expect(last(calls, METRICS.ingestNewestSource)).toMatchObject({ value: 995 });
    expect(calls.filter((c) => c.name === METRICS.ingestLines).reduce((n, c) => n + c.value, 0)).toBe(20);
    // Between batches the age keeps growing (the gauge is refreshed every tickMs).
    now += 7_000;
    await sleep(100);
    expect(last(calls, METRICS.ingestFreshness)).toMatchObject({ value: 22, tags: labels });
  } finally {
    m.close();
  }
});

test('egress lag: an age while behind, 0 once caught up; a caught-up call is not a batch', () => {
  const calls: Call[] = [];
  let now = 50_000;
  const m = meterMetrics(fakeMeter(calls), { now: () => now, tickMs: 60_000 });
  try {
    const labels = { region: 'eu', table: 'central' };
    const r = {
      sourceVersion: 3,
      latestSourceVersion: 5,
      centralVersion: 7,
      filesRead: 2,
      rowsEgressed: 40,
      skippedChangeCommits: [],
      caughtUp: false,
      commitAttempts: 2,
    };
    m.egressBatch(r, { versions: 2, oldestMissingCommitAt: now - 8_000 }, 300, labels);
    expect(last(calls, METRICS.egressLagSeconds)).toMatchObject({ value: 8 });
    expect(last(calls, METRICS.egressLagVersions)).toMatchObject({ value: 2 });
    expect(last(calls, METRICS.egressCommitAttempts)).toMatchObject({ value: 2 });
    now += 1000;
    const idle = { ...r, sourceVersion: 5, filesRead: 0, rowsEgressed: 0, commitAttempts: 0, caughtUp: true };
    m.egressBatch(idle, { versions: 0 }, 5, labels);
    expect(last(calls, METRICS.egressLagSeconds)).toMatchObject({ value: 0 });
    expect(calls.filter((c) => c.name === METRICS.egressBatches)).toHaveLength(1);
  } finally {
    m.close();
  }
});

test('a metrics fault never fails the step that reports it', () => {
  const m = meterMetrics(fakeMeter([], true), { tickMs: 60_000 });
  try {
    expect(() => m.ingestBatch(batch({}), 1, { region: 'eu', table: 'regional' })).not.toThrow();
    expect(() => m.activityRetry('x', 'q')).not.toThrow();
  } finally {
    m.close();
  }
});
