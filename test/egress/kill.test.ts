/**
 * Crash safety of egress: SIGKILL the region's worker process at 20+ random moments while it egresses a
 * source table of many small commits (one source commit per batch), restarting it each time. Afterwards
 * central holds exactly the approved rows: none twice, none missing.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { egressAppIdFor } from '../../shapes/targets';
import { egressTargetOf, regionOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { workflowIds } from '../../shapes/queues';
import type { EgressRunSummary } from '../../workflows/egress';
import { spawnWorker } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { tableRows, temporal, writeLocalRegionConfig } from '../ingest/helpers';
import { approvedKeys, regionalCommitSql, rowKey } from './load-rows';

const KILLS = 20;
const SOURCE_COMMITS = 200;
const ROWS = 6;
jest.setTimeout(900_000);

test(`SIGKILL the worker ${KILLS} times mid-egress: central = the approved rows, exactly once`, async () => {
  const loc = await createTestLocation('local');
  const region = `ekill-${randomUUID().slice(0, 6)}`;
  const central = `${loc.url}/central`;
  const { file: cfgFile, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: region,
    ingest: '{}',
    central: `{ table: "${central}", maxVersionsPerBatch: 1, onChangeCommits: fail }`,
  });
  const target = egressTargetOf(config, regionOf(config, region));
  const source = await openStore(target.source);
  for (let c = 0; c < SOURCE_COMMITS; c++)
    await writeTable(source, { sourceSql: regionalCommitSql(region, c, ROWS), mergeSchema: true });
  const last = SOURCE_COMMITS - 1;

  let child: ChildProcess | undefined;
  const startWorker = () => {
    child = spawnWorker(cfgFile, region);
  };
  const t = await temporal();
  try {
    startWorker();
    const handle = await t.client.workflow.start('egressRegionWorkflow', {
      taskQueue: region,
      workflowId: workflowIds.egress(region, 'central'),
      args: [{ target, heartbeatTimeout: '3 seconds' }],
      workflowTaskTimeout: '2 seconds',
    });
    const centralStore = await openStore(central);
    // How far central is: the last source version its egress txn records (-1: nothing yet).
    const egressed = async () =>
      (await loadSnapshotOrUndefined(centralStore, defaultEngine))?.txnVersion(egressAppIdFor(region)) ?? -1;
    const running = async () => (await handle.describe()).status.name === 'RUNNING';
    let kills = 0;
    let midEgressKills = 0; // central part-way and the workflow still running afterwards
    while (midEgressKills < KILLS && (await running())) {
      // Wait until this worker has egressed something (it needs a moment to bundle workflows and poll),
      // then kill it at a random moment while it works.
      const start = await egressed();
      for (let i = 0; i < 600 && (await egressed()) === start && (await running()); i++) await sleep(100);
      await sleep(Math.random() * 800);
      const before = await egressed();
      child!.kill('SIGKILL');
      await new Promise((res) => child!.once('exit', res));
      kills++;
      if (before >= 0 && before < last && (await running())) midEgressKills++;
      startWorker();
    }
    const summary = (await handle.result()) as EgressRunSummary;
    expect(summary.sourceVersion).toBe(last);
    expect(summary.latestSourceVersion).toBe(last);

    const rows = await tableRows(centralStore);
    const keys = rows.map(rowKey);
    const expected = approvedKeys(region, SOURCE_COMMITS, ROWS);
    expect(new Set(keys).size).toBe(keys.length); // none twice
    expect([...keys].sort()).toEqual([...expected].sort()); // none missing, nothing else
    expect(rows.every((r) => r.egress_approved === true)).toBe(true);
    expect(await egressed()).toBe(last);
    // From the history: egress batches that a kill interrupted (their activity timed out and ran again).
    let interrupted = 0;
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
      if (attempt > 1) interrupted += attempt - 1;
    }
    process.stdout.write(
      `egress kill test: ${kills} kills, ${midEgressKills} with central part-way and the workflow running ` +
        `(${interrupted} egress batches interrupted and re-run), ${summary.batches} batches, ${rows.length} rows exactly once\n`,
    );
    // The kills landed while egress was under way, not only before or after it.
    if (midEgressKills < KILLS)
      throw new Error(
        `only ${midEgressKills} of ${kills} kills landed mid-egress (need ${KILLS}): egress finished too soon; give it more source commits`,
      );
    // Many kills hit a batch in flight (the others land between batches, during a workflow task or startup).
    expect(interrupted).toBeGreaterThanOrEqual(3);
  } finally {
    child?.kill('SIGKILL');
    await t.close();
    await loc.cleanup();
  }
});
