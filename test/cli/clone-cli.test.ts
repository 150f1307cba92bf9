/**
 * `tributary clone run|status` as an operator runs them, on real stores (local source, S3 replica on moto):
 * in-process (--local) full, incremental and no-op runs; through Temporal (replicateTable on a worker) for a
 * config's replicate: entry; its Schedule from `schedules apply`; bad selections refused clearly.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { parseConfig } from '../../config/load';
import { Snapshot } from '../../lake/delta/snapshot';
import { sqlString } from '../../lake/engine/duckdb';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { cloneAppId } from '../../lake/table/clone';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { scheduleIds } from '../../shapes/queues';
import { createRegionWorker } from '../../workers/region-worker';
import { applySchedules } from '../../workers/schedules';
import { cliEnv } from '../harness/cli';
import { requireService } from '../harness/env';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { temporal, workflowBundle } from '../ingest/helpers';

jest.setTimeout(180_000);

const dir = mkdtempSync(path.join(tmpdir(), 'tributary-clone-cli-'));
let n = 0;
function jsonl(from: number, count: number): string {
  const f = path.join(dir, `in-${n++}.jsonl`);
  const rows = Array.from({ length: count }, (_, i) => ({
    id: from + i,
    part: `p${(from + i) % 3}`,
    msg: `m${from + i}`,
  }));
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return `read_json(${sqlString(f)}, format = 'newline_delimited')`;
}

const S3_ENV = () => ({
  TRIBUTARY_S3_ENDPOINT: requireService('s3').endpoint,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
});

const rowsOf = async (s: ObjectStore, version?: number) =>
  (await scanRows(s, await Snapshot.load(s, defaultEngine, version === undefined ? {} : { version })))
    .map((r) => JSON.stringify({ id: Number(r.id), part: r.part, msg: r.msg }))
    .sort();

const sizeOf = (s: Snapshot) => s.files.reduce((t, f) => t + f.size, 0);

let src: { url: string; cleanup(): Promise<void> };
let dst: { url: string; cleanup(): Promise<void> };
beforeEach(async () => {
  src = await createTestLocation('local');
  dst = await createTestLocation('s3');
});
afterEach(async () => {
  await src.cleanup();
  await dst.cleanup();
});

test('clone run --local: full, incremental, no-op, with the metrics in snake_case; clone status', async () => {
  const sourceUrl = `${src.url}/events`;
  const targetUrl = `${dst.url}/events_replica`;
  const source = await openStore(sourceUrl);
  await writeTable(source, {
    sourceSql: jsonl(0, 40),
    partitionBy: ['part'],
    txn: { appId: 'w1', version: 1 },
  });
  const s0 = await Snapshot.load(source, defaultEngine);

  const run = (...extra: string[]) =>
    cliEnv(S3_ENV(), 'clone', 'run', '--local', '--source', sourceUrl, '--target', targetUrl, ...extra);
  const first = await run('--json');
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const r1 = JSON.parse(first.stdout);
  expect(r1).toMatchObject({
    kind: 'committed',
    mode: 'full',
    sourceVersion: 0,
    targetVersion: 0,
    carriedTxns: 1,
    bytesTransferred: sizeOf(s0),
    metrics: {
      source_table_size: sizeOf(s0),
      source_num_of_files: s0.files.length,
      num_copied_files: s0.files.length,
      copied_files_size: sizeOf(s0),
      num_removed_files: 0,
      removed_files_size: 0,
    },
    plan: { mode: 'full', adds: s0.files.length, objectsToCopy: s0.files.length },
  });
  expect(r1.name).toMatch(/^adhoc-[0-9a-f]{12}$/);
  const target = await openStore(targetUrl, emulatorOptions(['s3']));
  expect(await rowsOf(target)).toEqual(await rowsOf(source));

  await writeTable(source, { sourceSql: jsonl(40, 5), txn: { appId: 'w1', version: 2 } });
  const s1 = await Snapshot.load(source, defaultEngine);
  const added = s1.files.filter((f) => !s0.files.some((g) => g.path === f.path));
  const addedBytes = added.reduce((t, f) => t + f.size, 0);
  const second = await run();
  expect(second.code).toBe(0);
  expect(second.stderr).toMatch(
    new RegExp(
      `^plan: incremental, source v1 \\(last cloned 0\\), ${added.length} files to add, 0 to remove`,
    ),
  );
  expect(second.stdout).toContain(`cloned ${sourceUrl} v1 into ${targetUrl} v1 (incremental)`);
  expect(second.stdout).toContain(
    `source_table_size=${sizeOf(s1)} source_num_of_files=${s1.files.length} num_copied_files=${added.length} copied_files_size=${addedBytes} num_removed_files=0 removed_files_size=0`,
  );
  expect(second.stdout).toContain(`bytes transferred ${addedBytes} `);
  expect(await rowsOf(target)).toEqual(await rowsOf(source));

  const third = JSON.parse((await run('--json')).stdout);
  expect(third).toMatchObject({ kind: 'upToDate', bytesTransferred: 0, metrics: { num_copied_files: 0 } });

  const status = await cliEnv(
    S3_ENV(),
    'clone',
    'status',
    '--source',
    sourceUrl,
    '--target',
    targetUrl,
    '--json',
  );
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toEqual([
    expect.objectContaining({
      sourceVersion: 1,
      targetVersion: 1,
      recordedSourceVersion: 1,
      lagVersions: 0,
      lagSeconds: 0,
      bytesLastCopied: addedBytes,
      lastCloneVersion: 1,
    }),
  ]);
  // The source moves on: the replica lags by one version until the next run.
  await writeTable(source, { sourceSql: jsonl(45, 5) });
  const lagging = await cliEnv(S3_ENV(), 'clone', 'status', '--source', sourceUrl, '--target', targetUrl);
  expect(lagging.stdout).toMatch(
    new RegExp(
      `^adhoc-[0-9a-f]{12}: ${sourceUrl} v2 → ${targetUrl} v1 holds source v1, lag 1 versions / \\d+ s, bytes last copied ${addedBytes} \\(CLONE v1 at `,
    ),
  );
});

test('clone run --replica through Temporal (replicateTable on a worker), clone status, and its Schedule', async () => {
  const name = `r${randomUUID().slice(0, 8)}`;
  const taskQueue = `clone-cli-${name}`;
  const sourceUrl = `${src.url}/central`;
  const targetUrl = `${dst.url}/central_replica`;
  const source = await openStore(sourceUrl);
  await writeTable(source, { sourceSql: jsonl(0, 30), partitionBy: ['part'] });
  await writeTable(source, { sourceSql: jsonl(30, 30) });
  const yaml = `
temporal: { address: "${requireService('temporal').endpoint}" }
storage: { s3: { endpoint: "${requireService('s3').endpoint}", region: us-east-1 } }
regions:
  - { name: eu, cloud: local, raw: ${src.url}/raw, table: ${src.url}/eu }
replicate:
  - name: ${name}
    source: ${sourceUrl}
    target: ${targetUrl}
    taskQueue: ${taskQueue}
    schedule: { every: 1h, paused: true }
`;
  const cfgFile = path.join(dir, `${name}.yaml`);
  writeFileSync(cfgFile, yaml);
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: emulatorOptions(['s3']),
    workflowBundle: await workflowBundle(),
  });
  try {
    const out = await w.worker.runUntil(
      cliEnv(S3_ENV(), 'clone', 'run', '--replica', name, '--config', cfgFile, '--json'),
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const s = await Snapshot.load(source, defaultEngine);
    const r = JSON.parse(out.stdout);
    expect(r).toMatchObject({
      name,
      kind: 'committed',
      mode: 'full',
      sourceVersion: 1,
      metrics: { num_copied_files: s.files.length, copied_files_size: sizeOf(s) },
      bytesTransferred: sizeOf(s),
    });
    const target = await openStore(targetUrl, emulatorOptions(['s3']));
    expect(await rowsOf(target)).toEqual(await rowsOf(source, 1));
    expect((await Snapshot.load(target, defaultEngine)).txnVersion(cloneAppId(s.metadata.id))).toBe(1);

    const st = await cliEnv(S3_ENV(), 'clone', 'status', '--config', cfgFile);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(
      new RegExp(`^${name}: .* holds source v1, lag 0 versions / 0 s, bytes last copied ${sizeOf(s)} `),
    );

    // schedules apply: one replicateTable Schedule for the entry, on its queue, never overlapping.
    const config = parseConfig(yaml, cfgFile);
    const applied = await applySchedules(t.client, config);
    const id = scheduleIds.replicate(name);
    expect(applied.created).toContain(id);
    const handle = t.client.schedule.getHandle(id);
    try {
      const d = await handle.describe();
      expect(d.action).toMatchObject({
        type: 'startWorkflow',
        workflowType: 'replicateTable',
        taskQueue,
        workflowId: `replicate/${name}`,
        args: [{ target: { name, source: sourceUrl, target: targetUrl } }],
      });
      expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
      expect(d.state.paused).toBe(true);
      expect((await applySchedules(t.client, config)).updated).toContain(id);
    } finally {
      await handle.delete();
      for (const sid of [...applied.created]) if (sid !== id) await t.client.schedule.getHandle(sid).delete();
    }
  } finally {
    await w.close();
    await t.close();
  }
});

test('clone run refuses unclear selections with one clear line', async () => {
  const both = await cliEnv({}, 'clone', 'run', '--local', '--replica', 'x', '--source', 'file:///tmp/a');
  expect(both.code).toBe(1);
  expect(both.stderr).toBe('error (BAD_INPUT): give either --replica or --source and --target, not both\n');
  const half = await cliEnv({}, 'clone', 'run', '--local', '--source', 'file:///tmp/a');
  expect(half.stderr).toBe('error (BAD_INPUT): an ad-hoc clone needs both --source and --target\n');
  const none = await cliEnv({}, 'clone', 'run', '--local');
  expect(none.stderr).toBe(
    'error (BAD_INPUT): give --replica <name> (from config) or --source <url> --target <url>\n',
  );
  const same = await cliEnv(
    {},
    'clone',
    'run',
    '--local',
    '--source',
    'file:///tmp/a',
    '--target',
    'file:///tmp/a/',
  );
  expect(same.stderr).toBe(
    'error (BAD_INPUT): a replica cannot be its own source (--source equals --target)\n',
  );
  const ver = await cliEnv(
    {},
    'clone',
    'run',
    '--local',
    '--source',
    'file:///tmp/a',
    '--target',
    'file:///tmp/b',
    '--version',
    'x',
  );
  expect(ver.stderr).toBe('error (BAD_INPUT): --version must be a non-negative integer, got "x"\n');
});

test('a replication run before its source has a table says so and succeeds (no failed activity)', async () => {
  const name = `r${randomUUID().slice(0, 8)}`;
  const taskQueue = `clone-cli-${name}`;
  const sourceUrl = `${src.url}/not_yet`;
  const cfgFile = path.join(dir, `${name}.yaml`);
  writeFileSync(
    cfgFile,
    `
temporal: { address: "${requireService('temporal').endpoint}" }
storage: { s3: { endpoint: "${requireService('s3').endpoint}", region: us-east-1 } }
regions:
  - { name: eu, cloud: local, raw: ${src.url}/raw, table: ${src.url}/eu }
replicate:
  - { name: ${name}, source: ${sourceUrl}, target: ${dst.url}/replica, taskQueue: ${taskQueue} }
`,
  );
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: emulatorOptions(['s3']),
    workflowBundle: await workflowBundle(),
  });
  try {
    const out = await w.worker.runUntil(
      cliEnv(S3_ENV(), 'clone', 'run', '--replica', name, '--config', cfgFile),
    );
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`${name}: source ${sourceUrl} has no Delta table yet: nothing to replicate\n`);
    const history = await t.client.workflow.getHandle(`replicate/${name}`).fetchHistory();
    const failed = (history.events ?? []).filter((e) => e.activityTaskFailedEventAttributes);
    expect(failed).toEqual([]);
    expect((history.events ?? []).some((e) => e.workflowExecutionCompletedEventAttributes)).toBe(true);
  } finally {
    await w.close();
    await t.close();
  }
});
