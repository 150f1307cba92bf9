/**
 * Crash safety of forkTable: 12 runs, each SIGKILLs its child-process worker at a random moment of one of
 * the four steps (clone; routing + barrier; backfill; plan/delete/verify), three runs per step, four runs
 * at a time, while three regions keep egressing (FakeEgress). The worker is restarted each time; every run
 * must end verified, and an independent check after the regions stop finds every row they wrote in exactly
 * one table, the right one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { checkFork } from '../../lake/table/fork-check';
import type { ForkInput, ForkResult, ForkState, ForkStep } from '../../shapes/fork';
import { workflowIds } from '../../shapes/queues';
import { storeOpener } from '../../workers/region-worker';
import { forkStateQuery } from '../../workflows/fork';
import { requireService } from '../harness/env';
import { PROJECT_ROOT } from '../harness/services';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { temporal, workflowBundle } from '../ingest/helpers';
import { FakeEgress } from './helpers';

// About 215 s alone on 2 cores; the headroom is for a neighbour suite sharing the cores.
jest.setTimeout(720_000);

// What a run leaves going (region loops, worker processes): stopped by afterAll even when the test timed
// out, so nothing of this suite keeps running into the next suite of this Jest worker.
const live = new Set<() => Promise<void>>();
afterAll(async () => {
  for (const stop of live) await stop().catch(() => {});
});

const RUNS = 12;
const PARALLEL = 4;
const GROUPS: ForkStep[][] = [
  ['cloning'],
  ['routing', 'barrier'],
  ['backfilling'],
  ['planning', 'deleting', 'verifying'],
];
const FORK_BACKENDS: BackendKind[] = ['s3', 'azure', 'gcs'];
const REGIONS = ['eu', 'us', 'ap'];

interface RunReport {
  run: number;
  target: number;
  killedIn: ForkStep[];
  seconds: number;
  verified: boolean;
  rows: number;
}

async function oneRun(client: Client, bundleFile: string, run: number): Promise<RunReport> {
  const started = Date.now();
  const target = run % GROUPS.length;
  const backend = FORK_BACKENDS[run % FORK_BACKENDS.length]!;
  const a = await createTestLocation('local');
  const b = await createTestLocation(backend);
  const opts = emulatorOptions([backend]);
  const open = storeOpener(opts);
  const mainUrl = `${a.url}/central`;
  const forkUrl = `${b.url}/central_gold`;
  const main = await open(mainUrl);
  const egress = REGIONS.map((r) => new FakeEgress(r, main, open, 4));
  const stopRun = async () => {
    for (const e of egress) await e.stop().catch(() => {});
    if (child) await killWorker().catch(() => {});
  };
  live.add(stopRun);
  const name = `fkk${run}-${randomUUID().slice(0, 6)}`;
  const taskQueue = `fork-kill-${name}`;
  let child: ChildProcess | undefined;
  const startWorker = () => {
    child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'kill-worker.ts')], {
      cwd: PROJECT_ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: requireService('temporal').endpoint,
        TASK_QUEUE: taskQueue,
        WORKFLOW_BUNDLE: bundleFile,
        STORE_OPTIONS: JSON.stringify(opts),
      },
    });
  };
  const killWorker = async () => {
    const c = child!;
    c.kill('SIGKILL');
    if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
  };
  const killedIn: ForkStep[] = [];
  const watchdogs = new Set<ReturnType<typeof setInterval>>();
  try {
    // Enough history that the first clone takes a moment: 3 regions × 8 batches (× 24 for runs that kill
    // the first clone, which is otherwise often over before the worker answers the first query).
    for (let i = 0; i < (target === 0 ? 24 : 8); i++) for (const e of egress) await e.step();
    for (const e of egress) e.start(400);
    startWorker();
    const input: ForkInput = {
      name,
      main: mainUrl,
      fork: forkUrl,
      subset: "tier = 'gold'",
      regions: REGIONS,
      approval: 'auto',
      barrierPollSeconds: 0.5,
      // A killed attempt is retried after this. 2 s was too short for a starved CI machine: the SDK sends a
      // heartbeat at most every 0.8 × the timeout, so a live attempt lost its heartbeat and started over.
      heartbeatTimeoutSeconds: 5,
      concurrency: 2,
    };
    const handle = await client.workflow.start('forkTable', {
      taskQueue,
      workflowId: workflowIds.fork(name),
      args: [input],
      workflowTaskTimeout: '2 seconds',
    });
    const step = async (): Promise<ForkStep | undefined> => {
      const q = handle.query(forkStateQuery).then((s: ForkState) => s.step);
      q.catch(() => {});
      return Promise.race([q, sleep(1500).then(() => undefined)]);
    };
    const done = handle.result().then(
      (r) => r as ForkResult,
      (e: unknown) => e as Error,
    );
    let finished = false;
    void done.then(() => (finished = true));
    // A run that takes long says where it is every minute (its pending activities and their attempts), so
    // a run that never ends shows why.
    const watchdog = setInterval(() => {
      void handle.describe().then(
        (d) => {
          const pending = (d.raw.pendingActivities ?? []).map(
            (a) =>
              `${a.activityType?.name} attempt ${a.attempt}` +
              (a.lastFailure?.message ? ` (last failure: ${a.lastFailure.message.slice(0, 120)})` : ''),
          );
          process.stdout.write(
            `fork kill run ${run}: still running after ${((Date.now() - started) / 1000).toFixed(0)} s; ` +
              `killed in ${killedIn.join(',') || '(not yet)'}; pending: ${pending.join('; ') || 'none'}\n`,
          );
        },
        () => {},
      );
    }, 60_000);
    watchdogs.add(watchdog);
    // Wait for the target step, then kill at a random moment inside it. Step 4's runs aim in turn at its
    // plan, its deletes and its verification.
    const aim = target === 3 ? [GROUPS[3]![Math.floor(run / GROUPS.length) % 3]!] : GROUPS[target]!;
    while (!finished && killedIn.length === 0) {
      const s = await step();
      if (s && aim.includes(s)) {
        // A first clone of a small table is short: kill within its first 100 ms.
        await sleep(Math.random() * (target === 0 ? 100 : 250));
        const now = await step();
        if (now && GROUPS[target]!.includes(now) && !finished) {
          await killWorker();
          killedIn.push(now);
          startWorker();
        }
      } else await sleep(30);
    }
    const result = await done;
    if (result instanceof Error) throw result;
    expect(result.verification.verified).toBe(true);

    for (const e of egress) await e.stop();
    const written = egress.flatMap((e) => e.written);
    const check = await checkFork(main, await open(forkUrl), {
      subset: input.subset,
      baseVersion: result.verification.baseVersion,
    });
    expect(check).toMatchObject({ verified: true, expectedKeys: written.length });
    expect(check.forkRows).toBe(written.filter((r) => r.tier === 'gold').length);
    return {
      run,
      target,
      killedIn,
      seconds: (Date.now() - started) / 1000,
      verified: check.verified,
      rows: written.length,
    };
  } finally {
    for (const w of watchdogs) clearInterval(w);
    live.delete(stopRun);
    await stopRun();
    await a.cleanup();
    await b.cleanup();
  }
}

test(`SIGKILL the worker in each of the four fork steps (${RUNS} runs): every run ends verified`, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'tributary-fork-kill-'));
  const bundleFile = path.join(work, 'workflows.js');
  writeFileSync(bundleFile, (await workflowBundle()).code);
  const t = await temporal();
  const reports: RunReport[] = [];
  try {
    // A run whose kill missed its step (the step ended first) is run again for that step, at most 6 times.
    const queue = Array.from({ length: RUNS }, (_, i) => i);
    let extra = 0;
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let run = queue.shift(); run !== undefined; run = queue.shift()) {
          const r = await oneRun(t.client, bundleFile, run);
          reports.push(r);
          // As each run ends, so a slow suite shows how far it got.
          process.stdout.write(`fork kill run ${r.run} done in ${r.seconds.toFixed(1)} s\n`);
          if (!r.killedIn.some((s) => GROUPS[r.target]!.includes(s)) && extra < 6)
            queue.push(RUNS + GROUPS.length * extra++ + r.target);
        }
      }),
    );
  } finally {
    await t.close();
  }
  reports.sort((x, y) => x.run - y.run);
  for (const r of reports)
    process.stdout.write(
      `fork kill run ${r.run}: step ${r.target + 1}, killed in ${r.killedIn.join(',') || '(missed)'}; ` +
        `${r.rows} rows, verified ${r.verified}, ${r.seconds.toFixed(1)} s\n`,
    );
  expect(reports.length).toBeGreaterThanOrEqual(RUNS);
  expect(reports.every((r) => r.verified)).toBe(true);
  for (let g = 0; g < GROUPS.length; g++)
    expect(
      reports.filter((r) => r.target === g && r.killedIn.some((s) => GROUPS[g]!.includes(s))).length,
    ).toBeGreaterThanOrEqual(3);
});
