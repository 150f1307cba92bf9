/**
 * Operator paths: `tributary schedules apply` (idempotent) creates the region's Schedule, a trigger of
 * that Schedule ingests; `tributary ingest run` starts and follows one ingestion; `ingest status` shows
 * the committed batches with their per-file reconciliation.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { regionOf, storeOptionsOf, taskQueueOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { createRegionWorker } from '../../workers/region-worker';
import { egressScheduleId, ingestScheduleId } from '../../workers/schedules';
import { PROJECT_ROOT } from '../harness/services';
import { createTestLocation } from '../harness/stores';
import {
  logLines,
  tableRows,
  temporal,
  workflowBundle,
  writeLocalRegionConfig,
  writeRawFiles,
} from './helpers';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'tributary.js'), ...args], { encoding: 'utf8' });
jest.setTimeout(300_000);

test('schedules apply + trigger, ingest run, ingest status, egress run, egress status', async () => {
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  const lines = await writeRawFiles(raw, 6, 20);
  const region = `sched-${randomUUID().slice(0, 6)}`;
  const { file: cfgFile, config } = writeLocalRegionConfig(loc.url, region, {
    ingest: '{ maxFilesPerBatch: 4, schedule: { every: 1h } }',
    central: `{ table: "${loc.url}/central", schedule: { every: 1h } }`,
  });
  const r = regionOf(config, region);
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue: taskQueueOf(r),
    storeOptions: storeOptionsOf(config),
    workflowBundle: await workflowBundle(),
  });
  const table = await openStore(r.table);
  try {
    await w.worker.runUntil(async () => {
      expect(JSON.parse((await cli('schedules', 'apply', '--config', cfgFile)).stdout)).toEqual({
        created: [ingestScheduleId(region), egressScheduleId(region)],
        updated: [],
      });
      expect(JSON.parse((await cli('schedules', 'apply', '--config', cfgFile)).stdout)).toEqual({
        created: [],
        updated: [ingestScheduleId(region), egressScheduleId(region)],
      });
      const sched = t.client.schedule.getHandle(ingestScheduleId(region));
      const d = await sched.describe();
      expect(d.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'ingestRegionWorkflow',
        taskQueue: `tributary-${region}`,
      });
      const ed = await t.client.schedule.getHandle(egressScheduleId(region)).describe();
      expect(ed.action).toMatchObject({ type: 'startWorkflow', workflowType: 'egressRegionWorkflow' });
      await sched.trigger();
      for (let i = 0; i < 200 && (await tableRows(table)).length < lines; i++) await sleep(250);
      expect((await tableRows(table)).length).toBe(lines);
      await sched.delete();
      await t.client.schedule.getHandle(egressScheduleId(region)).delete();

      await raw.put('logs/new.jsonl', logLines(50, 9).join('\n'));
      const out = await cli('ingest', 'run', '--region', region, '--config', cfgFile, '--json');
      expect(JSON.parse(out.stdout)).toMatchObject({ files: 1, rows: 9, quarantined: 0 });

      const status = JSON.parse(
        (await cli('ingest', 'status', '--region', region, '--config', cfgFile, '--json')).stdout,
      );
      expect(status).toMatchObject({
        region,
        committedBatch: 2,
        pendingBatches: 0,
        knownFiles: 7,
        rows: lines + 9,
      });
      expect(status.recent[0]).toMatchObject({ batch: 2, lines: 9, rows: 9, quarantined: 0 });
      expect(status.recent[0].files[0]).toMatchObject({ key: 'logs/new.jsonl', lines: 9, rows: 9 });

      const eg = JSON.parse(
        (await cli('egress', 'run', '--region', region, '--config', cfgFile, '--json')).stdout,
      );
      const approved = (await tableRows(table)).filter((x) => x.egress_approved === true).length;
      expect(eg).toMatchObject({ rows: approved, sourceVersion: 2, latestSourceVersion: 2 });
      expect(JSON.parse((await cli('egress', 'status', '--config', cfgFile, '--json')).stdout)).toEqual([
        {
          region,
          processedSourceVersion: 2,
          latestSourceVersion: 2,
          lagVersions: 0,
          lagSeconds: 0,
          quarantined: [],
        },
      ]);
    });
  } finally {
    await w.close();
    await t.close();
    await loc.cleanup();
  }
});
