/**
 * `tributary failover table --replica NAME [--back]`: promote a table's replica after a storage outage (or
 * fail back). Prints the plan first (read now, before anything is paused), then runs the `promoteReplica`
 * workflow and prints what it did.
 */
import { type Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { planPromotion } from '../activities/promote/plan';
import { promoteInputOf, replicaEntryOf } from '../config/promote';
import type { Config } from '../config/schema';
import { regionOf, storeOptionsOf, taskQueueOf } from '../config/targets';
import { openStore } from '../lake/storage/open';
import type { PromoteReplicaInput, PromotionPlan, PromotionState } from '../shapes/promote';
import { workflowIds } from '../shapes/queues';
import { loadCliConfig } from './config-file';
import { temporalClient } from './temporal';

/** The parent command, made here unless another module registered it first. */
const parent = (program: Command, name: string, description: string): Command =>
  program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);

export function promotionPlanText(p: PromotionPlan): string {
  const role = p.role.kind === 'central' ? 'the central table' : `region ${p.role.region}'s table`;
  const lines = [
    `${p.back ? 'fail-back' : 'promotion'} of ${p.name} (${role}): ${p.from} → ${p.to}`,
    p.primaryReadable
      ? `  ${p.from}: readable, version ${p.primaryVersion}`
      : `  ${p.from}: cannot be read (${p.primaryError ?? 'no table'})`,
    `  ${p.to}: version ${p.replicaVersion}${p.recordedSourceVersion !== undefined ? `, last cloned at source version ${p.recordedSourceVersion}` : ''}`,
  ];
  if (p.finalClone)
    lines.push(
      p.finalClone.ok
        ? `  final clone: at source version ${p.finalClone.sourceVersion} (${p.finalClone.copiedFiles ?? 0} files, ${p.finalClone.copiedBytes ?? 0} bytes copied)`
        : `  final clone: not done (${p.finalClone.error})`,
    );
  for (const s of p.schedules)
    lines.push(
      !s.exists
        ? `  schedule ${s.scheduleId}: not found, nothing to switch`
        : s.switched
          ? `  schedule ${s.scheduleId}: already switched`
          : `  schedule ${s.scheduleId}: pause, stop runs in flight, switch ${s.fields.join(', ') || 'nothing'}, unpause, trigger`,
    );
  for (const w of p.writers) lines.push(`  ${w.text}`);
  for (const w of p.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export function promotionResultText(s: PromotionState): string {
  const lines = ['done:'];
  if (s.paused.length) lines.push(`  paused: ${s.paused.join(', ')}`);
  for (const r of s.stopped) if (r.outcome === 'terminated') lines.push(`  run ${r.workflowId}: terminated`);
  for (const x of s.switched)
    lines.push(
      `  schedule ${x.scheduleId}: ${x.outcome}${x.fields.length ? ` (${x.fields.join(', ')})` : ''}${x.triggered ? ', triggered' : ''}`,
    );
  for (const r of s.resent) lines.push(`  ${r}`);
  return lines.join('\n');
}

/** The queue the promotion runs on: the entry's, else its region's, else the first region's. */
function queueOf(config: Config, name: string): string {
  const e = replicaEntryOf(config, name);
  if (e.taskQueue) return e.taskQueue;
  return taskQueueOf(e.region ? regionOf(config, e.region) : config.regions[0]!);
}

/** Runs the promotion workflow (or follows the one already running) and returns its result. */
export async function runPromotion(
  client: Client,
  taskQueue: string,
  input: PromoteReplicaInput,
): Promise<PromotionState> {
  const workflowId = workflowIds.promoteReplica(input.name);
  try {
    const h = await client.workflow.start('promoteReplica', { taskQueue, workflowId, args: [input] });
    return (await h.result()) as PromotionState;
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    process.stderr.write(`${workflowId} is already running; following it\n`);
    return (await client.workflow.getHandle(workflowId).result()) as PromotionState;
  }
}

export function registerFailoverTableCommand(program: Command): void {
  parent(program, 'failover', 'storage and compute failover')
    .command('table')
    .description("promote a table's replica after a storage outage (its pipelines switch to it), or --back")
    .requiredOption('--replica <name>', 'the replicate: entry whose target becomes the table')
    .option('--back', 'fail back: switch the pipelines to the primary again (clone it back first)')
    .option('--dry-run', 'print the plan only')
    .option('--no-final-clone', 'do not try a last clone before switching')
    .option('--reason <text>', 'why, recorded in each Schedule')
    .option('--task-queue <queue>', "the queue the workflow runs on (default the entry's, or its region's)")
    .option('--json', 'print the plan and the result as JSON')
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .action(
      async (o: {
        replica: string;
        back?: boolean;
        dryRun?: boolean;
        finalClone: boolean;
        reason?: string;
        taskQueue?: string;
        json?: boolean;
        config?: string;
      }) => {
        const config = loadCliConfig(o.config);
        const input = promoteInputOf(config, o.replica, {
          ...(o.back ? { back: true } : {}),
          finalClone: o.finalClone,
          ...(o.reason ? { reason: o.reason } : {}),
        });
        const taskQueue = o.taskQueue ?? queueOf(config, o.replica);
        const c = await temporalClient(config);
        try {
          const storeOptions = storeOptionsOf(config);
          const plan = await planPromotion(
            { open: (u) => openStore(u, storeOptions), client: c.client },
            input,
            undefined,
          );
          if (o.json) process.stdout.write(`${JSON.stringify({ plan })}\n`);
          else process.stdout.write(`${promotionPlanText(plan)}\n`);
          if (o.dryRun) return;
          const state = await runPromotion(c.client, taskQueue, input);
          if (o.json) process.stdout.write(`${JSON.stringify({ result: state })}\n`);
          else process.stdout.write(`${promotionPlanText(state.plan!)}\n${promotionResultText(state)}\n`);
        } finally {
          await c.close();
        }
      },
    );
}
