/** `tributary maintain list|run`: the tables a config maintains, and one maintainTable run through Temporal. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { type MaintainEntry, maintainEntriesOf } from '../config/targets';
import type { MaintenancePlan } from '../activities/maintain';
import { TributaryError } from '../lake/errors';
import { scheduleIds, workflowIds } from '../shapes/queues';
import {
  type MaintainTableInput,
  type MaintenanceReport,
  maintenanceProgressQuery,
} from '../workflows/maintain';
import { loadCliConfig } from './config-file';
import { startOrFollow } from './pipelines';
import { temporalClient } from './temporal';
import { bytesText } from './units';

/** The plan, one line per step: what the run is about to do. */
export function planLines(p: MaintenancePlan): string[] {
  if (p.version === undefined) return [`${p.name}: no Delta table at ${p.table} yet: nothing to maintain`];
  const out = [`${p.name}: ${p.table} v${p.version}`];
  for (const h of p.holds)
    out.push(
      `  reader ${h.reader}: ${h.next === undefined ? 'not started' : `reads from v${h.next}, ${h.behind} behind`}`,
    );
  if (p.optimize)
    out.push(
      `  optimize: ${p.optimize.bins} bins, ${p.optimize.files} files (${bytesText(p.optimize.bytes)}) to rewrite toward ${bytesText(p.optimize.targetFileSize)}`,
    );
  if (p.checkpoint)
    out.push(`  checkpoint: ${p.checkpoint.due ? `write v${p.version}` : `v${p.version} has one`}`);
  if (p.logCleanup)
    out.push(
      `  log cleanup: ${p.logCleanup.files} log files past ${p.logCleanup.retentionHours} h` +
        (p.logCleanup.checkpointVersion !== undefined
          ? ` before checkpoint v${p.logCleanup.checkpointVersion}`
          : ' (no checkpoint to bound it)') +
        (p.logCleanup.held ? ', held back for a reader' : ''),
    );
  if (p.vacuum)
    out.push(
      `  vacuum: ${p.vacuum.files} files (${bytesText(p.vacuum.bytes)}) past ${p.vacuum.retentionHours} h` +
        (p.vacuum.held ? `, ${p.vacuum.held} kept for a reader behind` : '') +
        (p.vacuum.sample.length
          ? `: ${p.vacuum.sample.slice(0, 5).join(', ')}${p.vacuum.files > 5 ? ', …' : ''}`
          : ''),
    );
  for (const w of p.warnings) out.push(`  warning: ${w}`);
  return out;
}

/** What the run did, one line per step run. */
export function doneLines(r: MaintenanceReport): string[] {
  if (r.noTable) return [];
  if (r.dryRun) return [`${r.name}: dry run, nothing changed`];
  const out: string[] = [];
  if (r.optimize)
    out.push(
      r.optimize.version === undefined
        ? `${r.name}: optimize: nothing to compact`
        : `${r.name}: optimize: v${r.optimize.version}, ${r.optimize.numRemovedFiles} files (${bytesText(r.optimize.numRemovedBytes)}) → ${r.optimize.numAddedFiles} (${bytesText(r.optimize.numAddedBytes)})`,
    );
  if (r.checkpoint)
    out.push(
      `${r.name}: checkpoint: ${r.checkpoint.written ? `wrote v${r.checkpoint.version}` : `v${r.checkpoint.version} already had one`}`,
    );
  if (r.logCleanup)
    out.push(
      `${r.name}: log cleanup: deleted ${r.logCleanup.deleted} log files` +
        (r.logCleanup.first ? ` (${r.logCleanup.first} … ${r.logCleanup.last})` : ''),
    );
  if (r.vacuum)
    out.push(
      `${r.name}: vacuum: deleted ${r.vacuum.deleted} files (${bytesText(r.vacuum.bytes)})` +
        (r.vacuum.held ? `, kept ${r.vacuum.held} for a reader behind` : ''),
    );
  return out;
}

function entryOf(entries: MaintainEntry[], table: string): MaintainEntry {
  const e = entries.find((x) => x.target.name === table);
  if (!e)
    throw new TributaryError(
      'BAD_INPUT',
      entries.length
        ? `no maintained table ${JSON.stringify(table)} (tables: ${entries.map((x) => x.target.name).join(', ')})`
        : 'the config has no maintenance: section, so no table is maintained',
    );
  return e;
}

export function registerMaintainCommands(program: Command): void {
  const maintain = program
    .command('maintain')
    .description('table maintenance: OPTIMIZE, checkpoint, log cleanup and VACUUM (maintainTable)');

  maintain
    .command('list')
    .description('the tables the config maintains, their schedules and queues')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action((o: { config?: string; json?: boolean }) => {
      const entries = maintainEntriesOf(loadCliConfig(o.config));
      if (o.json) {
        process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        return;
      }
      for (const e of entries)
        process.stdout.write(
          `${e.target.name}\t${e.target.table}\t${scheduleIds.maintain(e.target.name)} on ${e.taskQueue}` +
            `${e.target.readers.length ? `\treaders: ${e.target.readers.map((r) => (r.kind === 'egress' ? `egress ${r.region}` : `replica ${r.name}`)).join(', ')}` : ''}\n`,
        );
    });

  maintain
    .command('run')
    .description("maintain one table now on its queue's workers; prints the plan, then what was done")
    .requiredOption('--table <name>', 'a maintained table (see `maintain list`)')
    .option('--dry-run', 'plan only: say what each step would do')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output (the whole report)')
    .action(async (o: { table: string; dryRun?: boolean; config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const e = entryOf(maintainEntriesOf(config), o.table);
      const c = await temporalClient(config);
      try {
        const workflowId = workflowIds.maintain(e.target.name);
        const input: MaintainTableInput = { target: e.target, ...(o.dryRun ? { dryRun: true } : {}) };
        const handle = await startOrFollow(c.client, 'maintainTable', e.taskQueue, workflowId, input);
        if (!o.json) process.stderr.write(`${workflowId} on task queue ${e.taskQueue}\n`);
        const result = handle.result() as Promise<MaintenanceReport>;
        let done = false;
        void result.then(
          () => (done = true),
          () => (done = true),
        );
        // The plan first, as soon as the run has it, before any step deletes anything.
        let printed = false;
        if (!o.json)
          while (!done && !printed) {
            const p = await handle.query(maintenanceProgressQuery).catch(() => undefined);
            if (p?.report?.plan) {
              process.stdout.write(`${planLines(p.report.plan).join('\n')}\n`);
              printed = true;
            } else await sleep(200);
          }
        const r = await result;
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          const lines = [...(printed ? [] : planLines(r.plan)), ...doneLines(r)];
          if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
        }
      } finally {
        await c.close();
      }
    });
}
