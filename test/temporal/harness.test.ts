/**
 * Proves the Temporal harness end to end against the real dev server: client → workflow → activity on a
 * real worker in this process → back, and a TributaryError crossing the activity boundary as a typed,
 * non-retryable failure.
 */
import { randomUUID } from 'node:crypto';
import { activityInfo } from '@temporalio/activity';
import {
  ActivityFailure,
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
} from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  bundleWorkflowCode,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { type EchoRequest, type EchoResult, createHealthActivities } from '../../activities/health';
import { TributaryError } from '../../lake/errors';
import { taskQueueFor, workflowIds } from '../../shapes/queues';
import { createWorker } from '../../workers/worker';
import { healthCheckWorkflow } from '../../workflows';
import { requireService } from '../harness/env';

let clientConnection: Connection | undefined;
let workerConnection: NativeConnection | undefined;
let client: Client;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  // Before anything creates the default runtime, which logs every worker state change at INFO.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { endpoint } = requireService('temporal');
  clientConnection = await Connection.connect({ address: endpoint });
  workerConnection = await NativeConnection.connect({ address: endpoint });
  client = new Client({ connection: clientConnection });
  workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
});

afterAll(async () => {
  await workerConnection?.close();
  await clientConnection?.close();
});

/** A fresh queue per test, so no other worker can pick up its tasks. */
const uniqueQueue = () => taskQueueFor(`test-${randomUUID()}`);

test('health check round trip runs the activity on this process', async () => {
  const taskQueue = uniqueQueue();
  const at = new Date('2030-01-02T03:04:05.000Z');
  const { worker } = await createWorker({
    connection: workerConnection!,
    taskQueue,
    workflowBundle,
    activities: createHealthActivities({ now: () => at }),
  });

  const result = await worker.runUntil(
    client.workflow.execute(healthCheckWorkflow, {
      taskQueue,
      workflowId: workflowIds.healthCheck(randomUUID()),
      args: [{ message: 'hello tributary' }],
    }),
  );

  expect(result).toEqual({ message: 'hello tributary', workerPid: process.pid, at: at.toISOString() });
});

test('a non-retryable TributaryError fails the workflow with a typed ApplicationFailure after one attempt', async () => {
  const taskQueue = uniqueQueue();
  const message = 'region "mars" is not in regions.yaml: add it or fix the table config';
  const attempts: number[] = [];
  // Same workflow, failing implementation wired in through the activity seam.
  const failing = {
    async echo(_req: EchoRequest): Promise<EchoResult> {
      attempts.push(activityInfo().attempt);
      throw new TributaryError('CONFIG_INVALID', message);
    },
  };
  // This worker opens its own connection from the address (the other createWorker path).
  const { endpoint } = requireService('temporal');
  const { worker, close } = await createWorker({
    address: endpoint,
    taskQueue,
    workflowBundle,
    activities: failing,
  });

  const err = await worker
    .runUntil(
      client.workflow.execute(healthCheckWorkflow, {
        taskQueue,
        workflowId: workflowIds.healthCheck(randomUUID()),
        args: [{ message: 'unused' }],
      }),
    )
    .then(
      () => undefined,
      (e: unknown) => e,
    )
    .finally(close);

  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activityFailure = (err as WorkflowFailedError).cause;
  expect(activityFailure).toBeInstanceOf(ActivityFailure);
  expect(activityFailure).toMatchObject({ activityType: 'echo', retryState: 'NON_RETRYABLE_FAILURE' });
  const appFailure = (activityFailure as ActivityFailure).cause;
  expect(appFailure).toBeInstanceOf(ApplicationFailure);
  expect(appFailure).toMatchObject({ type: 'CONFIG_INVALID', message, nonRetryable: true });
  expect(attempts).toEqual([1]);
});
