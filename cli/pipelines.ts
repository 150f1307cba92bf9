/** `tributary worker`, `tributary schedules apply`, `tributary ingest run|status`, `tributary egress run|status`. */
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { egressTargetOf, ingestTargetOf, regionOf, storeOptionsOf, taskQueueOf } from '../config/targets';
import { egressAppIdFor, egressQuarantineUrlOf } from '../shapes/targets';
import type { EgressRunSummary } from '../workflows/egress';
import { type IsolatedItem } from '../activities/ingest/types';
import { appIdFor } from '../shapes/targets';
import { loadKnownFiles } from '../activities/ingest/file-state';
import { TributaryError } from '../lake/errors';
import { openStore } from '../lake/storage/open';
import { history } from '../lake/table/maintenance';
import { consumerLag } from '../lake/table/progress';
import { loadSnapshotOrUndefined, defaultEngine } from '../lake/table/operations';
import { scanRows } from '../lake/engine/scan';
import { workflowIds } from '../shapes/queues';
import { createRegionWorker } from '../workers/region-worker';
import { readRouting, readRoutingAcks, reconcileConfigRouting } from '../activities/egress/routing-store';
import type { Config } from '../config/schema';
import { type Route, sameRoutes } from '../shapes/routing';
import { applySchedules } from '../workers/schedules';
import { loadCliConfig } from './config-file';
import { intOption, portOption } from './options';
import { describeTemporal } from '../config/temporal';
import { temporalClient, temporalSettingsOfConfig } from './temporal';
import { connectNative } from '../workers/connection';
import { bindAddressOf, installMetricsRuntime, meterMetrics } from '../workers/metrics';
import type { IngestRunSummary } from '../workflows/ingest';

/** Starts a workflow under its business-key id, or follows the run already in progress. */
export async function startOrFollow(
  client: Client,
  workflowType: string,
  taskQueue: string,
  workflowId: string,
  input: object,
) {
  try {
    return await client.workflow.start(workflowType, { taskQueue, workflowId, args: [input] });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    process.stderr.write(`${workflowId} is already running; following it\n`);
    return client.workflow.getHandle(workflowId);
  }
}

const progressLine = (s: IngestRunSummary) =>
  `batches ${s.batches}, files ${s.files}, ${(s.bytes / 1e6).toFixed(1)} MB, rows ${s.rows}, quarantined ${s.quarantined}, rescued ${s.rescued}, backlog ${s.backlogFiles} files`;

export function registerPipelineCommands(program: Command): void {
  program
    .command('worker')
    .description("run a worker for a region's task queue (or any queue)")
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--region <name>', "poll this region's task queue")
    .option('--task-queue <queue>', 'poll this task queue')
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port at /metrics (default: off)')
    .option('--metrics-host <host>', 'address the metrics endpoint listens on', '127.0.0.1')
    .action(
      async (o: {
        config?: string;
        region?: string;
        taskQueue?: string;
        metricsPort?: string;
        metricsHost: string;
      }) => {
        const endpoint =
          o.metricsPort === undefined
            ? undefined
            : { host: o.metricsHost, port: portOption(o.metricsPort, '--metrics-port') };
        const config = loadCliConfig(o.config);
        const taskQueue = o.taskQueue ?? (o.region ? taskQueueOf(regionOf(config, o.region)) : undefined);
        if (!taskQueue) throw new TributaryError('BAD_INPUT', 'give --region or --task-queue');
        // Before any connection: the SDK's Runtime is made once per process, with its exporter.
        const metrics = endpoint ? meterMetrics(installMetricsRuntime(endpoint).metricMeter) : undefined;
        const settings = temporalSettingsOfConfig(config);
        const connection = await connectNative(settings);
        try {
          const w = await createRegionWorker({
            connection,
            namespace: settings.namespace,
            taskQueue,
            storeOptions: storeOptionsOf(config),
            ...(metrics ? { metrics } : {}),
          });
          process.stderr.write(`worker polling ${taskQueue} on ${describeTemporal(settings)}\n`);
          if (endpoint) process.stderr.write(`metrics at http://${bindAddressOf(endpoint)}/metrics\n`);
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => w.worker.shutdown());
          try {
            await w.worker.run();
          } finally {
            await w.close();
          }
        } finally {
          metrics?.close();
          await connection.close();
        }
      },
    );

  program
    .command('schedules')
    .description('Temporal Schedules from config')
    .command('apply')
    .description('create or update one ingestion schedule per region (idempotent)')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .action(async (o: { config: string }) => {
      const config = loadCliConfig(o.config);
      const routing = await checkRouting(config);
      if (routing) process.stderr.write(`${routing}\n`);
      const c = await temporalClient(config);
      try {
        const res = await applySchedules(c.client, config);
        for (const k of res.kept ?? []) process.stderr.write(`${k.message}\n`);
        for (const k of res.promoted ?? []) process.stderr.write(`${k.message}\n`);
        process.stdout.write(`${JSON.stringify(res)}\n`);
      } finally {
        await c.close();
      }
    });

  const ingest = program
    .command('ingest')
    .description('scheduled ingestion of raw log files into regional tables');
  ingest
    .command('run')
    .description('start one ingestion of a region now and follow it')
    .requiredOption('--region <name>', 'region')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { region: string; config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const r = regionOf(config, o.region);
      const c = await temporalClient(config);
      try {
        const workflowId = workflowIds.ingest(r.name, 'regional');
        const handle = await startOrFollow(c.client, 'ingestRegionWorkflow', taskQueueOf(r), workflowId, {
          target: ingestTargetOf(r),
        });
        const t0 = Date.now();
        const timer = setInterval(() => {
          void handle
            .query<IngestRunSummary>('ingestProgress')
            .then((s) =>
              process.stderr.write(
                `[${r.name}] ${progressLine(s)}, ${(s.bytes / 1e6 / ((Date.now() - t0) / 1000)).toFixed(1)} MB/s\n`,
              ),
            )
            .catch(() => {});
        }, 2000);
        try {
          const s = (await handle.result()) as IngestRunSummary;
          process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `[${r.name}] done: ${progressLine(s)}\n`);
        } finally {
          clearInterval(timer);
        }
      } finally {
        await c.close();
      }
    });

  ingest
    .command('status')
    .description('what a region has ingested: committed batches, pending batches, per-file reconciliation')
    .requiredOption('--region <name>', 'region')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .option('--batches <n>', 'recent batches to show', '10')
    .action(async (o: { region: string; config?: string; json?: boolean; batches: string }) => {
      const limit = intOption(o.batches, '--batches');
      const config = loadCliConfig(o.config);
      const r = regionOf(config, o.region);
      const table = await openStore(r.table, storeOptionsOf(config));
      const appId = appIdFor(r.name);
      const snap = await loadSnapshotOrUndefined(table, defaultEngine);
      const committed = snap?.txnVersion(appId) ?? -1;
      const known = await loadKnownFiles(table, appId);
      const recent = snap
        ? (await history(table, { limit: 200 }))
            .filter((h) => (h.operationParameters as Record<string, unknown> | undefined)?.appId === appId)
            .slice(0, limit)
            .map((h) => {
              const p = h.operationParameters as Record<string, unknown>;
              return {
                version: h.version,
                batch: Number(p.batch),
                at: new Date(h.timestamp).toISOString(),
                lines: Number(p.lines),
                rows: Number(p.rows),
                quarantined: Number(p.quarantined),
                rescued: Number(p.rescued),
                files: JSON.parse(String(p.files ?? '[]')) as unknown[],
                isolated: JSON.parse(String(p.isolated ?? '[]')) as IsolatedItem[],
              };
            })
        : [];
      const status = {
        region: r.name,
        table: r.table,
        tableVersion: snap?.version ?? null,
        committedBatch: committed,
        plannedBatches: known.maxSeq + 1,
        pendingBatches: Math.max(0, known.maxSeq - committed),
        knownFiles: known.files.size,
        rows: snap?.numRecords ?? null,
        recent,
      };
      if (o.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      if (!snap && !known.files.size)
        return void process.stdout.write(
          `${r.name}: table ${r.table} does not exist yet, no file planned (nothing ingested)\n`,
        );
      process.stdout.write(
        `${r.name}: table ${status.tableVersion === null ? 'not created yet' : `v${status.tableVersion}`}, ${committed < 0 ? 'no batch committed' : `batch ${committed} committed`}, ${status.pendingBatches} pending, ${status.knownFiles} files known, ${status.rows ?? 0} rows\n`,
      );
      for (const b of recent) {
        process.stdout.write(
          `  batch ${b.batch} @v${b.version} ${b.at}: lines ${b.lines} = rows ${b.rows} + quarantined ${b.quarantined} (rescued ${b.rescued})\n`,
        );
        for (const x of b.isolated)
          process.stdout.write(
            `    isolated ${x.key} ${x.lines ? `lines ${x.lines[0]}-${x.lines[1]}` : 'whole file'}: ${x.reason}\n`,
          );
      }
    });

  const egress = program
    .command('egress')
    .description('approved rows from regional tables into the central table');
  egress
    .command('run')
    .description('egress one region now and follow it')
    .requiredOption('--region <name>', 'region')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { region: string; config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const r = regionOf(config, o.region);
      const target = egressTargetOf(config, r);
      const c = await temporalClient(config);
      try {
        const workflowId = workflowIds.egress(r.name, 'central');
        const handle = await startOrFollow(c.client, 'egressRegionWorkflow', taskQueueOf(r), workflowId, {
          target,
        });
        const s = (await handle.result()) as EgressRunSummary;
        process.stdout.write(
          o.json
            ? `${JSON.stringify(s)}\n`
            : `[${r.name}] egressed ${s.rows} rows; source v${s.sourceVersion} of ${s.latestSourceVersion}\n`,
        );
      } finally {
        await c.close();
      }
    });

  egress
    .command('routing')
    .description("the live egress routing on central (or config's routes as version 0) and each region's ack")
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action(async (o: { config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const target = egressTargetOf(config, config.regions[0]!);
      const central = await openStore(target.central, storeOptionsOf(config));
      const live = await readRouting(central);
      const routing = live ?? {
        version: 0,
        routes: target.routes ?? [],
        publishedBy: 'config (not published)',
      };
      const acks = await readRoutingAcks(
        central,
        config.regions.map((r) => r.name),
      );
      const out = {
        central: target.central,
        routing,
        configMatches: sameRoutes(routing.routes, target.routes ?? []),
        acks: [...acks].map(([region, ack]) => ({ region, ack: ack ?? null })),
      };
      if (o.json) return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      process.stdout.write(
        `egress routing of ${target.central}: version ${routing.version} (${routing.publishedBy}${'publishedAt' in routing ? ` at ${routing.publishedAt}` : ''})${out.configMatches ? '' : ', DIFFERS from config'}\n`,
      );
      routing.routes.forEach((r, i) => process.stdout.write(`  ${i + 1}. ${r.predicate}  ->  ${r.table}\n`));
      process.stdout.write(`  else  ->  ${target.central}\n`);
      for (const { region, ack } of out.acks)
        process.stdout.write(
          ack
            ? `${region}: routing version ${ack.routingVersion}, source v${ack.sourceVersion} (${ack.state} at ${ack.at})\n`
            : `${region}: no egress run acknowledged a routing yet\n`,
        );
    });

  egress
    .command('status')
    .description(
      'per region: last source version in central, lag in versions and seconds, source files in the egress quarantine',
    )
    .option('--region <name>', 'only this region')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action(async (o: { region?: string; config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const opts = storeOptionsOf(config);
      const regions = o.region ? [regionOf(config, o.region)] : config.regions;
      const central = await openStore(egressTargetOf(config, regions[0]!).central, opts);
      const centralSnap = await loadSnapshotOrUndefined(central, defaultEngine);
      const quarantined = await egressQuarantined(
        egressQuarantineUrlOf(egressTargetOf(config, regions[0]!)),
        opts,
      );
      const out = [];
      for (const r of regions) {
        const lag = await consumerLag(
          await openStore(r.table, opts),
          centralSnap?.txnVersion(egressAppIdFor(r.name)),
        );
        if (lag.latestVersion === null) {
          // No commit: no table yet (nothing ingested), so nothing to egress, rather than "v-1 of v-1".
          // In JSON: null versions.
          out.push({
            region: r.name,
            processedSourceVersion: null,
            latestSourceVersion: null,
            lagVersions: 0,
            lagSeconds: 0,
            quarantined: [] as typeof quarantined,
          });
          continue;
        }
        out.push({
          region: r.name,
          processedSourceVersion: lag.recordedVersion, // -1: nothing egressed yet
          latestSourceVersion: lag.latestVersion,
          lagVersions: lag.lagVersions,
          lagSeconds: lag.lagSeconds,
          quarantined: quarantined.filter((q) => q.region === r.name).map(({ region: _, ...q }) => q),
        });
      }
      if (o.json) return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      for (const x of out) {
        process.stdout.write(
          x.latestSourceVersion === null
            ? `${x.region}: table ${regions.find((r) => r.name === x.region)!.table} does not exist yet (nothing ingested), nothing to egress\n`
            : `${x.region}: ${x.processedSourceVersion === -1 ? 'no source version' : `source v${x.processedSourceVersion}`} of v${x.latestSourceVersion} in central, lag ${x.lagVersions} versions / ${x.lagSeconds} s, ${x.quarantined.length} source files in egress quarantine\n`,
        );
        for (const q of x.quarantined)
          process.stdout.write(
            `  quarantined: source v${q.sourceVersion} ${q.file}${q.rows !== null ? ` (${q.rows} rows)` : ''} at ${q.recordedAt}: ${q.reason}\n`,
          );
      }
    });
}

/** Routes as the YAML of `central.routes`, to paste into config. */
export const routesYaml = (routes: readonly Route[]): string =>
  routes.length
    ? `central:\n  routes:\n${routes.map((r) => `    - table: ${JSON.stringify(r.table)}\n      predicate: ${JSON.stringify(r.predicate)}\n`).join('')}`
    : 'central:\n  routes: []   # or no routes key\n';

/**
 * `schedules apply`'s routing rule: config's `central.routes` and the live routing on central must agree
 * (no live routing: config's routes are published as version 1). A live routing config does not have
 * (a fork published it) is refused, so an older config cannot silently undo it. What it did, if anything.
 */
async function checkRouting(config: Config): Promise<string | undefined> {
  if (!config.central) return undefined;
  const central = await openStore(config.central.table, storeOptionsOf(config));
  const r = await reconcileConfigRouting(central, config.central.routes ?? []);
  if (r.kind === 'published') return `published egress routing version ${r.routing.version} from config`;
  if (r.kind !== 'differs') return undefined;
  const live = r.routing;
  throw new TributaryError(
    'CONFIG_INVALID',
    `config's central.routes differ from the live egress routing of ${config.central.table}: version ${live.version}, ` +
      `published by ${live.publishedBy} at ${live.publishedAt}${live.reason ? ` (${live.reason})` : ''}. ` +
      `Applying this config would undo it; nothing was applied. Put the live routes in config and apply again:\n` +
      routesYaml(live.routes),
  );
}

/** The source files recorded in an egress quarantine table (none when it does not exist), oldest first. */
async function egressQuarantined(url: string, opts: ReturnType<typeof storeOptionsOf>) {
  const store = await openStore(url, opts);
  const snap = await loadSnapshotOrUndefined(store, defaultEngine);
  const rows = snap ? await scanRows(store, snap) : [];
  return rows
    .map((r) => ({
      region: String(r.region),
      sourceVersion: Number(r.source_version),
      file: String(r.source_file),
      rows: r.source_rows === null || r.source_rows === undefined ? null : Number(r.source_rows),
      reason: String(r.reason),
      recordedAt: String(r.recorded_at),
    }))
    .sort((a, b) => a.sourceVersion - b.sourceVersion || a.file.localeCompare(b.file));
}
