/**
 * `npm run demo` — the whole system on one machine, no cloud account: starts the storage emulators (moto,
 * Azurite, fake-gcs-server; a plain local folder stands in for any that is not installed, and the demo says
 * so) and the Temporal dev server with its UI, writes a deployment config for ~6 regions over AWS, Azure
 * and GCP, generates service logs into each region's raw bucket in cycles, applies the ingest and egress
 * Schedules, runs one worker per region's task queue, shows progress, and ends with a reconciliation:
 * generated = ingested + quarantined and approved = central, per region, and the line
 * `reconciliation: OK` (or `reconciliation: FAILED <what differs>`). Ctrl-C stops it cleanly.
 *
 *   npm run demo                                      6 regions, 3 cycles
 *   npm run demo -- --regions 9 --cycles 5 --lines 5000
 *   npm run demo -- --temporal 127.0.0.1:7233        reuse a running Temporal server
 *   npm run demo -- --emulators s3              only moto; Azure and GCP regions on local folders
 *   npm run demo -- --keep                           keep services and workers up after the summary (Ctrl-C ends)
 *   npm run demo -- --failover                       mid-demo, the first region's worker stops and the region
 *                                                    fails over to a standby worker on another task queue
 *   npm run demo -- --fork                           mid-demo, central is forked live: the second region's
 *                                                    rows move to a table on another cloud (forkTable);
 *                                                    the cycles go on until the fork has ended
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { DefaultLogger, type NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import { plainSettings, temporalSettingsOf } from '../config/temporal';
import { connectClient, connectNative } from '../workers/connection';
import { egressAppIdFor } from '../shapes/targets';
import { parseDurationMs } from '../config/schema';
import { maintainEntriesOf, quarantineUrlOf, storeOptionsOf, taskQueueOf } from '../config/targets';
import type { ObjectStore } from '../lake/storage/object-store';
import { openStore } from '../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined } from '../lake/table/operations';
import { createRegionWorker } from '../workers/region-worker';
import type { CreatedWorker } from '../workers/worker';
import { applySchedules, egressScheduleId, ingestScheduleId } from '../workers/schedules';
import { scheduleIds as scheduleIdsOf, workflowIds } from '../shapes/queues';
import { doneLines, planLines } from '../cli/maintain';
import type { MaintenanceReport } from '../workflows/maintain';
import { replicaReconcile } from './demo-replica';
import { FreshnessMonitor, type RunningFork, demoForkInput, lagLines, startDemoFork } from './demo-fork';
import { stateText } from '../cli/fork';
import { renderStatus } from '../cli/status';
import { gatherStatus } from '../cli/status-gather';
import { demoLogFile } from './demo-logs';
import { AZURITE_ACCOUNT, type DemoEndpoints, type DemoLayout, demoLayout } from './demo-config';
import { type DemoCounts, type RegionCounts, countTables, reconcile } from './demo-reconcile';
import { handleClosedOutput } from '../cli/stdio';
import { runFailover } from '../cli/failover';
import { failoverInputOf } from '../config/failover';
import type { Config } from '../config/schema';
import { PROJECT_ROOT, type RunningService, type ServiceName, startServices } from './local-services';

/** The Azurite development key (published by Microsoft for the emulator; not a secret). */
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const { values: args } = parseArgs({
  options: {
    regions: { type: 'string', default: '6' },
    cycles: { type: 'string', default: '3' },
    files: { type: 'string', default: '3' },
    lines: { type: 'string', default: '2000' },
    every: { type: 'string', default: '5s' },
    'bad-every': { type: 'string', default: '250' },
    seed: { type: 'string', default: '1' },
    temporal: { type: 'string' },
    emulators: { type: 'string', default: 's3,azure,gcs' },
    timeout: { type: 'string', default: '10m' },
    dir: { type: 'string', default: path.join(PROJECT_ROOT, '.tributary', 'demo') },
    keep: { type: 'boolean', default: false },
    failover: { type: 'boolean', default: false },
    fork: { type: 'boolean', default: false },
  },
});

function int(name: keyof typeof args, min: number, max: number): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`demo: --${name} must be an integer in [${min}, ${max}], got ${args[name]}\n`);
    process.exit(2);
  }
  return n;
}

const REGIONS = int('regions', 1, 9);
const CYCLES = int('cycles', 1, 100);
const FILES = int('files', 1, 100);
const LINES = int('lines', 1, 1_000_000);
const BAD_EVERY = int('bad-every', 0, 1_000_000);
const SEED = int('seed', 0, 2 ** 31);
const EVERY = args.every!;
const DIR = path.resolve(args.dir!);

// The demo's output may go to a pipe that closes before it ends (`npm run demo | tee demo.log`, then Ctrl-C
// stops tee too): from then on lines are dropped, and the demo still stops everything it started.
let stdoutOpen = true;
handleClosedOutput(() => (stdoutOpen = false));
const say = (s: string) => {
  if (!stdoutOpen) return;
  try {
    process.stdout.write(`${s}\n`);
  } catch {
    stdoutOpen = false;
  }
};
const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;

/** Stops everything the demo started, once, whatever the exit path. */
class Cleanup {
  private steps: { what: string; run: () => Promise<unknown> }[] = [];
  private done = false;
  add(what: string, run: () => Promise<unknown>) {
    this.steps.push({ what, run });
  }
  async run(): Promise<void> {
    if (this.done) return;
    this.done = true;
    // Each step bounded in time: one that hangs (a worker waiting on an activity) must not keep the
    // services it comes before running.
    for (const s of this.steps.reverse())
      await Promise.race([
        s.run(),
        sleep(CLEANUP_STEP_MS, undefined, { ref: false }).then(() => {
          throw new Error(`still running after ${CLEANUP_STEP_MS / 1000} s; going on`);
        }),
      ]).catch((e: unknown) => say(`cleanup: ${s.what}: ${(e as Error).message}`));
  }
}

const CLEANUP_STEP_MS = 20_000;

/**
 * Last resort, whatever ends the process (a crash included): the service process groups still alive get
 * SIGKILL, so no emulator or Temporal server outlives the demo. Cleanup normally stopped them already.
 */
function killOnExit(services: readonly RunningService[], stopped: ReadonlySet<RunningService>): void {
  process.on('exit', () => {
    // Only groups not known to be stopped: a stopped one's id may belong to someone else by now.
    for (const s of services)
      if (s.pid && !stopped.has(s))
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
  });
}

async function createBuckets(layout: DemoLayout, e: DemoEndpoints): Promise<void> {
  for (const b of layout.buckets) {
    if (b.url.startsWith('file://')) {
      mkdirSync(new URL(b.url).pathname, { recursive: true });
    } else if (b.cloud === 'aws') {
      const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
      const c = new S3Client({ endpoint: e.s3, region: 'us-east-1', forcePathStyle: true });
      await c.send(new CreateBucketCommand({ Bucket: b.name })).catch((err: Error) => {
        if (!/BucketAlready/.test(err.name)) throw err;
      });
      c.destroy();
    } else if (b.cloud === 'azure') {
      const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
      const svc = new BlobServiceClient(
        e.azure!,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      await svc.getContainerClient(b.name).createIfNotExists();
    } else {
      const { Storage } = await import('@google-cloud/storage');
      const s = new Storage({ apiEndpoint: e.gcs, projectId: 'tributary-demo' });
      const [exists] = await s.bucket(b.name).exists();
      if (!exists) await s.createBucket(b.name);
    }
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  const stop = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) {
      say('second Ctrl-C: stopping services now');
      void cleanup.run().finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    say('\nCtrl-C: stopping workers, schedules and services (Ctrl-C again to force)…');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const wait = (ms: number) => sleep(ms, undefined, { signal: stop.signal }).catch(() => undefined);

  try {
    rmSync(DIR, { recursive: true, force: true });
    mkdirSync(DIR, { recursive: true });
    say(
      `Tributary demo: ${REGIONS} regions, ${CYCLES} cycles × ${FILES} files × ${LINES} lines, every ${EVERY}`,
    );

    // 1. Services.
    const emulators = args.emulators!.split(',').filter(Boolean) as ServiceName[];
    for (const e of emulators)
      if (!['s3', 'azure', 'gcs'].includes(e)) {
        say(`demo: --emulators takes s3, azure and gcs, not ${e}`);
        return 2;
      }
    for (const [name, cloud] of [
      ['s3', 'AWS'],
      ['azure', 'Azure'],
      ['gcs', 'GCP'],
    ] as const)
      if (!emulators.includes(name))
        say(`  ${name.padEnd(8)} not started (--emulators): ${cloud} regions use local folders`);
    const wanted: ServiceName[] = [...emulators, ...(args.temporal ? [] : ['temporal' as const])];
    const services = await startServices(wanted, path.join(DIR, 'services'), { temporalUi: true });
    const stopped = new Set<RunningService>();
    killOnExit(services, stopped);
    for (const s of services)
      cleanup.add(`stop ${s.product}`, async () => {
        await s.stop();
        stopped.add(s);
      });
    // For whoever checks that nothing is left running after the demo (its test does).
    writeFileSync(
      path.join(DIR, 'pids.json'),
      JSON.stringify(services.filter((s) => s.pid).map((s) => ({ name: s.name, pid: s.pid }))),
    );
    const svc = (n: ServiceName): RunningService | undefined => services.find((s) => s.name === n);
    for (const s of services)
      say(
        s.error
          ? `  ${s.name.padEnd(8)} NOT AVAILABLE (${s.error})${s.name === 'temporal' ? '' : ' — this cloud uses a local folder instead'}`
          : `  ${s.name.padEnd(8)} ${s.product} at ${s.endpoint}`,
      );
    const temporal = args.temporal ?? svc('temporal')?.endpoint;
    if (!temporal) {
      say(`reconciliation: FAILED Temporal dev server could not start (${svc('temporal')?.error})`);
      return 1;
    }
    const endpoint = (n: ServiceName) => (svc(n)?.error ? undefined : svc(n)?.endpoint);
    const endpoints: DemoEndpoints = {
      s3: endpoint('s3'),
      azure: endpoint('azure'),
      gcs: endpoint('gcs'),
      temporal,
    };
    const ui = svc('temporal')?.uiEndpoint;
    say(ui ? `  Temporal UI: ${ui}` : `  Temporal: reusing ${temporal} (its UI is wherever it serves it)`);

    // Emulator credentials for the SDK chains (well-known test values).
    process.env.AWS_ACCESS_KEY_ID ??= 'testing';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
    process.env.AZURE_STORAGE_ACCOUNT ??= AZURITE_ACCOUNT;
    process.env.AZURE_STORAGE_KEY ??= AZURITE_KEY;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

    // 2. Config.
    const layout = demoLayout({
      regions: REGIONS,
      every: EVERY,
      endpoints,
      localRoot: path.join(DIR, 'local'),
      maxFilesPerBatch: Math.max(1, Math.ceil(FILES / 2)),
      fork: args.fork,
    });
    const config = layout.config;
    const configFile = path.join(DIR, 'tributary.yaml');
    writeFileSync(configFile, layout.yaml);
    await createBuckets(layout, endpoints);
    say(`  config: ${configFile}`);
    for (const r of config.regions)
      say(`    ${r.name.padEnd(15)} ${r.cloud.padEnd(6)} ${r.raw} → ${r.table}`);
    say(`    central         ${config.central!.table}`);
    for (const x of config.replicate)
      say(`    replica ${x.name.padEnd(7)} ${x.target} (incremental deep clone)`);
    if (layout.fork) say(`    fork            ${layout.fork} (created mid-demo by forkTable)`);
    const opts = storeOptionsOf(config);
    const stores = new Map<string, Promise<ObjectStore>>();
    const open = (url: string) => {
      if (!stores.has(url)) stores.set(url, openStore(url, opts));
      return stores.get(url)!;
    };

    // 3. Workers (one per region's task queue) and Schedules. Worker logs: warnings and errors only.
    say('starting one worker per region…');
    Runtime.install({
      logger: new DefaultLogger('WARN', (e) =>
        say(`  worker ${e.level}: ${e.message} ${JSON.stringify(e.meta ?? {})}`),
      ),
    });
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => say(m) } as never,
    });
    // A server of the user's (--temporal) takes the TEMPORAL_* TLS and API-key settings; the dev server
    // started here is plaintext whatever the environment says.
    const settings = args.temporal
      ? temporalSettingsOf(config.temporal, process.env, { address: temporal })
      : plainSettings(temporal, config.temporal.namespace);
    const connection = await connectNative(settings);
    cleanup.add('close worker connection', () => connection.close());
    const workers: { w: CreatedWorker; run: Promise<void> }[] = [];
    cleanup.add('stop workers', async () => {
      for (const x of workers) x.w.worker.shutdown();
      await Promise.allSettled(workers.map((x) => x.run));
    });
    for (const r of config.regions) {
      const w = await createRegionWorker({
        connection,
        namespace: settings.namespace,
        taskQueue: taskQueueOf(r),
        storeOptions: opts,
        workflowBundle: bundle,
      });
      workers.push({ w, run: w.worker.run() });
    }
    const clientConn = await connectClient(settings);
    cleanup.add('close client', () => clientConn.close());
    const client = new Client({ connection: clientConn, namespace: settings.namespace });
    const scheduleIds = [
      ...config.regions.flatMap((r) => [ingestScheduleId(r.name), egressScheduleId(r.name)]),
      ...config.replicate.map((x) => scheduleIdsOf.replicate(x.name)),
      ...maintainEntriesOf(config).map((e) => scheduleIdsOf.maintain(e.target.name)),
    ];
    cleanup.add('delete schedules', async () => {
      for (const id of scheduleIds)
        await client.schedule
          .getHandle(id)
          .delete()
          .catch(() => {});
    });
    const applied = await applySchedules(client, config);
    say(`schedules: ${[...applied.created, ...applied.updated].length} applied (every ${EVERY})`);

    // 4. Cycles of log files; progress while the schedules ingest and egress them.
    const generated = new Map<string, RegionCounts>();
    for (const r of config.regions) generated.set(r.name, { files: 0, lines: 0, bad: 0, approved: 0 });
    const start = new Date(Date.UTC(2026, 10, 26, 6, 0, 0));
    const progress = async () => {
      for (const r of config.regions) {
        const g = generated.get(r.name)!;
        const [table, quarantine, central] = await Promise.all([
          open(r.table).then((s) => loadSnapshotOrUndefined(s, defaultEngine)),
          open(quarantineUrlOf(r)).then((s) => loadSnapshotOrUndefined(s, defaultEngine)),
          open(config.central!.table).then((s) => loadSnapshotOrUndefined(s, defaultEngine)),
        ]);
        const egressed = central?.txnVersion(egressAppIdFor(r.name)) ?? -1;
        say(
          `  ${elapsed(t0)} ${r.name.padEnd(15)} generated ${String(g.lines).padStart(7)} lines in ${g.files} files | ` +
            (table
              ? `regional ${String(table.numRecords ?? 0).padStart(7)} rows (v${table.version})`
              : 'regional: no commit yet') +
            ` + ${quarantine?.numRecords ?? 0} quarantined | ` +
            (!table
              ? 'egress: nothing to egress yet'
              : egressed < 0
                ? `egressed: none of v${table.version} yet`
                : `egressed to v${egressed} of v${table.version}`),
        );
      }
    };
    const caughtUp = async (): Promise<boolean> => {
      const central = await loadSnapshotOrUndefined(await open(config.central!.table), defaultEngine);
      for (const r of config.regions) {
        const g = generated.get(r.name)!;
        const table = await loadSnapshotOrUndefined(await open(r.table), defaultEngine);
        const quarantine = await loadSnapshotOrUndefined(await open(quarantineUrlOf(r)), defaultEngine);
        if ((table?.numRecords ?? 0) + (quarantine?.numRecords ?? 0) < g.lines) return false;
        if (!table || (central?.txnVersion(egressAppIdFor(r.name)) ?? -1) < table.version) return false;
      }
      return true;
    };

    const everyMs = parseDurationMs(EVERY);
    await progress(); // before the first commit: every region says so
    const monitor = args.fork ? new FreshnessMonitor(config, open) : undefined;
    monitor?.start();
    cleanup.add('stop the freshness monitor', () => monitor?.stop() ?? Promise.resolve());
    let fork: RunningFork | undefined;
    // With --fork the log daemons go on writing until the fork has ended (it must run under load).
    const moreCycles = (cycle: number) =>
      cycle <= CYCLES || (fork !== undefined && fork.endedAt === undefined && cycle <= CYCLES + 200);
    for (let cycle = 1; moreCycles(cycle) && !stop.signal.aborted; cycle++) {
      say(
        `cycle ${cycle}/${CYCLES}${cycle > CYCLES ? ' (the fork is still running)' : ''}: log daemons write ${FILES} files per region`,
      );
      for (const r of config.regions) {
        const raw = await open(r.raw);
        for (let f = 0; f < FILES; f++) {
          const file = demoLogFile({
            seed: SEED,
            region: r.name,
            cycle,
            file: f,
            lines: LINES,
            start: new Date(start.getTime() + (cycle - 1) * 3_600_000 + f * 60_000),
            badEvery: BAD_EVERY,
          });
          await raw.put(file.key, file.body);
          const g = generated.get(r.name)!;
          g.files++;
          g.lines += file.lines;
          g.bad += file.bad;
          g.approved += file.approved;
          monitor?.wrote(r.name, file.lines);
        }
      }
      await wait(everyMs);
      if (!stop.signal.aborted) await progress();
      if (args.failover && cycle === Math.ceil(CYCLES / 2) && !stop.signal.aborted)
        await failoverMidDemo({ config, client, connection, bundle, opts, workers });
      if (args.fork && !fork && cycle === Math.ceil(CYCLES / 2) && !stop.signal.aborted) {
        const input = demoForkInput(config, layout.fork!);
        // The last region's queue: with --failover the first region's worker is gone by now.
        const queue = taskQueueOf(config.regions.at(-1)!);
        fork = await startDemoFork(client, queue, input);
        monitor!.fork = fork;
        say(
          `fork: forkTable ${input.name} started on ${queue}: rows where ${input.subset} move to ${input.fork}`,
        );
      }
      if (fork && cycle > Math.ceil(CYCLES / 2)) {
        const s = fork.endedAt === undefined ? await fork.state() : undefined;
        if (s) say(`  fork ${s.name}: ${s.step}${s.detail ? ` — ${s.detail}` : ''}`);
      }
    }
    if (fork) {
      say('waiting for the fork to end…');
      const r = await fork.result;
      say(stateText(r));
    }

    // 5. Let the schedules drain what is left.
    const deadline = Date.now() + parseDurationMs(args.timeout!);
    say('waiting for ingestion and egress to catch up…');
    let lastProgress = Date.now();
    while (!stop.signal.aborted && !(await caughtUp())) {
      if (Date.now() > deadline) {
        await progress();
        say(`reconciliation: FAILED pipelines did not catch up within ${args.timeout}`);
        return 1;
      }
      if (Date.now() - lastProgress > 3 * everyMs) {
        await progress();
        lastProgress = Date.now();
      }
      await wait(1000);
    }
    if (stop.signal.aborted) return 130;
    await progress();
    const lags = await monitor?.stop();
    if (ui) say(`  (workflow runs and schedules: ${ui}/namespaces/default/workflows)`);
    for (const id of scheduleIds)
      await client.schedule
        .getHandle(id)
        .pause('demo finished')
        .catch(() => {});

    // Maintenance of central now, as its hourly Schedule would run it (`tributary maintain run --table
    // central`): the plan (readers holding cleanup back, what each step would do), then what it did. The
    // many small files the egress batches wrote become few; the replica clones that OPTIMIZE commit next.
    const centralMaintenance = maintainEntriesOf(config).find((e) => e.target.name === 'central');
    if (centralMaintenance && !stop.signal.aborted) {
      say('\n$ tributary maintain run --table central');
      const report = (await client.workflow.execute('maintainTable', {
        taskQueue: centralMaintenance.taskQueue,
        workflowId: workflowIds.maintain('central'),
        workflowExecutionTimeout: '10m',
        args: [{ target: centralMaintenance.target }],
      })) as MaintenanceReport;
      for (const line of [...planLines(report.plan), ...doneLines(report)]) say(`  ${line}`);
    }

    // The replicas catch up with the paused central: their Schedule is triggered until they hold its version.
    const replicas = await replicaReconcile(client, config, open, {
      deadline,
      signal: stop.signal,
      say,
    });

    // What `tributary status` shows now: the operator's one screen, over the same config and connection.
    say('\n$ tributary status');
    const status = await gatherStatus({
      config,
      open,
      temporal: async () => ({ client, namespace: settings.namespace }),
      temporalAt: { address: settings.address, namespace: settings.namespace },
    });
    say(renderStatus(status).trimEnd());

    // 6. Summary and reconciliation.
    const counts: DemoCounts = await countTables(config, open);
    const verdict = reconcile(config, generated, counts);
    verdict.differences.push(...replicas.flatMap((x) => x.differences));
    verdict.ok &&= verdict.differences.length === 0;
    say('\nper region            generated   ingested  quarantined   approved   egressed');
    for (const r of config.regions) {
      const g = generated.get(r.name)!;
      const c = counts.regions.get(r.name)!;
      say(
        `  ${r.name.padEnd(17)} ${[g.lines, c.ingested, c.quarantined, c.approved, c.egressed].map((n) => String(n).padStart(10)).join(' ')}`,
      );
    }
    if (counts.split) {
      say(`central.all_logs rows: ${counts.split.central}`);
      say(`central.fork rows: ${counts.split.fork} (${layout.fork})`);
      const v = (await fork!.result).verification;
      say(
        `fork verification: ${v.verified ? 'OK' : 'FAILED'} (main ${v.mainRows} + fork ${v.forkRows} rows = ${v.expectedKeys} keys expected; ` +
          `${v.missingKeys} missing, ${v.unexpectedKeys} unexpected, ${v.inBoth} in both, ${v.duplicateKeys} duplicated, ` +
          `${v.mainMatchingSubset} in main matching the subset, ${v.forkNotMatchingSubset} in the fork not matching it)`,
      );
      if (!v.verified) verdict.differences.push('the fork verification failed');
    } else say(`central.all_logs rows: ${counts.central}`);
    if (lags) for (const line of lagLines(lags, everyMs)) say(line);
    for (const x of replicas) for (const line of x.lines) say(line);
    say(`\nsample query: ${counts.sample.sql}`);
    for (const line of counts.sample.lines) say(`  ${line}`);
    say(`finished in ${elapsed(t0).trim()}`);
    say(verdict.ok ? 'reconciliation: OK' : `reconciliation: FAILED ${verdict.differences.join('; ')}`);
    if (args.keep && !stop.signal.aborted) {
      const env = [
        endpoints.s3 &&
          `TRIBUTARY_S3_ENDPOINT=${endpoints.s3} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing`,
        endpoints.azure &&
          `TRIBUTARY_AZURE_ENDPOINT=${endpoints.azure} AZURE_STORAGE_ACCOUNT=${AZURITE_ACCOUNT} AZURE_STORAGE_KEY=<the Azurite key>`,
        endpoints.gcs && `TRIBUTARY_GCS_ENDPOINT=${endpoints.gcs}`,
      ].filter(Boolean);
      say(`\nstill running (--keep); Ctrl-C stops everything. Temporal UI: ${ui ?? temporal}`);
      say(
        `  query it: ${env.join(' ')} ./bin/tributary.js query --config ${configFile} "SELECT count(*) FROM central.all_logs"`,
      );
      await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
    }
    return verdict.ok ? 0 : 1;
  } catch (e) {
    if (stop.signal.aborted) return 130;
    say(`demo failed: ${(e as Error).stack ?? e}`);
    say(`reconciliation: FAILED demo stopped with an error: ${(e as Error).message}`);
    return 1;
  } finally {
    await cleanup.run();
    if (interrupted) say('stopped; nothing left running');
  }
}

/**
 * `--failover`: the first region's worker stops (its compute is gone) and the region fails over to a
 * standby worker on another task queue, started here first, through the same workflow as
 * `tributary failover region`. The region stays failed over to the end; the reconciliation must not care.
 */
async function failoverMidDemo(d: {
  config: Config;
  client: Client;
  connection: NativeConnection;
  bundle: { code: string };
  opts: ReturnType<typeof storeOptionsOf>;
  workers: { w: CreatedWorker; run: Promise<void> }[];
}): Promise<void> {
  const region = d.config.regions[0]!;
  const toQueue = 'tributary-standby';
  say(`failover: ${region.name}'s worker stops; a standby worker polls ${toQueue}`);
  const standby = await createRegionWorker({
    connection: d.connection,
    namespace: d.client.options.namespace,
    taskQueue: toQueue,
    storeOptions: d.opts,
    workflowBundle: d.bundle,
  });
  d.workers.push({ w: standby, run: standby.worker.run() });
  // Workers are in region order; the first one polls the first region's queue.
  const [gone] = d.workers.splice(0, 1);
  gone!.w.worker.shutdown();
  // Bounded: an activity that ignores the cancel finishes on its own; its work is exactly-once anyway.
  await Promise.race([gone!.run.catch(() => undefined), sleep(20_000, undefined, { ref: false })]);
  const input = failoverInputOf(d.config, region.name, { toQueue, reason: 'demo: compute outage' });
  const result = await runFailover(d.client, d.client.options.namespace, input);
  for (const x of result.schedules)
    say(`  schedule ${x.scheduleId}: ${x.outcome} ${x.from ?? ''} → ${x.to ?? ''}`);
  for (const x of result.runs) say(`  run ${x.workflowId}: ${x.stopped}; ${x.detail}`);
  if (!result.runs.length) say('  no run was in flight');
}

// Exit once stdout has taken the last lines (the summary must never be cut off).
// Exit once stdout has taken the last lines (the summary must never be cut off); at once if nobody reads it.
void main().then((code) => {
  if (!stdoutOpen) process.exit(code);
  process.stdout.write('', () => process.exit(code));
});
