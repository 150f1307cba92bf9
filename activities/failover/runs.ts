/**
 * The runs in flight of a failed-over region: stopped on the old queue, then started again on the new one.
 * A running execution keeps its task queue for life, so nothing else moves it. Both steps are safe to
 * repeat, and re-running the work is safe: ingestion and egress are exactly-once by their Delta `txn` and
 * file state, so a terminated batch is simply done again.
 */
import {
  type Client,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  defaultPayloadConverter,
} from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../lake/errors';
import type { PlannedRun, RunMove } from '../../shapes/failover';

export interface StopRunRequest {
  run: PlannedRun;
  mode: 'terminate' | 'cancel';
  reason: string;
  /** Mode `cancel`: how long to wait for the run to close. */
  cancelWaitMs: number;
}

export interface StopRunResult {
  stopped: RunMove['stopped'];
  /** The run that was stopped (the current run of the id: a continue-as-new may have replaced the plan's). */
  runId: string;
  detail: string;
}

export interface RestartRunRequest {
  run: PlannedRun;
  /** The run stopRun stopped (whose input a start repeats). */
  stoppedRunId: string;
  toQueue: string;
  /** How long to wait for the Schedule to see its run closed, and then its new run. */
  waitMs: number;
}

type Beat = () => void;

async function statusOf(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

export async function stopRun(client: Client, req: StopRunRequest, beat: Beat): Promise<StopRunResult> {
  const { run } = req;
  const d = await statusOf(client, run.workflowId);
  if (!d || d.status.name !== 'RUNNING')
    return {
      stopped: 'already-closed',
      runId: d?.runId ?? run.runId,
      detail: `${run.workflowId} is ${d ? d.status.name.toLowerCase() : 'gone'} already`,
    };
  const handle = client.workflow.getHandle(run.workflowId, d.runId);
  if (req.mode === 'terminate') {
    try {
      await handle.terminate(req.reason);
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      return { stopped: 'already-closed', runId: d.runId, detail: `${run.workflowId} closed meanwhile` };
    }
    return {
      stopped: 'terminated',
      runId: d.runId,
      detail: `terminated on ${d.taskQueue} (server side: needs no worker there)`,
    };
  }
  await handle.cancel();
  const until = Date.now() + req.cancelWaitMs;
  while (Date.now() < until) {
    beat();
    const now = await statusOf(client, run.workflowId);
    if (!now || now.runId !== d.runId || now.status.name !== 'RUNNING')
      return {
        stopped: 'cancelled',
        runId: d.runId,
        detail: `cancelled; a worker on ${d.taskQueue} processed it`,
      };
    await sleep(1000);
  }
  return {
    stopped: 'cancel-pending',
    runId: d.runId,
    detail:
      `cancel requested, but no worker on ${d.taskQueue} processed it within ${req.cancelWaitMs / 1000} s ` +
      `(a cancel is handled by the run's own workers; with its queue dead it waits for ever): not restarted. ` +
      `Run the failover again with mode "terminate".`,
  };
}

/** The input the run was started with (the first event of its history). */
async function inputOf(client: Client, workflowId: string, runId: string): Promise<unknown[]> {
  const h = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = h.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started)
    throw new TributaryError('INTERNAL', `the history of ${workflowId} run ${runId} has no start event`);
  return (started.input?.payloads ?? []).map((p) => defaultPayloadConverter.fromPayload(p));
}

export async function restartRun(
  client: Client,
  req: RestartRunRequest,
  beat: Beat,
): Promise<RunMove['restarted'] & {}> {
  const { run } = req;
  const until = Date.now() + req.waitMs;
  if (run.scheduleId) {
    // Trigger the Schedule (now on the new queue) with its own SKIP policy, once it has seen the stopped run
    // close; a run of it already going again means this was done before.
    const handle = client.schedule.getHandle(run.scheduleId);
    for (;;) {
      beat();
      const running = (await handle.describe()).info.runningActions.map((a) => a.workflow);
      const other = running.find((w) => w.workflowId !== run.workflowId);
      if (other)
        return { how: 'already-running', workflowId: other.workflowId, runId: other.firstExecutionRunId };
      if (!running.length) break;
      if (Date.now() > until)
        throw new TributaryError(
          'STORAGE_TRANSIENT',
          `schedule ${run.scheduleId} still lists ${run.workflowId} as running ${req.waitMs / 1000} s after it was stopped; retrying`,
        );
      await sleep(500);
    }
    const before = Date.now();
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
    for (;;) {
      beat();
      const d = await handle.describe();
      const started =
        d.info.runningActions[0]?.workflow ??
        d.info.recentActions.filter((a) => a.takenAt.getTime() >= before - 1000).at(-1)?.action.workflow;
      if (started)
        return {
          how: 'schedule-trigger',
          workflowId: started.workflowId,
          runId: started.firstExecutionRunId,
        };
      if (Date.now() > until) return { how: 'schedule-trigger' };
      await sleep(500);
    }
  }
  const args = await inputOf(client, run.workflowId, req.stoppedRunId);
  try {
    const h = await client.workflow.start(run.workflowType, {
      workflowId: run.workflowId,
      taskQueue: req.toQueue,
      args,
    });
    return { how: 'start', workflowId: h.workflowId, runId: h.firstExecutionRunId };
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    const d = await statusOf(client, run.workflowId);
    return { how: 'already-running', workflowId: run.workflowId, ...(d ? { runId: d.runId } : {}) };
  }
}
