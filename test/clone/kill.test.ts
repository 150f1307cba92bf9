/**
 * Crash safety of replication: SIGKILL the worker running replicateTable at 10+ random moments while it
 * copies a source table of 600 files (local) into a replica on another backend (S3 on moto), restarting
 * it each time. Afterwards the replica is a valid Delta table equal to the source at the recorded version,
 * and the bytes written to the replica, counted by the worker processes themselves (not by the clone's own
 * counters), are at most 1.05 × the source's bytes: a retry copies only what was not there yet.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Snapshot } from '../../lake/delta/snapshot';
import { openStore } from '../../lake/storage/open';
import { cloneAppId } from '../../lake/table/clone';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { workflowIds } from '../../shapes/queues';
import type { ReplicationSummary } from '../../workflows/replicate';
import { requireService } from '../harness/env';
import { PROJECT_ROOT } from '../harness/services';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { deltaRsMeta } from '../interop/deltars';
import { temporal, workflowBundle } from '../ingest/helpers';

const KILLS = 10;
const FILES = 600;
const ROWS_PER_FILE = 750;
jest.setTimeout(600_000);

test(`SIGKILL the worker ${KILLS} times mid-clone: the replica equals the source, bytes copied ≤ 1.05 × source`, async () => {
  const src = await createTestLocation('local');
  const dst = await createTestLocation('s3');
  const work = mkdtempSync(path.join(tmpdir(), 'tributary-clone-kill-'));
  const countDir = mkdtempSync(path.join(work, 'counts-'));
  const bundleFile = path.join(work, 'workflows.js');
  writeFileSync(bundleFile, (await workflowBundle()).code);
  const name = `ck${randomUUID().slice(0, 6)}`;
  const taskQueue = `clone-kill-${name}`;
  const sourceUrl = `${src.url}/central`;
  const targetUrl = `${dst.url}/central_replica`;

  // About one file per partition, ~45 KB of incompressible hex each, in one write.
  const source = await openStore(sourceUrl);
  await writeTable(source, {
    sourceSql: `(SELECT i % ${FILES} AS p, i AS id, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) || md5((i + 3)::VARCHAR) AS payload FROM range(0, ${FILES * ROWS_PER_FILE}) t(i))`,
    partitionBy: ['p'],
  });
  const snap = await Snapshot.load(source, defaultEngine);
  const sourceBytes = snap.files.reduce((n, f) => n + f.size, 0);
  expect(snap.files.length).toBeGreaterThanOrEqual(FILES);

  const target = await openStore(targetUrl, emulatorOptions(['s3']));
  let child: ChildProcess | undefined;
  const startWorker = () => {
    child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'counting-worker.ts')], {
      cwd: PROJECT_ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: requireService('temporal').endpoint,
        TASK_QUEUE: taskQueue,
        COUNT_DIR: countDir,
        PACE_MS: '15',
        WORKFLOW_BUNDLE: bundleFile,
        STORE_OPTIONS: JSON.stringify(emulatorOptions(['s3'])),
      },
    });
  };
  // Data objects on the replica so far, and whether its first version is published.
  const copied = async () => {
    let n = 0;
    for await (const m of target.list('')) if (!m.key.startsWith('_delta_log/')) n++;
    return n;
  };
  const published = async () => {
    for await (const _ of target.list('_delta_log/')) return true;
    return false;
  };

  const t = await temporal();
  try {
    startWorker();
    const handle = await t.client.workflow.start('replicateTable', {
      taskQueue,
      workflowId: workflowIds.replicate(name),
      args: [
        {
          target: { name, source: sourceUrl, target: targetUrl },
          concurrency: 2,
          heartbeatTimeout: '3 seconds',
          maximumRetryInterval: '2 seconds',
        },
      ],
      workflowTaskTimeout: '2 seconds',
    });
    const running = async () => (await handle.describe()).status.name === 'RUNNING';
    let kills = 0;
    let midCopyKills = 0; // some objects copied, not all, nothing published, and the workflow still running
    while (midCopyKills < KILLS && (await running())) {
      // Wait until this worker copies something (it needs a moment to start and pick the retry up), then
      // kill it at a random moment while it copies.
      const start = await copied();
      for (let i = 0; i < 600 && (await copied()) === start && (await running()); i++) await sleep(100);
      await sleep(Math.random() * 1200);
      const before = await copied();
      const done = await published();
      child!.kill('SIGKILL');
      await new Promise((res) => child!.once('exit', res));
      kills++;
      if (before > 0 && before < snap.files.length && !done && (await running())) midCopyKills++;
      startWorker();
    }
    const result = (await handle.result()) as ReplicationSummary;
    if (result.kind === 'noSource') throw new Error(result.reason);
    const summary = result;
    expect(summary).toMatchObject({ kind: 'committed', mode: 'full', sourceVersion: snap.version });

    // The replica: a valid table (for Tributary and for delta-rs) equal to the source at the recorded version.
    const replica = await Snapshot.load(target, defaultEngine);
    expect(replica.txnVersion(cloneAppId(snap.metadata.id))).toBe(snap.version);
    expect(replica.version).toBe(0); // one commit: nothing half-published before it
    const fileSet = (s: Snapshot) =>
      s.files.map((f) => JSON.stringify([f.path, f.size, f.partitionValues, f.stats])).sort();
    expect(fileSet(replica)).toEqual(fileSet(snap));
    expect(replica.numRecords).toBe(FILES * ROWS_PER_FILE);
    const onTarget = new Map<string, number>();
    for await (const m of target.list('')) onTarget.set(m.key, m.size);
    for (const f of replica.files) expect(onTarget.get(decodeURIComponent(f.path))).toBe(f.size);
    const meta = await deltaRsMeta(targetUrl, 's3');
    expect(meta.version).toBe(0);
    expect(meta.files).toBe(snap.files.length);
    expect(meta.partitionColumns).toEqual(['p']);

    // Bytes written to the replica by every worker process, measured by the processes themselves.
    const written = readdirSync(countDir)
      .flatMap((f) => readFileSync(path.join(countDir, f), 'utf8').split('\n').filter(Boolean))
      .reduce((n, line) => n + Number(line), 0);
    let interrupted = 0;
    for (const e of (await handle.fetchHistory()).events ?? []) {
      const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
      if (attempt > 1) interrupted = Math.max(interrupted, attempt - 1);
    }
    process.stdout.write(
      `clone kill test: ${kills} kills, ${midCopyKills} mid-copy, ${interrupted} clone attempts interrupted; ` +
        `${snap.files.length} files, source ${sourceBytes} bytes, written ${written} bytes ` +
        `(${(written / sourceBytes).toFixed(3)}×) by ${readdirSync(countDir).length} worker processes; ` +
        `last attempt found ${summary.objectsAlreadyPresent} objects present and transferred ${summary.bytesTransferred} bytes\n`,
    );
    expect(midCopyKills).toBeGreaterThanOrEqual(KILLS);
    expect(written).toBeGreaterThanOrEqual(sourceBytes);
    expect(written).toBeLessThanOrEqual(1.05 * sourceBytes);
    expect(summary.objectsAlreadyPresent).toBeGreaterThan(0);
  } finally {
    child?.kill('SIGKILL');
    await t.close();
    await src.cleanup();
    await dst.cleanup();
  }
});
