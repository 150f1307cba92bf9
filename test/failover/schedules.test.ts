/**
 * failoverRegion against the dev server with in-process workers: a region whose queue has no worker (its
 * runs wait there, as on a dead queue) is failed over to a live queue — Schedules moved and recorded, the
 * scheduled run and a run started by id terminated and started again there — `schedules apply` then keeps
 * the failed-over queue, a second failover changes nothing, and failing back returns everything home.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { failoverInputOf } from '../../config/failover';
import { egressTargetOf, regionOf, taskQueueOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { MANAGED_NOTE, type FailoverState, parseFailoverNote } from '../../shapes/failover';
import { scheduleIds, workflowIds } from '../../shapes/queues';
import { createRegionWorker } from '../../workers/region-worker';
import { applySchedules } from '../../workers/schedules';
import { schedulesStatus } from '../../cli/failover';
import { cli } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import {
  tableRows,
  temporal,
  workflowBundle,
  writeLocalRegionConfig,
  writeRawFiles,
} from '../ingest/helpers';

jest.setTimeout(240_000);

test('failover moves Schedules and runs in flight, apply keeps it, back returns it', async () => {
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  const lines = await writeRawFiles(raw, 6, 10);
  const region = `fo-${randomUUID().slice(0, 6)}`;
  const qA = `${region}-a`;
  const qB = `${region}-b`;
  const { file: cfgFile, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: qA,
    ingest: '{ maxFilesPerBatch: 2, schedule: { every: 1h } }',
    central: `{ table: "${loc.url}/central", schedule: { every: 1h } }`,
  });
  const r = regionOf(config, region);
  const t = await temporal();
  const ingestId = scheduleIds.ingest(region);
  const egressId = scheduleIds.egress(region);
  const describe = (id: string) => t.client.schedule.getHandle(id).describe();
  const bundle = await workflowBundle();
  const b = await createRegionWorker({
    connection: t.native,
    taskQueue: qB,
    storeOptions: {},
    workflowBundle: bundle,
  });
  try {
    await b.worker.runUntil(async () => {
      expect(await applySchedules(t.client, config)).toEqual({ created: [ingestId, egressId], updated: [] });
      // Runs on qA, where no worker polls: a scheduled ingest and an egress started by its id.
      await t.client.schedule.getHandle(ingestId).trigger();
      const egressRun = await t.client.workflow.start('egressRegionWorkflow', {
        taskQueue: qA,
        workflowId: workflowIds.egress(region, 'central'),
        args: [{ target: egressTargetOf(config, r) }],
      });
      for (let i = 0; i < 100 && !(await describe(ingestId)).info.recentActions.length; i++) await sleep(100);
      const stuck = (await describe(ingestId)).info.recentActions[0]!.action.workflow.workflowId;

      const dry = await cli(
        'failover',
        'region',
        '--region',
        region,
        '--to-queue',
        qB,
        '--dry-run',
        '--json',
        '--config',
        cfgFile,
      );
      expect(dry.code).toBe(0);
      const plan = JSON.parse(dry.stdout).plan;
      expect(
        plan.schedules.map((s: { scheduleId: string; taskQueue: string }) => [s.scheduleId, s.taskQueue]),
      ).toEqual([
        [ingestId, qA],
        [egressId, qA],
      ]);
      expect(plan.runs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ workflowId: stuck, taskQueue: qA, scheduleId: ingestId, move: true }),
          expect.objectContaining({
            workflowId: workflowIds.egress(region, 'central'),
            taskQueue: qA,
            move: true,
          }),
        ]),
      );
      const text = await cli(
        'failover',
        'region',
        '--region',
        region,
        '--to-queue',
        qB,
        '--dry-run',
        '--config',
        cfgFile,
      );
      expect(text.stdout).toContain(`schedule ${ingestId}: ${qA} → ${qB}`);
      expect(text.stdout).toContain(
        `run ${stuck} (ingestRegionWorkflow) on ${qA}: terminate, then trigger ${ingestId} on ${qB}`,
      );

      const input = failoverInputOf(config, region, { toQueue: qB, reason: 'zone down' });
      const handle = await t.client.workflow.start('failoverRegion', {
        taskQueue: qB,
        workflowId: workflowIds.failoverRegion(region),
        args: [input],
      });
      const res = (await handle.result()) as FailoverState;
      expect(res.phase).toBe('done');
      expect(res.schedules).toEqual([
        expect.objectContaining({ scheduleId: ingestId, outcome: 'moved', from: qA, to: qB }),
        expect.objectContaining({ scheduleId: egressId, outcome: 'moved', from: qA, to: qB }),
      ]);
      const ingestMove = res.runs.find((x) => x.workflowId === stuck)!;
      expect(ingestMove).toMatchObject({
        from: qA,
        stopped: 'terminated',
        restarted: { how: 'schedule-trigger' },
      });
      expect(ingestMove.restarted!.workflowId).not.toBe(stuck);
      const egressMove = res.runs.find((x) => x.workflowId === workflowIds.egress(region, 'central'))!;
      expect(egressMove).toMatchObject({ from: qA, stopped: 'terminated', restarted: { how: 'start' } });
      // The run on qA is closed (terminated); the id's current run is on qB.
      const first = t.client.workflow.getHandle(egressRun.workflowId, egressRun.firstExecutionRunId);
      expect((await first.describe()).status.name).toBe('TERMINATED');
      expect((await t.client.workflow.getHandle(egressRun.workflowId).describe()).taskQueue).toBe(qB);
      // The query shows the same.
      expect(await handle.query('failoverState')).toEqual(res);

      // Moved and recorded.
      for (const id of [ingestId, egressId]) {
        const d = await describe(id);
        expect(d.action).toMatchObject({ taskQueue: qB });
        expect(parseFailoverNote(d.state.note)).toMatchObject({
          from: qA,
          to: qB,
          home: qA,
          by: workflowIds.failoverRegion(region),
          reason: 'zone down',
        });
      }
      // The restarted ingest runs on qB: every line arrives.
      const table = await openStore(r.table);
      for (let i = 0; i < 300 && (await tableRows(table)).length < lines; i++) await sleep(200);
      expect((await tableRows(table)).length).toBe(lines);

      // apply keeps the failed-over queue and says so.
      const applied = await applySchedules(t.client, config);
      expect(applied.updated).toEqual([ingestId, egressId]);
      expect(applied.kept?.map((k) => [k.scheduleId, k.taskQueue])).toEqual([
        [ingestId, qB],
        [egressId, qB],
      ]);
      expect(applied.kept![0]!.message).toBe(
        `kept ${ingestId} on ${qB} (failed over; run 'tributary failover region --region ${region} --back' to return)`,
      );
      expect((await describe(ingestId)).action).toMatchObject({ taskQueue: qB });
      const cliApply = await cli('schedules', 'apply', '--config', cfgFile);
      expect(cliApply.stderr).toContain(`kept ${egressId} on ${qB} (failed over;`);
      const status = await schedulesStatus(t.client, config);
      expect(status.map((s) => [s.scheduleId, s.taskQueue, s.home, s.failedOver?.to])).toEqual([
        [ingestId, qB, qA, qB],
        [egressId, qB, qA, qB],
      ]);
      const statusText = await cli('schedules', 'status', '--config', cfgFile);
      expect(statusText.stdout).toContain(`${ingestId}: on ${qB}`);
      expect(statusText.stdout).toContain(`FAILED OVER from ${qA}`);

      // Again: nothing left to move.
      const again = (await t.client.workflow.execute('failoverRegion', {
        taskQueue: qB,
        workflowId: workflowIds.failoverRegion(region),
        args: [input],
      })) as FailoverState;
      expect(again.schedules.map((s) => s.outcome)).toEqual(['already-there', 'already-there']);
      expect(again.runs.every((x) => x.stopped === 'left-running')).toBe(true);

      // Back home (a worker on qA again).
      const a = await createRegionWorker({
        connection: t.native,
        taskQueue: qA,
        storeOptions: {},
        workflowBundle: bundle,
      });
      await a.worker.runUntil(async () => {
        const back = (await t.client.workflow.execute('failoverRegion', {
          taskQueue: qA,
          workflowId: workflowIds.failoverRegion(region),
          args: [failoverInputOf(config, region, { back: true })],
        })) as FailoverState;
        expect(back.schedules).toEqual([
          expect.objectContaining({ scheduleId: ingestId, outcome: 'returned', from: qB, to: qA }),
          expect.objectContaining({ scheduleId: egressId, outcome: 'returned', from: qB, to: qA }),
        ]);
        for (const id of [ingestId, egressId]) {
          const d = await describe(id);
          expect(d.action).toMatchObject({ taskQueue: taskQueueOf(r) });
          expect(d.state.note).toBe(MANAGED_NOTE);
        }
        expect((await applySchedules(t.client, config)).kept).toBeUndefined();
      });
      await a.close();
    });
  } finally {
    for (const id of [ingestId, egressId])
      await t.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => {});
    await b.close();
    await t.close();
    await loc.cleanup();
  }
});

test('failoverRegion refuses bad input with BAD_INPUT; the CLI checks its options', async () => {
  const region = `fo-bad-${randomUUID().slice(0, 6)}`;
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue: region,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  try {
    await w.worker.runUntil(async () => {
      const err = await t.client.workflow
        .execute('failoverRegion', { taskQueue: region, workflowId: `bad-${region}`, args: [{ region }] })
        .catch((e: Error) => e);
      expect(String((err as { cause?: { cause?: Error } }).cause?.cause?.message)).toContain(
        'failoverRegion: toQueue must be a task queue name, got undefined',
      );
    });
    const loc = await createTestLocation('local');
    const { file } = writeLocalRegionConfig(loc.url, region, { ingest: '{}' });
    const none = await cli('failover', 'region', '--region', region, '--config', file);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(
      'error (BAD_INPUT): give --to-queue <queue> (or --back to return to the home queue)',
    );
    const mode = await cli(
      'failover',
      'region',
      '--region',
      region,
      '--to-queue',
      'x',
      '--mode',
      'kill',
      '--config',
      file,
    );
    expect(mode.stderr).toContain('error (BAD_INPUT): --mode is terminate or cancel, got "kill"');
    await loc.cleanup();
  } finally {
    await w.close();
    await t.close();
  }
});

test('mode cancel: a run on a dead queue never processes the cancel; it is reported, not restarted', async () => {
  const region = `fo-cancel-${randomUUID().slice(0, 6)}`;
  const dead = `${region}-dead`;
  const live = `${region}-live`;
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue: live,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  try {
    const stuck = await t.client.workflow.start('healthCheckWorkflow', {
      taskQueue: dead,
      workflowId: workflowIds.healthCheck(region),
      args: [{ message: 'hi' }],
    });
    await w.worker.runUntil(async () => {
      const res = (await t.client.workflow.execute('failoverRegion', {
        taskQueue: live,
        workflowId: workflowIds.failoverRegion(region),
        args: [
          {
            region,
            toQueue: live,
            mode: 'cancel',
            cancelWaitSeconds: 2,
            schedules: [],
            workflowIds: [stuck.workflowId],
          },
        ],
      })) as FailoverState;
      expect(res.runs).toEqual([
        expect.objectContaining({
          workflowId: stuck.workflowId,
          from: dead,
          stopped: 'cancel-pending',
          restarted: { how: 'none' },
        }),
      ]);
      expect(res.runs[0]!.detail).toContain(`no worker on ${dead} processed it within 2 s`);
      expect((await stuck.describe()).status.name).toBe('RUNNING');
    });
  } finally {
    await t.client.workflow
      .getHandle(workflowIds.healthCheck(region))
      .terminate()
      .catch(() => {});
    await w.close();
    await t.close();
  }
});
