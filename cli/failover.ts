/**
 * `tributary failover region` (move a region's compute to another task queue, or back) and
 * `tributary schedules status` (each Schedule's queue and failover record).
 */
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { planRegionFailover } from '../activities/failover/plan';
import { failoverInputOf } from '../config/failover';
import type { Config } from '../config/schema';
import { TributaryError } from '../lake/errors';
import type { FailoverPlan, FailoverRegionInput, FailoverState } from '../shapes/failover';
import { parseFailoverNote } from '../shapes/failover';
import { scheduleIds, workflowIds } from '../shapes/queues';
import { maintainEntriesOf, taskQueueOf } from '../config/targets';
import { scheduleRegion } from '../workers/schedules';
import { loadCliConfig } from './config-file';
import { scheduleFacts } from './schedule-facts';
import { temporalClient } from './temporal';

/** The parent command, made here unless another module registered it first. */
const parent = (program: Command, name: string, description: string): Command =>
  program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);

export function planText(plan: FailoverPlan): string {
  const lines = [
    `${plan.back ? 'fail-back' : 'failover'} of region ${plan.region} to ${plan.toQueue} (runs in flight: ${plan.mode}):`,
  ];
  for (const s of plan.schedules)
    lines.push(
      !s.exists
        ? `  schedule ${s.scheduleId}: not found, nothing to move`
        : s.taskQueue === s.target && (plan.back ? !s.failedOver : s.failedOver)
          ? `  schedule ${s.scheduleId}: already on ${s.target}`
          : `  schedule ${s.scheduleId}: ${s.taskQueue} → ${s.target}${s.failedOver ? ` (failed over from ${s.failedOver.from} at ${s.failedOver.at})` : ''}`,
    );
  if (!plan.runs.length) lines.push('  runs in flight: none');
  for (const r of plan.runs)
    lines.push(
      r.move
        ? `  run ${r.workflowId} (${r.workflowType}) on ${r.taskQueue}: ${plan.mode}, then ${r.scheduleId ? `trigger ${r.scheduleId}` : 'start it again'} on ${r.target}`
        : `  run ${r.workflowId} (${r.workflowType}): already on ${r.target}, left running`,
    );
  return lines.join('\n');
}

export function resultText(s: FailoverState): string {
  const lines = ['done:'];
  for (const x of s.schedules)
    lines.push(
      `  schedule ${x.scheduleId}: ${x.outcome}${x.from && x.outcome !== 'already-there' ? ` ${x.from} → ${x.to}` : x.to ? ` ${x.to}` : ''}`,
    );
  for (const r of s.runs) lines.push(`  run ${r.workflowId}: ${r.stopped}; ${r.detail}`);
  return lines.join('\n');
}

async function hasPollers(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const r = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  return (r.pollers?.length ?? 0) > 0;
}

/** Runs the failover workflow (on the target queue) and returns its result. */
export async function runFailover(client: Client, namespace: string, input: FailoverRegionInput) {
  const workflowId = workflowIds.failoverRegion(input.region);
  if (!(await hasPollers(client, namespace, input.toQueue)))
    process.stderr.write(`no worker polls ${input.toQueue} yet: the failover starts when one does\n`);
  let handle;
  try {
    handle = await client.workflow.start('failoverRegion', {
      taskQueue: input.toQueue,
      workflowId,
      args: [input],
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    process.stderr.write(`${workflowId} is already running; following it\n`);
    handle = client.workflow.getHandle(workflowId);
  }
  return (await handle.result()) as FailoverState;
}

export interface ScheduleStatus {
  scheduleId: string;
  region: string | null;
  exists: boolean;
  taskQueue: string | null;
  home: string | null;
  paused: boolean | null;
  note: string | null;
  failedOver: ReturnType<typeof parseFailoverNote> | null;
  running: string[];
}

/** Every Schedule of the config (ingest and egress per region, replication entries) as Temporal has it. */
export async function schedulesStatus(client: Client, config: Config): Promise<ScheduleStatus[]> {
  const wanted: { id: string; home: string }[] = [];
  for (const r of config.regions) {
    wanted.push({ id: scheduleIds.ingest(r.name), home: taskQueueOf(r) });
    if (config.central) wanted.push({ id: scheduleIds.egress(r.name), home: taskQueueOf(r) });
  }
  for (const e of config.replicate) {
    const r = e.region ? config.regions.find((x) => x.name === e.region) : undefined;
    wanted.push({ id: scheduleIds.replicate(e.name), home: e.taskQueue ?? (r ? taskQueueOf(r) : '') });
  }
  for (const e of maintainEntriesOf(config))
    wanted.push({ id: scheduleIds.maintain(e.target.name), home: e.taskQueue });
  const out: ScheduleStatus[] = [];
  for (const w of wanted) {
    const f = await scheduleFacts(client, w.id);
    out.push({
      scheduleId: w.id,
      region: scheduleRegion(config, w.id) ?? null,
      exists: f !== undefined,
      taskQueue: f?.taskQueue ?? null,
      home: w.home || null,
      paused: f?.paused ?? null,
      note: f?.note ?? null,
      failedOver: parseFailoverNote(f?.note ?? undefined) ?? null,
      running: f?.running ?? [],
    });
  }
  return out;
}

const statusLine = (s: ScheduleStatus): string =>
  !s.exists
    ? `${s.scheduleId}: not created (run 'tributary schedules apply')`
    : `${s.scheduleId}: on ${s.taskQueue}${s.paused ? ', paused' : ''}${s.running.length ? `, running ${s.running.join(', ')}` : ''}` +
      (s.failedOver
        ? ` — FAILED OVER from ${s.failedOver.from} at ${s.failedOver.at} by ${s.failedOver.by}${s.failedOver.reason ? `: ${s.failedOver.reason}` : ''} (home ${s.failedOver.home}; 'tributary failover region --region ${s.region} --back' returns it)`
        : s.home && s.taskQueue !== s.home
          ? ` (config says ${s.home}: run 'tributary schedules apply')`
          : '');

export function registerFailoverCommands(program: Command): void {
  const failover = parent(program, 'failover', "operator failovers: a region's compute");
  failover
    .command('region')
    .description(
      "move a region's Schedules and runs in flight to another task queue (a compute outage), or back with --back",
    )
    .requiredOption('--region <name>', 'region')
    .option('--to-queue <queue>', 'task queue to move to (its workers must be running)')
    .option('--back', 'return to the home queue from config and clear the failover record')
    .option('--reason <text>', 'why (recorded in each Schedule)')
    .option('--mode <mode>', 'runs in flight: terminate (default) or cancel (needs the old queue alive)')
    .option('--dry-run', 'print the plan only')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output: { plan, result }')
    .action(
      async (o: {
        region: string;
        toQueue?: string;
        back?: boolean;
        reason?: string;
        mode?: string;
        dryRun?: boolean;
        config?: string;
        json?: boolean;
      }) => {
        if (o.mode !== undefined && o.mode !== 'terminate' && o.mode !== 'cancel')
          throw new TributaryError(
            'BAD_INPUT',
            `--mode is terminate or cancel, got ${JSON.stringify(o.mode)}`,
          );
        const config = loadCliConfig(o.config);
        const input = failoverInputOf(config, o.region, {
          ...(o.toQueue ? { toQueue: o.toQueue } : {}),
          ...(o.back ? { back: true } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
          ...(o.mode ? { mode: o.mode as 'terminate' | 'cancel' } : {}),
        });
        const c = await temporalClient(config);
        try {
          const plan = await planRegionFailover(c.client, input);
          if (o.dryRun) {
            process.stdout.write(o.json ? `${JSON.stringify({ plan })}\n` : `${planText(plan)}\n(dry run)\n`);
            return;
          }
          if (!o.json) process.stdout.write(`${planText(plan)}\n`);
          const result = await runFailover(c.client, c.namespace, input);
          process.stdout.write(o.json ? `${JSON.stringify({ plan, result })}\n` : `${resultText(result)}\n`);
        } finally {
          await c.close();
        }
      },
    );

  parent(program, 'schedules', 'Temporal Schedules from config')
    .command('status')
    .description(
      'per Schedule: its task queue, whether it is failed over (from where, when, why), its running runs',
    )
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'JSON output')
    .action(async (o: { config?: string; json?: boolean }) => {
      const config = loadCliConfig(o.config);
      const c = await temporalClient(config);
      try {
        const all = await schedulesStatus(c.client, config);
        process.stdout.write(
          o.json ? `${JSON.stringify(all, null, 2)}\n` : `${all.map(statusLine).join('\n')}\n`,
        );
      } finally {
        await c.close();
      }
    });
}
