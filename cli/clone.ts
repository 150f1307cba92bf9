/** `tributary clone run|status`: incremental deep clones of tables (replicas), through Temporal or in-process. */
import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { replicaOf, replicaQueueOf, replicaTargetOf, storeOptionsOf } from '../config/targets';
import type { CloneActivityResult } from '../activities/clone';
import { TributaryError } from '../lake/errors';
import { type StoreOptions, openStore } from '../lake/storage/open';
import { type CloneMetrics, type ClonePlanSummary, cloneTable } from '../lake/table/clone';
import { type ReplicaStatus, replicaStatus } from '../lake/table/clone-status';
import { DEFAULT_TASK_QUEUE, workflowIds } from '../shapes/queues';
import type { ReplicaTarget } from '../shapes/targets';
import type { ReplicateTableInput, replicateTable } from '../workflows/replicate';
import { configFileOf, loadCliConfig } from './config-file';
import { intOption } from './options';
import { startOrFollow } from './pipelines';
import { storeOptionsFromEnv } from './store-options';
import { temporalClient } from './temporal';
import { bytesText } from './units';

interface ReplicaSelection {
  config?: string;
  replica?: string;
  source?: string;
  target?: string;
}

/** Delta's CLONE metrics under the names Databricks' SQL prints. */
export function snakeMetrics(m: CloneMetrics): Record<string, number> {
  return {
    source_table_size: m.sourceTableSize,
    source_num_of_files: m.sourceNumOfFiles,
    num_copied_files: m.numCopiedFiles,
    copied_files_size: m.copiedFilesSize,
    num_removed_files: m.numRemovedFiles,
    removed_files_size: m.removedFilesSize,
  };
}

/** An ad-hoc replica's name: stable for the same pair, so its workflow id keeps one run at a time. */
const adHocName = (source: string, target: string) =>
  `adhoc-${createHash('sha256').update(`${source}\n${target}`).digest('hex').slice(0, 12)}`;

/** The replica a command names (--replica from config, or --source/--target), its queue and store options. */
function selected(
  o: ReplicaSelection,
  needConfig: boolean,
): { target: ReplicaTarget; config?: Config; taskQueue: string; storeOptions: StoreOptions } {
  const adHoc = o.source !== undefined || o.target !== undefined;
  if (adHoc && o.replica !== undefined)
    throw new TributaryError('BAD_INPUT', 'give either --replica or --source and --target, not both');
  if (!adHoc && o.replica === undefined)
    throw new TributaryError(
      'BAD_INPUT',
      'give --replica <name> (from config) or --source <url> --target <url>',
    );
  if (adHoc && (o.source === undefined || o.target === undefined))
    throw new TributaryError('BAD_INPUT', 'an ad-hoc clone needs both --source and --target');
  if (adHoc && o.source!.replace(/\/+$/, '') === o.target!.replace(/\/+$/, ''))
    throw new TributaryError('BAD_INPUT', 'a replica cannot be its own source (--source equals --target)');
  const config =
    needConfig || o.replica !== undefined || o.config !== undefined ? loadCliConfig(o.config) : undefined;
  if (o.replica !== undefined) {
    const e = replicaOf(config!, o.replica);
    return {
      target: replicaTargetOf(e),
      config,
      taskQueue: replicaQueueOf(config!, e),
      storeOptions: storeOptionsOf(config!),
    };
  }
  return {
    target: { name: adHocName(o.source!, o.target!), source: o.source!, target: o.target! },
    config,
    taskQueue: DEFAULT_TASK_QUEUE,
    storeOptions: config ? storeOptionsOf(config) : storeOptionsFromEnv(),
  };
}

function planLine(p: ClonePlanSummary): string {
  return (
    `plan: ${p.mode}, source v${p.sourceVersion} (last cloned ${p.previousSourceVersion ?? 'never'}), ` +
    `${p.adds} files to add, ${p.removes} to remove, ${p.objectsToCopy} objects (${bytesText(p.bytesToCopy)}) to copy` +
    (p.fallbackReason ? ` [snapshot diff: ${p.fallbackReason}]` : '')
  );
}

function printRun(r: CloneActivityResult, json: boolean): void {
  const metrics = snakeMetrics(r.metrics);
  if (json) {
    const { metrics: _m, ...rest } = r;
    process.stdout.write(`${JSON.stringify({ ...rest, metrics }, null, 2)}\n`);
    return;
  }
  const out: string[] = [];
  if (r.plan) out.push(planLine(r.plan));
  out.push(
    r.kind === 'committed'
      ? `${r.name}: cloned ${r.source} v${r.sourceVersion} into ${r.target} v${r.targetVersion} (${r.mode})`
      : `${r.name}: ${r.target} is up to date with ${r.source} v${r.sourceVersion} (target v${r.targetVersion})`,
  );
  if (r.fallbackReason) out.push(`fallback: ${r.fallbackReason}`);
  out.push(
    Object.entries(metrics)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  );
  out.push(
    `bytes transferred ${r.bytesTransferred} (${r.serverSideCopies} server-side copies, ${r.objectsAlreadyPresent} objects already present), ` +
      `${r.carriedTxns} writer txns carried, ${r.stateFilesCopied} state files copied`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function printStatus(name: string, s: ReplicaStatus): string {
  if (s.sourceVersion === null) return `${name}: source ${s.source} has no Delta table`;
  const rec = s.recordedSourceVersion === null ? 'not cloned yet' : `source v${s.recordedSourceVersion}`;
  return (
    `${name}: ${s.source} v${s.sourceVersion} → ${s.target} ${s.targetVersion === null ? '(no table)' : `v${s.targetVersion}`} ` +
    `holds ${rec}, lag ${s.lagVersions} versions / ${s.lagSeconds} s, ` +
    `bytes last copied ${s.bytesLastCopied ?? 0}${s.lastCloneAt ? ` (CLONE v${s.lastCloneVersion} at ${s.lastCloneAt})` : ''}`
  );
}

export function registerCloneCommands(program: Command): void {
  const clone = program
    .command('clone')
    .description('incremental deep clones (replicas) of Delta tables, across stores and clouds');

  clone
    .command('run')
    .description(
      'bring a replica up to date now: through Temporal (replicateTable), or --local in this process',
    )
    .option('--replica <name>', 'a replicate: entry of the config')
    .option('--source <url>', 'ad-hoc: the source table')
    .option('--target <url>', 'ad-hoc: the replica')
    .option('--version <n>', 'clone this source version (default: the latest)')
    .option('--concurrency <n>', 'copies in flight (default 8)')
    .option('--local', 'run the clone in this process instead of on a worker')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action(
      async (
        o: ReplicaSelection & { version?: string; concurrency?: string; local?: boolean; json?: boolean },
      ) => {
        const version = o.version === undefined ? undefined : intOption(o.version, '--version');
        const concurrency =
          o.concurrency === undefined ? undefined : intOption(o.concurrency, '--concurrency');
        if (concurrency === 0) throw new TributaryError('BAD_INPUT', '--concurrency must be at least 1');
        const sel = selected(o, !o.local);
        if (o.local) {
          const [source, target] = await Promise.all([
            openStore(sel.target.source, sel.storeOptions),
            openStore(sel.target.target, sel.storeOptions),
          ]);
          let plan: ClonePlanSummary | undefined;
          let present = 0;
          const r = await cloneTable(source, target, {
            ...(version !== undefined ? { version } : {}),
            ...(concurrency !== undefined ? { concurrency } : {}),
            onPlan: (p) => {
              plan = p;
              if (!o.json) process.stderr.write(`${planLine(p)}\n`);
            },
            onProgress: (p) => {
              present = p.objectsAlreadyPresent;
            },
          });
          const { carriedTxns, ...rest } = r;
          return printRun(
            {
              ...rest,
              name: sel.target.name,
              carriedTxns: carriedTxns.length,
              ...(plan ? { plan } : {}),
              objectsAlreadyPresent: present,
            },
            o.json === true,
          );
        }
        const c = await temporalClient(sel.config!);
        try {
          const workflowId = workflowIds.replicate(sel.target.name);
          const input: ReplicateTableInput = {
            target: sel.target,
            ...(version !== undefined ? { version } : {}),
            ...(concurrency !== undefined ? { concurrency } : {}),
          };
          const handle = await startOrFollow(c.client, 'replicateTable', sel.taskQueue, workflowId, input);
          if (!o.json) process.stderr.write(`${workflowId} on task queue ${sel.taskQueue}\n`);
          const r = (await handle.result()) as Awaited<ReturnType<typeof replicateTable>>;
          if (r.kind === 'noSource')
            process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.name}: ${r.reason}\n`);
          else printRun(r, o.json === true);
        } finally {
          await c.close();
        }
      },
    );

  clone
    .command('status')
    .description(
      'per replica: source version, target version, recorded source version, lag, bytes last copied',
    )
    .option('--replica <name>', 'a replicate: entry of the config (default: every entry)')
    .option('--source <url>', 'ad-hoc: the source table')
    .option('--target <url>', 'ad-hoc: the replica')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action(async (o: ReplicaSelection & { json?: boolean }) => {
      let replicas: { target: ReplicaTarget; storeOptions: StoreOptions }[];
      if (o.replica === undefined && o.source === undefined && o.target === undefined) {
        const config = loadCliConfig(o.config, 'or --replica / --source and --target');
        if (!config.replicate.length)
          throw new TributaryError(
            'CONFIG_INVALID',
            `config ${configFileOf(o.config)} has no replicate: entries; give --source and --target`,
          );
        replicas = config.replicate.map((e) => ({
          target: replicaTargetOf(e),
          storeOptions: storeOptionsOf(config),
        }));
      } else replicas = [selected(o, false)];
      const out: (ReplicaStatus & { name: string })[] = [];
      for (const r of replicas) {
        const [source, target] = await Promise.all([
          openStore(r.target.source, r.storeOptions),
          openStore(r.target.target, r.storeOptions),
        ]);
        out.push({ name: r.target.name, ...(await replicaStatus(source, target)) });
      }
      if (o.json) return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      process.stdout.write(`${out.map((s) => printStatus(s.name, s)).join('\n')}\n`);
    });
}
