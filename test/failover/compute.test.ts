/**
 * Compute failover end to end (issue 14, evidence 4): a region's Schedules run on worker A (a child
 * process on queue qA) while logs keep arriving; A is SIGKILLed mid-run; `tributary failover region`
 * moves the region to worker B (another process, queue qB), which carries on; `schedules apply` keeps qB
 * meanwhile; a new worker on qA and `failover region --back` return it. Afterwards the regional and the
 * central table hold every line exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { regionOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/operations';
import type { FailoverPlan, FailoverState } from '../../shapes/failover';
import { scheduleIds, workflowIds } from '../../shapes/queues';
import { egressAppIdFor } from '../../shapes/targets';
import { rowKey } from '../egress/load-rows';
import { BIN, cli, spawnWorker } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { logLines, sourceKeys, tableRows, temporal, writeLocalRegionConfig } from '../ingest/helpers';

jest.setTimeout(300_000);

const LINES_PER_FILE = 20;

test('SIGKILL the region worker, fail over to another queue while logs arrive, fail back: exactly once', async () => {
  const t0 = Date.now();
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  const region = `cfo-${randomUUID().slice(0, 6)}`;
  const qA = `${region}-a`;
  const qB = `${region}-b`;
  const { file: cfg, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: qA,
    ingest: '{ maxFilesPerBatch: 1, schedule: { every: 2s } }',
    central: `{ table: "${loc.url}/central", schedule: { every: 2s }, maxVersionsPerBatch: 2 }`,
  });
  const r = regionOf(config, region);
  const table = await openStore(r.table);
  const central = await openStore(config.central!.table);
  const t = await temporal();
  const children: ChildProcess[] = [];
  const worker = (queue?: string) => {
    const c = queue
      ? spawn(process.execPath, [BIN, 'worker', '--config', cfg, '--task-queue', queue], { stdio: 'ignore' })
      : spawnWorker(cfg, region);
    children.push(c);
    return c;
  };
  // The log daemon: a file every 300 ms until stopped.
  let files = 0;
  let generating = true;
  const daemon = (async () => {
    while (generating) {
      await raw.put(
        `logs/gen-${String(files).padStart(5, '0')}.jsonl`,
        logLines(files, LINES_PER_FILE).join('\n') + '\n',
      );
      files++;
      await sleep(300);
    }
  })();
  const rows = async () => (await loadSnapshotOrUndefined(table, defaultEngine))?.numRecords ?? 0;
  const ingestSchedule = t.client.schedule.getHandle(scheduleIds.ingest(region));
  const waitFor = async (what: string, ok: () => Promise<boolean>, ms = 60_000) => {
    const until = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  };
  try {
    const a = worker();
    const applied = await cli('schedules', 'apply', '--config', cfg);
    expect(applied.code).toBe(0);
    // A has ingested something, and an ingest is in flight: kill it now.
    await waitFor('worker A to ingest', async () => (await rows()) > 0);
    await waitFor(
      'an ingest in flight',
      async () => (await ingestSchedule.describe()).info.runningActions.length > 0,
    );
    a.kill('SIGKILL');
    await new Promise((res) => a.once('exit', res));
    const atKill = await rows();
    await sleep(2500); // the Schedules fire again, onto the dead queue

    const b = worker(qB);
    const fo = await cli(
      'failover',
      'region',
      '--region',
      region,
      '--to-queue',
      qB,
      '--reason',
      'qA down',
      '--json',
      '--config',
      cfg,
    );
    expect({ code: fo.code, stderr: fo.stderr.replace(/^no worker polls .*\n/, '') }).toEqual({
      code: 0,
      stderr: '',
    });
    const { plan, result } = JSON.parse(fo.stdout) as { plan: FailoverPlan; result: FailoverState };
    const stuck = plan.runs.filter((x) => x.taskQueue === qA && x.move);
    expect(stuck.map((x) => x.workflowType)).toContain('ingestRegionWorkflow');
    expect(result.schedules.map((s) => [s.scheduleId, s.outcome, s.from, s.to])).toEqual([
      [scheduleIds.ingest(region), 'moved', qA, qB],
      [scheduleIds.egress(region), 'moved', qA, qB],
    ]);
    for (const x of result.runs) {
      expect(x).toMatchObject({ from: qA, stopped: 'terminated' });
      expect(x.restarted?.how).toMatch(/^(schedule-trigger|already-running)$/);
    }
    // B carries on: more than A had, then everything written so far.
    const atFailover = files * LINES_PER_FILE;
    await waitFor('worker B to ingest', async () => (await rows()) >= atFailover, 90_000);
    expect(await rows()).toBeGreaterThan(atKill);

    // apply does not move it back while failed over.
    const reapplied = await cli('schedules', 'apply', '--config', cfg);
    expect(reapplied.stderr).toContain(
      `kept ${scheduleIds.ingest(region)} on ${qB} (failed over; run 'tributary failover region --region ${region} --back' to return)`,
    );
    expect(JSON.parse(reapplied.stdout).kept).toHaveLength(2);
    expect((await ingestSchedule.describe()).action).toMatchObject({ taskQueue: qB });
    const status = await cli('schedules', 'status', '--json', '--config', cfg);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({
        scheduleId: scheduleIds.ingest(region),
        taskQueue: qB,
        home: qA,
        failedOver: expect.objectContaining({ from: qA, to: qB, reason: 'qA down' }),
      }),
      expect.objectContaining({ scheduleId: scheduleIds.egress(region), taskQueue: qB, home: qA }),
    ]);

    // qA is back: fail back, logs still arriving.
    worker();
    const back = await cli('failover', 'region', '--region', region, '--back', '--json', '--config', cfg);
    expect(back.code).toBe(0);
    const backResult = JSON.parse(back.stdout).result as FailoverState;
    expect(backResult.schedules.map((s) => [s.outcome, s.to])).toEqual([
      ['returned', qA],
      ['returned', qA],
    ]);
    await sleep(3000);
    generating = false;
    await daemon;
    b.kill('SIGTERM');

    // Drain: every line in the regional table, central caught up with it.
    const lines = files * LINES_PER_FILE;
    await waitFor(
      'ingestion and egress to catch up',
      async () => {
        const snap = await loadSnapshotOrUndefined(table, defaultEngine);
        const c = await loadSnapshotOrUndefined(central, defaultEngine);
        return (
          (snap?.numRecords ?? 0) >= lines && (c?.txnVersion(egressAppIdFor(region)) ?? -1) >= snap!.version
        );
      },
      120_000,
    );
    const regional = await tableRows(table);
    expect(sourceKeys(regional)).toEqual({ unique: lines, total: lines });
    const approved = regional
      .filter((x) => x.egress_approved === true)
      .map(rowKey)
      .sort();
    const centralKeys = (await tableRows(central)).map(rowKey);
    expect(new Set(centralKeys).size).toBe(centralKeys.length);
    expect([...centralKeys].sort()).toEqual(approved);

    // The query of the last failover (the fail-back) shows its plan and what it did.
    const q = (await t.client.workflow
      .getHandle(workflowIds.failoverRegion(region))
      .query('failoverState')) as FailoverState;
    expect(q).toMatchObject({ phase: 'done', plan: { back: true, toQueue: qA } });
    expect(q.schedules).toEqual(backResult.schedules);
    process.stdout.write(
      `compute failover test: ${files} files, ${lines} lines exactly once (regional), ${centralKeys.length} approved rows exactly once (central); ` +
        `${stuck.length} runs moved off the dead queue; ${((Date.now() - t0) / 1000).toFixed(0)} s\n`,
    );
  } finally {
    generating = false;
    await daemon.catch(() => {});
    for (const id of [scheduleIds.ingest(region), scheduleIds.egress(region)])
      await t.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => {});
    for (const c of children) c.kill('SIGKILL');
    await t.close();
    await loc.cleanup();
  }
});
