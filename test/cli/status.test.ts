/**
 * `tributary status` end to end: a deployment of four regions (two on local folders, one on S3 through
 * moto, one on an Azure endpoint nobody listens on), a central table and a replica, on the dev server.
 * One region is ingested and egressed by a worker running here; the others have raw files and no worker.
 * The JSON, the text and `--watch` are checked against what the tables and Temporal really hold.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../config/load';
import { storeOptionsOf, taskQueueOf } from '../../config/targets';
import { Snapshot } from '../../lake/delta/snapshot';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { defaultEngine } from '../../lake/table/operations';
import { scheduleIds } from '../../shapes/queues';
import { createRegionWorker } from '../../workers/region-worker';
import type { CreatedWorker } from '../../workers/worker';
import type { StatusReport } from '../../cli/status-gather';
import { bytesText } from '../../cli/units';
import { BIN, cliEnv } from '../harness/cli';
import { requireService } from '../harness/env';
import { freePort } from '../harness/services';
import { AZURITE_KEY, createTestLocation } from '../harness/stores';
import { temporal, workflowBundle, writeRawFiles } from '../ingest/helpers';

jest.setTimeout(300_000);

const id = randomUUID().slice(0, 6);
const A = `st-a-${id}`; // ingested and egressed; a worker polls its queue
const B = `st-b-${id}`; // raw files only, ingest Schedule paused, no worker
const C = `st-c-${id}`; // on S3 (moto), raw files only
const D = `st-d-${id}`; // on an Azure endpoint that refuses connections
const R = `st-r-${id}`; // central's replica, run by A's queue

const env = () => ({
  TRIBUTARY_S3_ENDPOINT: requireService('s3').endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AZURE_STORAGE_ACCOUNT: 'devstoreaccount1',
  AZURE_STORAGE_KEY: AZURITE_KEY,
});
const run = (...args: string[]) => cliEnv(env(), ...args);

let local: { url: string; cleanup(): Promise<void> };
let s3: { url: string; cleanup(): Promise<void> };
let cfgFile: string;
let t: Awaited<ReturnType<typeof temporal>>;
let w: CreatedWorker;
let running: Promise<void>;
const rawBytes: Record<string, number> = {};

async function rawSize(raw: ObjectStore): Promise<number> {
  let n = 0;
  for await (const m of raw.list('')) n += m.size;
  return n;
}

const status = async (): Promise<StatusReport> => {
  const out = await run('status', '--config', cfgFile, '--json');
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as StatusReport;
};
const regionOf = (s: StatusReport, name: string) => s.regions.find((r) => r.region === name)!;

beforeAll(async () => {
  local = await createTestLocation('local');
  s3 = await createTestLocation('s3');
  const deadPort = await freePort();
  const dir = new URL(local.url).pathname;
  const yaml = `
temporal: { address: "${requireService('temporal').endpoint}" }
storage:
  s3: { endpoint: "${requireService('s3').endpoint}", region: us-east-1 }
  azure: { endpoint: "http://127.0.0.1:${deadPort}" }
regions:
  - { name: ${A}, cloud: local, raw: ${local.url}/a/raw, table: ${local.url}/a/table, ingest: { schedule: { every: 1h } } }
  - { name: ${B}, cloud: local, raw: ${local.url}/b/raw, table: ${local.url}/b/table, ingest: { schedule: { every: 1h, paused: true } } }
  - { name: ${C}, cloud: aws, raw: ${s3.url}/c/raw, table: ${s3.url}/c/table, ingest: { schedule: { every: 1h, paused: true } } }
  - { name: ${D}, cloud: azure, raw: "az://devstoreaccount1/nowhere/raw", table: "az://devstoreaccount1/nowhere/table", ingest: { schedule: { every: 1h, paused: true } } }
central: { table: ${local.url}/central, schedule: { every: 1h } }
replicate:
  - { name: ${R}, source: ${local.url}/central, target: ${local.url}/replica, region: ${A}, schedule: { every: 1h, paused: true } }
`;
  cfgFile = path.join(dir, 'tributary.yaml');
  writeFileSync(cfgFile, yaml);
  const config = parseConfig(yaml, cfgFile);
  const opts = {
    ...storeOptionsOf(config),
    s3: { ...storeOptionsOf(config).s3, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } },
  };

  const rawA = await openStore(`${local.url}/a/raw`);
  await writeRawFiles(rawA, 3, 10);
  await rawA.put(
    'logs/bad.jsonl',
    `not json\n${JSON.stringify({ ts: '2024-05-01T00:00:00Z', msg: 'ok' })}\n`,
  );
  const rawB = await openStore(`${local.url}/b/raw`);
  await writeRawFiles(rawB, 3, 5);
  rawBytes[B] = await rawSize(rawB);
  const rawC = await openStore(`${s3.url}/c/raw`, opts);
  await writeRawFiles(rawC, 2, 5);
  rawBytes[C] = await rawSize(rawC);

  t = await temporal();
  w = await createRegionWorker({
    connection: t.native,
    taskQueue: taskQueueOf(config.regions[0]!),
    storeOptions: opts,
    workflowBundle: await workflowBundle(),
  });
  running = w.worker.run();
  const ingest = await run('ingest', 'run', '--region', A, '--config', cfgFile, '--json');
  expect(ingest.code).toBe(0);
  expect(JSON.parse(ingest.stdout)).toMatchObject({ files: 4, rows: 31, quarantined: 1 });
  const egress = await run('egress', 'run', '--region', A, '--config', cfgFile, '--json');
  expect(egress.code).toBe(0);
  const applied = await run('schedules', 'apply', '--config', cfgFile);
  expect(applied.code).toBe(0);
  await t.client.schedule.getHandle(scheduleIds.egress(D)).delete();
});

afterAll(async () => {
  const all = [A, B, C, D].flatMap((r) => [scheduleIds.ingest(r), scheduleIds.egress(r)]);
  for (const s of [...all, scheduleIds.replicate(R)])
    await t?.client.schedule
      .getHandle(s)
      .delete()
      .catch(() => {});
  w?.worker.shutdown();
  await running;
  await w?.close();
  await t?.close();
  await local?.cleanup();
  await s3?.cleanup();
});

test('--json: backlog, last ingest, quarantine, egress lag, replica lag, Schedules, pollers, errors', async () => {
  const s = await status();
  const regional = await Snapshot.load(await openStore(`${local.url}/a/table`), defaultEngine);
  const central = await Snapshot.load(await openStore(`${local.url}/central`), defaultEngine);
  expect(s).toMatchObject({
    shape: 1,
    temporal: { address: requireService('temporal').endpoint, namespace: 'default', error: null },
    central: { table: `${local.url}/central`, version: central.version, error: null },
  });
  expect(Date.now() - Date.parse(s.at)).toBeLessThan(60_000);

  const a = regionOf(s, A);
  expect(a).toMatchObject({
    cloud: 'local',
    taskQueue: `tributary-${A}`,
    tableVersion: regional.version,
    backlog: { files: 0, bytes: 0, pendingBatches: 0, unplannedFiles: 0 },
    lastIngest: { version: regional.version, batch: 0, rows: 31, quarantined: 1 },
    quarantinedLastDay: 1,
    egress: {
      sourceVersion: regional.version,
      latestSourceVersion: regional.version,
      lagVersions: 0,
      lagSeconds: 0,
      centralVersion: central.version,
    },
    workers: { taskQueue: `tributary-${A}`, polled: true },
    errors: [],
  });
  expect(Date.now() - Date.parse(a.lastIngest!.at)).toBeLessThan(300_000);
  expect(a.egress!.at).not.toBeNull();
  expect(a.workers!.workflowPollers).toBeGreaterThan(0);
  expect(a.workers!.activityPollers).toBeGreaterThan(0);
  expect(a.schedules.map((x) => [x.id, x.state, x.taskQueue])).toEqual([
    [scheduleIds.ingest(A), 'active', `tributary-${A}`],
    [scheduleIds.egress(A), 'active', `tributary-${A}`],
    [scheduleIds.replicate(R), 'paused', `tributary-${A}`],
  ]);
  const next = Date.parse(a.schedules[0]!.nextRunAt!);
  expect(next).toBeGreaterThan(Date.parse(s.at));
  expect(next - Date.parse(s.at)).toBeLessThanOrEqual(3_600_000);

  const b = regionOf(s, B);
  expect(b).toMatchObject({
    tableVersion: null,
    backlog: { files: 3, bytes: rawBytes[B], pendingBatches: 0, unplannedFiles: 3 },
    lastIngest: null,
    quarantinedLastDay: 0,
    egress: { sourceVersion: -1, latestSourceVersion: null, lagVersions: 0, lagSeconds: 0, at: null },
    workers: { taskQueue: `tributary-${B}`, polled: false, workflowPollers: 0, activityPollers: 0 },
    errors: [],
  });
  expect(b.schedules[0]).toMatchObject({ id: scheduleIds.ingest(B), state: 'paused', nextRunAt: null });

  const c = regionOf(s, C);
  expect(c).toMatchObject({
    cloud: 'aws',
    backlog: { files: 2, bytes: rawBytes[C] },
    lastIngest: null,
    errors: [],
  });

  // The Azure region's store refuses connections: its row says so, part by part; the key never shows.
  const d = regionOf(s, D);
  expect(d.backlog).toBeNull();
  expect(d.lastIngest).toBeNull();
  expect(d.errors.map((e) => e.section).sort()).toEqual(['backlog', 'egress', 'ingest', 'quarantine']);
  for (const e of d.errors) expect(e.message).toMatch(/STORAGE_TRANSIENT|nowhere/);
  expect(d.schedules.map((x) => [x.id, x.state])).toEqual([
    [scheduleIds.ingest(D), 'paused'],
    [scheduleIds.egress(D), 'missing'],
  ]);
  expect(JSON.stringify(s)).not.toContain(AZURITE_KEY.slice(0, 20));

  expect(s.replicas).toEqual([
    expect.objectContaining({
      name: R,
      region: A,
      taskQueue: `tributary-${A}`,
      sourceVersion: central.version,
      recordedSourceVersion: null,
      lagVersions: central.version + 1,
      lastCloneAt: null,
      schedule: expect.objectContaining({ id: scheduleIds.replicate(R), state: 'paused' }),
      workers: expect.objectContaining({ polled: true }),
      errors: [],
    }),
  ]);
  expect(s.replicas[0]!.lagSeconds).toBeGreaterThanOrEqual(0);
});

test('text: one block per region and replica, with the lines an operator looks for', async () => {
  const cloned = await run('clone', 'run', '--replica', R, '--config', cfgFile, '--json');
  expect(cloned.code).toBe(0);
  const out = await run('status', '--config', cfgFile);
  expect(out.code).toBe(0);
  expect(out.stderr).toBe('');
  const text = out.stdout;
  expect(text).toMatch(/^tributary status at \d{4}-\d\d-\d\dT/);
  expect(text).toMatch(new RegExp(`^region ${A} \\(local\\): table v\\d+ `, 'm'));
  expect(text).toMatch(/^ {2}backlog {6}0 files, 0 B not ingested \(0 batches pending\)$/m);
  expect(text).toContain(
    `  backlog      3 files, ${bytesText(rawBytes[B]!)} not ingested (0 batches pending)`,
  );
  expect(text).toMatch(/^ {2}last ingest {2}v\d+ at .* ago\): batch 0, 31 rows, 1 quarantined$/m);
  expect(text).toContain('  quarantine   1 line in the last 24 h');
  expect(text).toMatch(
    /^ {2}egress {7}v\d+ of v\d+ in central \(at .*, central v\d+\), lag 0 versions \/ 0 s$/m,
  );
  expect(text).toMatch(
    new RegExp(`^ {2}schedule {5}ingest-${A}: active, next run \\S+ \\(in \\d+ (s|min)\\)`, 'm'),
  );
  expect(text).toMatch(new RegExp(`^ {2}schedule {5}ingest-${B}: PAUSED`, 'm'));
  expect(text).toContain(`  schedule     egress-${D}: MISSING (run 'tributary schedules apply')`);
  expect(text).toMatch(
    new RegExp(`^ {2}workers {6}tributary-${A}: \\d+ workflow pollers?, \\d+ activity pollers?`, 'm'),
  );
  expect(text).toContain(`  workers      tributary-${B}: NO worker polls it`);
  expect(text).toMatch(/^ {2}ERROR {8}backlog: /m);
  expect(text).toMatch(new RegExp(`^replica ${R}: `, 'm'));
  expect(text).toMatch(/^ {2}lag {10}v\d+ of v\d+, lag 0 versions \/ 0 s, last clone /m);
  expect(text).not.toContain(AZURITE_KEY.slice(0, 20));
});

test('--watch: frames until Ctrl-C, separated by a blank line when not on a terminal', async () => {
  const child = spawn(process.execPath, [BIN, 'status', '--config', cfgFile, '--watch', '0.5'], {
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const frames = () => out.split(/^tributary status at /m).length - 1;
  const deadline = Date.now() + 120_000;
  while (frames() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(frames()).toBeGreaterThanOrEqual(2);
  child.kill('SIGINT');
  expect(await exit).toBe(0);
  expect(err).toBe('');
  expect(out).toContain('\n\ntributary status at ');
  expect(out).not.toContain('\x1b[');
});
