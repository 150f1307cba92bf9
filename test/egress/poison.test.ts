/**
 * Poison isolation of egress on the Temporal dev server. A regional table with one data file whose bytes
 * are garbage and one whose first page is corrupt (its footer still reads: it fails only when its rows are
 * written) among good ones: egress tries the batch a bounded number of times, isolates the bad files by
 * trial runs, records them in the egress quarantine with their reasons, and commits the rest exactly once;
 * `egress status` lists it and a second run changes nothing. Before, the DuckDB error was a retryable
 * activity failure and Temporal retried the batch forever. A transient storage failure is still retried
 * by Temporal and nothing is quarantined.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEgressActivities } from '../../activities/egress';
import { egressAppIdFor, egressQuarantineUrlOf } from '../../shapes/targets';
import { egressTargetOf, regionOf, storeOptionsOf } from '../../config/targets';
import type { AddFile } from '../../lake/delta/actions';
import { commitKey } from '../../lake/delta/log-path';
import { readCommit } from '../../lake/delta/snapshot';
import { withFaults } from '../../lake/storage/faults';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createWorker } from '../../workers/worker';
import { createRegionWorker } from '../../workers/region-worker';
import type { EgressRunSummary } from '../../workflows/egress';
import { cli } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { tableRows, temporal, workflowBundle, writeLocalRegionConfig } from '../ingest/helpers';
import { approvedKeys, regionalCommitSql, rowKey } from './load-rows';

jest.setTimeout(300_000);

const COMMITS = 5;
const ROWS = 9;
const BAD = 2; // the source version whose data file is garbage
const BAD_PAGE = 3; // the source version whose data file has a corrupt page

/** A regional table of COMMITS commits (one data file each) and a config egressing it to central. */
async function setup(centralExtra = '') {
  const loc = await createTestLocation('local');
  const region = `epoison-${randomUUID().slice(0, 6)}`;
  const central = `${loc.url}/central`;
  const { file, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: region,
    ingest: '{}',
    central: `{ table: "${central}", maxVersionsPerBatch: 10, onChangeCommits: fail${centralExtra} }`,
  });
  const target = egressTargetOf(config, regionOf(config, region));
  const source = await openStore(target.source);
  for (let c = 0; c < COMMITS; c++)
    await writeTable(source, { sourceSql: regionalCommitSql(region, c, ROWS), mergeSchema: true });
  const addsOf = async (v: number) =>
    (await readCommit(source, commitKey(v), source.url)).flatMap((a) =>
      'add' in a ? [a.add as AddFile] : [],
    );
  return { loc, region, central, file, config, target, source, addsOf };
}

test('a corrupt source data file is isolated and recorded; the rest lands exactly once; status lists it', async () => {
  const s = await setup(', maxDeterministicFailures: 2');
  const [bad] = await s.addsOf(BAD);
  // Overwrite the parquet file's bytes with garbage (same name, the log still points at it).
  writeFileSync(path.join(fileURLToPath(s.target.source), bad!.path), Buffer.alloc(2000, 'not parquet '));
  const [badPage] = await s.addsOf(BAD_PAGE);
  const pagePath = path.join(fileURLToPath(s.target.source), badPage!.path);
  writeFileSync(pagePath, readFileSync(pagePath).fill(0x41, 4, 40)); // after the PAR1 magic
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue: s.region,
    storeOptions: storeOptionsOf(s.config),
    workflowBundle: await workflowBundle(),
  });
  try {
    await w.worker.runUntil(async () => {
      const run = () =>
        t.client.workflow.start('egressRegionWorkflow', {
          taskQueue: s.region,
          workflowId: `egress-poison-${randomUUID()}`,
          args: [{ target: s.target }],
        });
      const handle = await run();
      // While the batch waits for its next try, the query says what fails and how often it has.
      let failing: EgressRunSummary['failing'];
      for (let i = 0; i < 200 && !failing; i++) {
        failing = (await handle.query<EgressRunSummary>('egressProgress')).failing;
        if (!failing) await sleep(50);
      }
      expect(failing).toMatchObject({ tries: 1, isolating: false });
      expect(failing!.error).toMatch(/cannot be read as Parquet/);
      const summary = (await handle.result()) as EgressRunSummary;
      expect(summary.sourceVersion).toBe(COMMITS - 1);
      expect(summary.poisoned).toHaveLength(2);
      expect(summary.poisoned![0]).toMatchObject({ sourceVersion: BAD, file: bad!.path });
      expect(summary.poisoned![0]!.reason).toMatch(
        /^source file .* \(source version 2\) cannot be read as Parquet: .*No magic bytes/,
      );
      expect(summary.poisoned![0]!.reason).not.toMatch(/LINE 1|SELECT|\/tmp\//);
      expect(summary.poisoned![1]).toMatchObject({ sourceVersion: BAD_PAGE, file: badPage!.path });
      expect(summary.poisoned![1]!.reason).toMatch(/Invalid/);
      expect(summary.failing).toBeUndefined();

      // Bounded: maxDeterministicFailures (2) tries of the batch, one isolation, then the commit.
      const scheduled = ((await handle.fetchHistory()).events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n) => n);
      expect(scheduled).toEqual(['egressBatch', 'egressBatch', 'isolateEgressBatch', 'egressBatch']);

      // Good rows exactly once; the bad file's rows not at all.
      const centralStore = await openStore(s.central);
      const keys = (await tableRows(centralStore)).map(rowKey);
      const expected = approvedKeys(s.region, COMMITS, ROWS).filter(
        (k) => ![BAD, BAD_PAGE].some((v) => k.includes(`part-${String(v).padStart(4, '0')}`)),
      );
      expect(new Set(keys).size).toBe(keys.length);
      expect([...keys].sort()).toEqual([...expected].sort());

      // The quarantine record: where the file's rows are, and why they are not in central.
      const quarantine = await openStore(egressQuarantineUrlOf(s.target));
      expect(quarantine.url).toBe(`${s.central}_egress_quarantine`);
      const records = (await tableRows(quarantine)).sort(
        (a, b) => Number(a.source_version) - Number(b.source_version),
      );
      expect(records.map((r) => [Number(r.source_version), r.source_file])).toEqual([
        [BAD, bad!.path],
        [BAD_PAGE, badPage!.path],
      ]);
      expect(records[0]).toMatchObject({
        region: s.region,
        source_table: s.target.source,
        source_file: bad!.path,
        source_rows: String(ROWS),
      });
      expect(Number(records[0]!.source_version)).toBe(BAD);
      expect(String(records[0]!.reason)).toMatch(/parquet/i);
      expect(String(records[0]!.reason).length).toBeLessThanOrEqual(1000);

      // egress status lists it (JSON and text).
      const json = await cli('egress', 'status', '--config', s.file, '--region', s.region, '--json');
      expect(json.code).toBe(0);
      const status = JSON.parse(json.stdout) as { quarantined: Record<string, unknown>[] }[];
      expect(status[0]!.quarantined).toEqual([
        expect.objectContaining({ sourceVersion: BAD, file: bad!.path, rows: ROWS }),
        expect.objectContaining({ sourceVersion: BAD_PAGE, file: badPage!.path, rows: ROWS }),
      ]);
      const text = await cli('egress', 'status', '--config', s.file, '--region', s.region);
      expect(text.stdout).toContain('2 source files in egress quarantine');
      expect(text.stdout).toContain(`quarantined: source v${BAD} ${bad!.path} (${ROWS} rows)`);

      // A second run changes nothing: no rows re-sent, nothing re-recorded.
      const centralVersion = (await loadSnapshotOrUndefined(centralStore, defaultEngine))!.version;
      const again = (await (await run()).result()) as EgressRunSummary;
      expect(again).toMatchObject({ rows: 0, sourceVersion: COMMITS - 1 });
      expect(again.poisoned ?? []).toEqual([]);
      expect((await loadSnapshotOrUndefined(centralStore, defaultEngine))!.version).toBe(centralVersion);
      expect((await tableRows(centralStore)).length).toBe(expected.length);
      expect(await tableRows(quarantine)).toHaveLength(2);
      expect(
        (await loadSnapshotOrUndefined(centralStore, defaultEngine))!.txnVersion(egressAppIdFor(s.region)),
      ).toBe(COMMITS - 1);
    });
  } finally {
    await w.close();
    await t.close();
    await s.loc.cleanup();
  }
});

test('a transient storage failure is retried by Temporal, not isolated: nothing quarantined', async () => {
  const s = await setup();
  const [file] = await s.addsOf(BAD);
  const t = await temporal();
  // The source data file's reads fail twice with a transient storage error, then succeed.
  const faulty = withFaults(await openStore(s.target.source), [
    { ops: ['head', 'getStream'], key: file!.path, failCalls: [1, 2] },
  ]);
  const open = async (url: string) => (url === s.target.source ? faulty : openStore(url));
  const w = await createWorker({
    connection: t.native,
    taskQueue: s.region,
    activities: createEgressActivities({ open }),
    workflowBundle: await workflowBundle(),
  });
  try {
    await w.worker.runUntil(async () => {
      const handle = await t.client.workflow.start('egressRegionWorkflow', {
        taskQueue: s.region,
        workflowId: `egress-transient-${randomUUID()}`,
        args: [{ target: s.target }],
      });
      const summary = (await handle.result()) as EgressRunSummary;
      expect(faulty.stats.injected).toBe(2);
      expect(summary.sourceVersion).toBe(COMMITS - 1);
      expect(summary.poisoned ?? []).toEqual([]);
      const events = (await handle.fetchHistory()).events ?? [];
      const names = events
        .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
        .filter((n) => n);
      expect(names).toEqual(['egressBatch']); // one activity, retried by Temporal's policy
      const started = events.flatMap((e) =>
        e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
      );
      expect(started).toEqual([3]);
      const keys = (await tableRows(await openStore(s.central))).map(rowKey);
      expect([...keys].sort()).toEqual([...approvedKeys(s.region, COMMITS, ROWS)].sort());
      expect(
        await loadSnapshotOrUndefined(await openStore(egressQuarantineUrlOf(s.target)), defaultEngine),
      ).toBe(undefined);
    });
  } finally {
    await w.close();
    await t.close();
    await s.loc.cleanup();
  }
});

test('replay-safe: a run the old workflow code started, its batch failing, is finished by the new code', async () => {
  const s = await setup(', maxDeterministicFailures: 1');
  const [bad] = await s.addsOf(BAD);
  writeFileSync(path.join(fileURLToPath(s.target.source), bad!.path), Buffer.alloc(2000, 'not parquet '));
  const t = await temporal();
  try {
    // The old deployment: the workflow code before isolation, and an egress activity that fails on the
    // corrupt file retryably, as it did then (Temporal retried it for ever).
    const oldBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./fixtures/egress-workflow-v1'),
      logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
    });
    let oldAttempts = 0;
    const old = await createWorker({
      connection: t.native,
      taskQueue: s.region,
      workflowBundle: oldBundle,
      activities: {
        egressBatch: async () => {
          oldAttempts++;
          throw new Error('No magic bytes found at end of file (the old activity: a retryable failure)');
        },
      },
    });
    const handle = await t.client.workflow.start('egressRegionWorkflow', {
      taskQueue: s.region,
      workflowId: `egress-upgrade-${randomUUID()}`,
      args: [{ target: s.target }],
    });
    await old.worker.runUntil(async () => {
      while (oldAttempts < 2) await sleep(100);
    });
    await old.close();

    // The new deployment picks the retried activity up: it now fails as INTERNAL, the new code isolates.
    const w = await createRegionWorker({
      connection: t.native,
      taskQueue: s.region,
      storeOptions: storeOptionsOf(s.config),
      workflowBundle: await workflowBundle(),
    });
    let summary: EgressRunSummary | undefined;
    try {
      await w.worker.runUntil(async () => {
        summary = (await handle.result()) as EgressRunSummary;
      });
    } finally {
      await w.close();
    }
    expect(summary!.sourceVersion).toBe(COMMITS - 1);
    expect(summary!.poisoned?.map((p) => p.file)).toEqual([bad!.path]);
    const history = await handle.fetchHistory();
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes);
    expect(markers).toHaveLength(1);
    // The whole history, its old part included, replays deterministically under the new code.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, handle.workflowId);
  } finally {
    await t.close();
    await s.loc.cleanup();
  }
});
