/**
 * Storage failover (issue 14, evidence 3) on the Temporal dev server: three regions ingest raw logs (local)
 * and egress approved rows into a central table on a PRIVATE moto server started here (other test files use
 * the shared one); central is cloned to Azurite between rounds. One region's egress then commits to the
 * primary after the last clone, the others are mid-run when moto is SIGKILLed; the replica is promoted with
 * the promoteReplica workflow; logs keep arriving and the pipelines keep running off the Schedules' args.
 * Central (the replica) then holds every approved row exactly once by (_region, _source_file, _source_line),
 * and the promotion named the source versions re-sent. `schedules apply` keeps the promotion.
 */
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { parseConfig } from '../../config/load';
import { promoteInputOf } from '../../config/promote';
import type { Config } from '../../config/schema';
import { openStore, type StoreOptions } from '../../lake/storage/open';
import { cloneAppId, cloneTable } from '../../lake/table/clone';
import type { PromotionState } from '../../shapes/promote';
import { parsePromotionNotes } from '../../shapes/promote';
import { egressAppIdFor } from '../../shapes/targets';
import { createRegionWorker } from '../../workers/region-worker';
import {
  applySchedules,
  egressScheduleId,
  egressScheduleOptions,
  ingestScheduleId,
  ingestScheduleOptions,
} from '../../workers/schedules';
import { requireService } from '../harness/env';
import { cliEnv } from '../harness/cli';
import { PROJECT_ROOT, startMoto } from '../harness/services';
import { AZURITE_KEY, createTestLocation, emulatorOptions } from '../harness/stores';
import { snapshot, tableRows, temporal, workflowBundle, writeRawFiles } from '../ingest/helpers';

jest.setTimeout(300_000);

const S3_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const key = (x: Record<string, unknown>) => `${x._region}/${x._source_file}/${x._source_line}`;

async function describeOrUndefined(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch {
    return undefined;
  }
}

/** A moto server again on the endpoint of one that was killed (the primary's store is back, empty). */
async function restartMoto(endpoint: string, logDir: string): Promise<{ stop(): Promise<void> }> {
  const port = new URL(endpoint).port;
  const log = openSync(path.join(logDir, 'moto-2.log'), 'w');
  const child = spawn(
    path.join(PROJECT_ROOT, '.venv', 'bin', 'python'),
    [path.join(PROJECT_ROOT, 'deploy', 'moto_server.py'), '-H', '127.0.0.1', '-p', port],
    { stdio: ['ignore', log, log], detached: true },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await fetch(`${endpoint}/moto-api/`, { headers: { connection: 'close' } }).then(
      async (r) => (await r.arrayBuffer(), true),
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`moto did not come back on ${endpoint}`);
    await sleep(100);
  }
  return {
    stop: async () => {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** Runs a Schedule's action as the Schedule would (its args, its business-key id), waiting for it to finish. */
async function runAsSchedule(client: Client, scheduleId: string): Promise<unknown> {
  const d = await client.schedule.getHandle(scheduleId).describe();
  if (d.action.type !== 'startWorkflow') throw new Error(`${scheduleId} has no workflow action`);
  const { workflowType, workflowId, taskQueue, args } = d.action;
  for (;;) {
    try {
      return await client.workflow.execute(workflowType, { workflowId, taskQueue, args: [...(args ?? [])] });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      // A run the Schedule (or the promotion's trigger) started: let it finish, then run once more.
      await client.workflow
        .getHandle(workflowId!)
        .result()
        .catch(() => undefined);
    }
  }
}

test('central on a killed store: promote its replica, every approved row exactly once', async () => {
  const t = await temporal();
  const motoLogs = mkdtempSync(path.join(tmpdir(), 'tributary-private-moto-'));
  const moto = await startMoto(motoLogs);
  if (moto.error) throw new Error(moto.error);
  const local = await createTestLocation('local');
  const dr = await createTestLocation('azure');
  const bucket = `central-${randomUUID().slice(0, 8)}`;
  const s3 = new S3Client({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3_CREDS,
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const storeOptions: StoreOptions = {
    s3: { endpoint: moto.endpoint!, region: 'us-east-1', credentials: S3_CREDS },
    ...emulatorOptions(['azure']),
  };
  const id = randomUUID().slice(0, 6);
  const regions = ['a', 'b', 'c'].map((x) => `p${id}${x}`);
  const taskQueue = `test-promote-${id}`;
  const centralUrl = `s3://${bucket}/central`;
  const replicaUrl = `${dr.url}/central-replica`;
  const name = `central-dr-${id}`;
  const yaml = `
storage:
  s3: { endpoint: "${moto.endpoint}", region: us-east-1 }
  azure: { endpoint: "${requireService('azure').endpoint}" }
temporal: { address: "${requireService('temporal').endpoint}" }
regions:
${regions
  .map(
    (r) => `  - name: ${r}
    cloud: local
    raw: ${local.url}/raw-${r}
    table: ${local.url}/regional-${r}
    taskQueue: ${taskQueue}
    ingest: { maxFilesPerBatch: 2, schedule: { every: 1h } }`,
  )
  .join('\n')}
central: { table: ${centralUrl}, maxVersionsPerBatch: 2, schedule: { every: 1h } }
replicate:
  - name: ${name}
    source: ${centralUrl}
    target: ${replicaUrl}
    taskQueue: ${taskQueue}
`;
  const configFile = path.join(new URL(local.url).pathname, 'tributary.yaml');
  writeFileSync(configFile, yaml);
  const config: Config = parseConfig(yaml, configFile);
  const scheduleIdsAll = regions.flatMap((r) => [ingestScheduleId(r), egressScheduleId(r)]);
  for (const r of config.regions) {
    await t.client.schedule.create(ingestScheduleOptions(r));
    await t.client.schedule.create(egressScheduleOptions(config, r));
  }
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions,
    workflowBundle: await workflowBundle(),
  });
  const open = (u: string) => openStore(u, storeOptions);
  const raws = await Promise.all(regions.map((r) => open(`${local.url}/raw-${r}`)));
  let fileNo = 0;
  const moreLogs = async (files: number) => {
    for (const raw of raws) await writeRawFiles(raw, files, 20, `logs/round-${fileNo}`);
    fileNo++;
  };
  const ingestAll = () => Promise.all(regions.map((r) => runAsSchedule(t.client, ingestScheduleId(r))));
  const egressAll = () => Promise.all(regions.map((r) => runAsSchedule(t.client, egressScheduleId(r))));
  try {
    await w.worker.runUntil(async () => {
      // Rounds against the primary, central cloned to the replica after each.
      for (let round = 0; round < 2; round++) {
        await moreLogs(3);
        await ingestAll();
        await egressAll();
        const c = await cloneTable(await open(centralUrl), await open(replicaUrl));
        expect(c.kind).toBe('committed');
      }
      const replicaStore = await open(replicaUrl);
      const centralStore = await open(centralUrl);
      const clonedAt = (await snapshot(replicaStore)).txnVersion(
        cloneAppId((await snapshot(centralStore)).metadata.id),
      );
      expect(clonedAt).toBe((await snapshot(centralStore)).version);

      // After the last clone: region a's egress commits to the primary only (the gap the replica misses).
      await moreLogs(3);
      await ingestAll();
      await runAsSchedule(t.client, egressScheduleId(regions[0]!));
      const onPrimaryA = (await snapshot(centralStore)).txnVersion(egressAppIdFor(regions[0]!))!;
      const onReplicaA = (await snapshot(replicaStore)).txnVersion(egressAppIdFor(regions[0]!))!;
      expect(onPrimaryA).toBeGreaterThan(onReplicaA);

      // The others are mid-run when the primary's store dies.
      const inFlight = regions
        .slice(1)
        .map((r) => runAsSchedule(t.client, egressScheduleId(r)).catch((e: unknown) => e));
      // Killed once both runs are under way, at a random moment of their first batches.
      for (const r of regions.slice(1))
        while ((await describeOrUndefined(t.client, `egress/${r}/central`))?.status.name !== 'RUNNING')
          await sleep(20);
      await sleep(Math.floor(Math.random() * 300));
      process.kill(-moto.pid!, 'SIGKILL');
      await moreLogs(2);

      // Promote, as an operator would from the client (the CLI and the UI start the same workflow).
      const input = { ...promoteInputOf(config, name), finalCloneTimeoutSeconds: 8 };
      const h = await t.client.workflow.start('promoteReplica', {
        taskQueue,
        workflowId: `promote-replica/${name}`,
        args: [input],
      });
      const res = (await h.result()) as PromotionState;
      expect((await h.query<PromotionState>('promotionState')).phase).toBe('done');
      // Each was terminated by the promotion, or had finished before the kill.
      const ended = await Promise.all(inFlight);
      for (const [i, r] of regions.slice(1).entries()) {
        const stopped = res.stopped.find((x) => x.workflowId === `egress/${r}/central`)!;
        expect(stopped.outcome === 'terminated').toBe(ended[i] instanceof Error);
      }
      const plan = res.plan!;
      expect(plan.primaryReadable).toBe(false);
      expect(plan.finalClone?.ok).toBe(false);
      expect(plan.recordedSourceVersion).toBe(clonedAt);
      expect(res.switched.map((s) => [s.scheduleId, s.outcome, s.fields])).toEqual(
        regions.map((r) => [egressScheduleId(r), 'switched', ['target.central']]),
      );
      const wa = plan.writers.find((x) => x.region === regions[0])!;
      expect(wa.replicaVersion).toBe(onReplicaA);
      expect(wa.resend.from).toBe(onReplicaA + 1);
      expect(wa.resend.to).toBe((await snapshot(await open(`${local.url}/regional-${regions[0]}`))).version);
      expect(wa.resend.to!).toBeGreaterThanOrEqual(onPrimaryA);
      expect(wa.text).toMatch(
        new RegExp(
          `re-sends every one of its source versions after ${onReplicaA} \\(${onReplicaA + 1}\\.\\.`,
        ),
      );
      expect(res.resent).toHaveLength(regions.length);

      // Each egress Schedule now writes the replica; ingest Schedules are untouched.
      for (const r of regions) {
        const d = await t.client.schedule.getHandle(egressScheduleId(r)).describe();
        const args = d.action.type === 'startWorkflow' ? d.action.args : [];
        expect((args?.[0] as { target: { central: string } }).target.central).toBe(replicaUrl);
        expect(d.state.paused).toBe(false);
        expect(parsePromotionNotes(d.state.note)).toMatchObject([{ name, from: centralUrl, to: replicaUrl }]);
      }

      // `schedules apply` from the same config keeps the promotion and says so.
      const applied = await applySchedules(t.client, config);
      expect(applied.promoted?.map((k) => k.scheduleId)).toEqual(regions.map(egressScheduleId));
      expect(applied.promoted?.[0]?.message).toMatch(/kept .* on replica .* --back/);
      for (const r of regions) {
        const d = await t.client.schedule.getHandle(egressScheduleId(r)).describe();
        const args = d.action.type === 'startWorkflow' ? d.action.args : [];
        expect((args?.[0] as { target: { central: string } }).target.central).toBe(replicaUrl);
      }

      // Logs keep arriving; the pipelines run off the Schedules' args.
      await moreLogs(2);
      await ingestAll();
      await egressAll();
      await moreLogs(1);
      await ingestAll();
      await egressAll();

      const approved = (
        await Promise.all(
          regions.map(async (r) =>
            (await tableRows(await open(`${local.url}/regional-${r}`))).filter(
              (x) => x.egress_approved === true,
            ),
          ),
        )
      ).flat();
      const rows = await tableRows(replicaStore);
      const keys = rows.map(key);
      expect(new Set(keys).size).toBe(rows.length);
      expect(new Set(keys)).toEqual(new Set(approved.map(key)));
      expect(rows.length).toBe(approved.length);
      expect(approved.length).toBeGreaterThan(0);
      // Every region's egress caught up on the replica.
      for (const r of regions)
        expect((await snapshot(replicaStore)).txnVersion(egressAppIdFor(r))).toBe(
          (await snapshot(await open(`${local.url}/regional-${r}`))).version,
        );
    });
    await w.close();

    // The CLI's plan now: every Schedule already switched, the primary unreadable.
    const cliEnvVars = {
      TEMPORAL_ADDRESS: requireService('temporal').endpoint,
      AWS_ACCESS_KEY_ID: S3_CREDS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDS.secretAccessKey,
      AZURE_STORAGE_KEY: AZURITE_KEY,
    };
    const dry = await cliEnv(
      cliEnvVars,
      'failover',
      'table',
      '--replica',
      name,
      '--dry-run',
      '--config',
      configFile,
    );
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`promotion of ${name} (the central table): ${centralUrl} → ${replicaUrl}`);
    expect(dry.stdout).toMatch(/cannot be read/);
    for (const r of regions)
      expect(dry.stdout).toContain(`schedule ${egressScheduleId(r)}: already switched`);

    // Fail back: the primary's store is back (empty, on the same endpoint); `failover table --back`
    // clones the replica onto it (a replace) and switches the Schedules back. A fresh worker: the old one
    // had the lost primary's snapshot cached.
    const moto2 = await restartMoto(moto.endpoint!, motoLogs);
    try {
      const s3b = new S3Client({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: S3_CREDS,
      });
      await s3b.send(new CreateBucketCommand({ Bucket: bucket }));
      s3b.destroy();
      const w2 = await createRegionWorker({
        connection: t.native,
        taskQueue,
        storeOptions,
        workflowBundle: await workflowBundle(),
      });
      try {
        await w2.worker.runUntil(async () => {
          const back = await cliEnv(
            cliEnvVars,
            'failover',
            'table',
            '--replica',
            name,
            '--back',
            '--json',
            '--config',
            configFile,
          );
          expect(back.code).toBe(0);
          const [planLine, resultLine] = back.stdout.trim().split('\n');
          expect(JSON.parse(planLine!).plan.warnings.join(' ')).toMatch(/final clone \(a replace\) makes it/);
          const result = JSON.parse(resultLine!).result as PromotionState;
          expect(result.plan!.finalClone).toMatchObject({ ok: true });
          expect(result.switched.map((x) => x.outcome)).toEqual(regions.map(() => 'switched'));
          for (const r of regions) {
            const d = await t.client.schedule.getHandle(egressScheduleId(r)).describe();
            const args = d.action.type === 'startWorkflow' ? d.action.args : [];
            expect((args?.[0] as { target: { central: string } }).target.central).toBe(centralUrl);
            expect(parsePromotionNotes(d.state.note)).toEqual([]);
          }
          await moreLogs(1);
          await ingestAll();
          await egressAll();
          const approved = (
            await Promise.all(
              regions.map(async (r) =>
                (await tableRows(await open(`${local.url}/regional-${r}`))).filter(
                  (x) => x.egress_approved === true,
                ),
              ),
            )
          ).flat();
          const rows = await tableRows(await open(centralUrl));
          expect(new Set(rows.map(key)).size).toBe(rows.length);
          expect(new Set(rows.map(key))).toEqual(new Set(approved.map(key)));
        });
      } finally {
        await w2.close();
      }
    } finally {
      await moto2.stop();
    }
  } finally {
    await w.close().catch(() => undefined);
    for (const s of scheduleIdsAll)
      await t.client.schedule
        .getHandle(s)
        .delete()
        .catch(() => undefined);
    await moto.stop();
    await t.close();
    await local.cleanup();
    await dr.cleanup();
  }
});
