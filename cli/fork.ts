/**
 * `tributary fork start|status|approve`: the live table fork (workflows/fork.ts) through Temporal.
 * start reads fork.yaml (config/fork.ts); status shows the forkState query; approve sends the approveFork
 * Update for the plan awaiting approval (or the one --plan names: a stale one is refused by the workflow).
 */
import { existsSync } from 'node:fs';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { forkInputOf, loadForkFile } from '../config/fork';
import { TributaryError } from '../lake/errors';
import type { ForkState } from '../shapes/fork';
import { DEFAULT_TASK_QUEUE, workflowIds } from '../shapes/queues';
import { approveForkUpdate, forkStateQuery } from '../workflows/fork';
import { configFileOf, loadCliConfig } from './config-file';
import { startOrFollow } from './pipelines';
import { temporalSettingsOf } from '../config/temporal';
import { clientOf, temporalClient } from './temporal';

/** The deployment config when there is one (it gives Temporal's address and the regions); else env. */
async function client(
  deployment: string | undefined,
): Promise<{ client: Client; config?: Config; close(): Promise<void> }> {
  if (deployment !== undefined || existsSync(configFileOf(undefined))) {
    const config = loadCliConfig(deployment);
    return { ...(await temporalClient(config)), config };
  }
  // No deployment config: the defaults, with the environment's TEMPORAL_* settings.
  return clientOf(temporalSettingsOf({ address: '127.0.0.1:7233', namespace: 'default' }));
}

export function stateText(s: ForkState): string {
  const lines = [`fork ${s.name}: ${s.step}${s.detail ? ` — ${s.detail}` : ''}`];
  if (s.firstClone)
    lines.push(`  step 1 clone: source v${s.firstClone.sourceVersion} → fork v${s.firstClone.targetVersion}`);
  if (s.routingVersion !== undefined) lines.push(`  step 2 routing version ${s.routingVersion}`);
  if (s.acks)
    lines.push(
      `  acks: ${Object.entries(s.acks)
        .map(([r, v]) => `${r}=${v ?? 'none'}`)
        .join(', ')}`,
    );
  if (s.backfill) lines.push(`  step 3 backfill: source v${s.backfill.sourceVersion} (${s.backfill.kind})`);
  if (s.plan) {
    const side = (x: typeof s.plan.main) =>
      `${x.table} v${x.version}: delete ${x.rowsToDelete} of ${x.rowsTotal} rows (${x.filesToRemove} files removed, ${x.filesToRewrite} rewritten), keep ${x.rowsKept}`;
    lines.push(
      `  plan ${s.plan.id} (made ${s.plan.madeAt}):`,
      `    main ${side(s.plan.main)}`,
      `    fork ${side(s.plan.fork)}`,
    );
  }
  if (s.approvedPlan) lines.push(`  approved ${s.approvedPlan}${s.approvedBy ? ` by ${s.approvedBy}` : ''}`);
  for (const d of s.deletes ?? [])
    lines.push(`  deleted ${d.deletedRows} rows from ${d.table} (v${d.version ?? '-'})`);
  if (s.verification)
    lines.push(
      `  verification: ${s.verification.verified ? 'OK' : 'FAILED'} ${JSON.stringify(s.verification)}`,
    );
  return lines.join('\n');
}

export function registerForkCommands(program: Command): void {
  const fork = program
    .command('fork')
    .description('live table fork: move a subset of rows to a table of its own');
  const deployment = [
    '--deployment <file>',
    'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml, if present)',
  ] as const;
  fork
    .command('start')
    .description('start the forkTable workflow from fork.yaml (the same JSON input as the Temporal UI)')
    .requiredOption('--config <file>', 'fork.yaml: name, main, fork, subset, regions, approval')
    .option(...deployment)
    .option('--task-queue <queue>', `task queue (default ${DEFAULT_TASK_QUEUE})`)
    .option('--wait', 'wait for the result')
    .option('--json', 'JSON output')
    .action(
      async (o: {
        config: string;
        deployment?: string;
        taskQueue?: string;
        wait?: boolean;
        json?: boolean;
      }) => {
        const file = loadForkFile(o.config);
        const c = await client(o.deployment);
        try {
          const input = forkInputOf(file, c.config);
          const id = workflowIds.fork(input.name);
          const h = await startOrFollow(c.client, 'forkTable', o.taskQueue ?? DEFAULT_TASK_QUEUE, id, input);
          if (!o.wait) {
            process.stdout.write(
              o.json ? `${JSON.stringify({ workflowId: id, input })}\n` : `started ${id}\n`,
            );
            return;
          }
          const r = (await h.result()) as ForkState;
          process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${stateText(r)}\n`);
          if (!r.verification?.verified) process.exitCode = 1;
        } finally {
          await c.close();
        }
      },
    );
  fork
    .command('status')
    .description("the fork's step, plan and counts (the forkState query)")
    .requiredOption('--name <name>', 'fork name')
    .option(...deployment)
    .option('--json', 'JSON output')
    .action(async (o: { name: string; deployment?: string; json?: boolean }) => {
      const c = await client(o.deployment);
      try {
        const s = await c.client.workflow.getHandle(workflowIds.fork(o.name)).query(forkStateQuery);
        process.stdout.write(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${stateText(s)}\n`);
      } finally {
        await c.close();
      }
    });
  fork
    .command('approve')
    .description(
      'approve the plan awaiting approval (the approveFork Update); --plan names the plan you read',
    )
    .requiredOption('--name <name>', 'fork name')
    .option('--plan <id>', 'the plan id (default: the one awaiting approval now)')
    .option('--by <who>', 'who approves (recorded)', process.env.USER ?? 'cli')
    .option(...deployment)
    .action(async (o: { name: string; plan?: string; by: string; deployment?: string }) => {
      const c = await client(o.deployment);
      try {
        const h = c.client.workflow.getHandle(workflowIds.fork(o.name));
        const planId = o.plan ?? (await h.query(forkStateQuery)).plan?.id;
        if (!planId)
          throw new TributaryError(
            'BAD_INPUT',
            `fork ${o.name} has no plan yet: see 'tributary fork status'`,
          );
        try {
          const r = await h.executeUpdate(approveForkUpdate, { args: [{ planId, by: o.by }] });
          process.stdout.write(`approved ${r.approved}\n`);
        } catch (e) {
          if (!(e instanceof WorkflowUpdateFailedError)) throw e;
          throw new TributaryError('BAD_INPUT', `approval refused: ${e.cause?.message ?? e.message}`);
        }
      } finally {
        await c.close();
      }
    });
}
