/**
 * activities/heartbeat on the real dev server: an attempt that reports no progress for four heartbeat
 * timeouts stays alive inside `beating`, and without it the same attempt is declared dead (so the first
 * test proves something).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { activityInfo, heartbeat } from '@temporalio/activity';
import { TimeoutFailure, WorkflowFailedError } from '@temporalio/client';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { beating } from '../../activities/heartbeat';
import { taskQueueFor } from '../../shapes/queues';
import { createWorker } from '../../workers/worker';
import { temporal } from '../ingest/helpers';
import type { QuietActivities } from './quiet-workflow';

let t: Awaited<ReturnType<typeof temporal>>;
let workflowBundle: { code: string };

beforeAll(async () => {
  t = await temporal();
  workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./quiet-workflow'),
    logger: new DefaultLogger('WARN'),
  });
});

afterAll(() => t?.close());

async function run(quiet: QuietActivities['quiet'], ms: number): Promise<unknown> {
  const taskQueue = taskQueueFor(`test-heartbeat-${randomUUID()}`);
  const { worker } = await createWorker({
    connection: t.native,
    taskQueue,
    workflowBundle,
    activities: { quiet },
  });
  return worker
    .runUntil(
      t.client.workflow.execute('quietWorkflow', {
        taskQueue,
        workflowId: `quiet-${randomUUID()}`,
        args: [ms],
      }),
    )
    .catch((e: unknown) => e);
}

test('an attempt silent for 4 heartbeat timeouts stays alive inside beating', async () => {
  const attempts: number[] = [];
  const r = await run(
    (ms) =>
      beating(async () => {
        attempts.push(activityInfo().attempt);
        await sleep(ms);
        return activityInfo().attempt;
      }),
    4000,
  );
  expect(r).toBe(1);
  expect(attempts).toEqual([1]);
});

test('without beating the same silent attempt times out on its heartbeat', async () => {
  const r = await run(async (ms) => {
    heartbeat();
    await sleep(ms);
    return activityInfo().attempt;
  }, 4000);
  expect(r).toBeInstanceOf(WorkflowFailedError);
  // WorkflowFailedError ← ActivityFailure ← TimeoutFailure (HEARTBEAT).
  const timeout = (r as WorkflowFailedError).cause?.cause;
  expect(timeout).toBeInstanceOf(TimeoutFailure);
  expect((timeout as TimeoutFailure).timeoutType).toBe('HEARTBEAT');
});
