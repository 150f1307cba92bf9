/**
 * failoverRegion: moves a region's compute to another task queue (or back home). Plan, then move each
 * Schedule (queue + failover record in its note), then each run in flight on another queue: stop it
 * (terminate by default: server side, so a dead queue does not matter) and start it again on the new
 * queue. Runs on the target queue, whose workers are alive. Re-running it is safe: every step checks
 * first, and the pipelines are exactly-once by their Delta `txn` and file state.
 */
import { defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { FailoverActivities } from '../activities/failover';
import type { FailoverRegionInput, FailoverState } from '../shapes/failover';
import { controlActivity } from './activity-options';

const control = controlActivity;

const { planRegionFailover, moveSchedule, stopRun, restartRun } =
  proxyActivities<FailoverActivities>(control);

/** The plan and what has been done so far (per Schedule and per run). */
export const failoverStateQuery = defineQuery<FailoverState>('failoverState');

export async function failoverRegion(input: FailoverRegionInput): Promise<FailoverState> {
  const state: FailoverState = { phase: 'planning', schedules: [], runs: [] };
  setHandler(failoverStateQuery, () => state);
  const plan = await planRegionFailover(input);
  state.plan = plan;

  state.phase = 'moving-schedules';
  for (const s of plan.schedules) {
    if (!s.exists) {
      state.schedules.push({ scheduleId: s.scheduleId, outcome: 'missing' });
      continue;
    }
    state.schedules.push(
      await moveSchedule({
        scheduleId: s.scheduleId,
        toQueue: s.target,
        home: s.home,
        back: plan.back,
        ...(input.reason ? { reason: input.reason } : {}),
      }),
    );
  }

  state.phase = 'moving-runs';
  const why = `${plan.back ? 'fail-back' : 'failover'} of region ${plan.region} to ${plan.toQueue} by ${workflowInfo().workflowId}${input.reason ? `: ${input.reason}` : ''}`;
  for (const run of plan.runs) {
    const base = { workflowId: run.workflowId, runId: run.runId, from: run.taskQueue };
    if (!run.move) {
      state.runs.push({ ...base, stopped: 'left-running', detail: `already on ${run.target}` });
      continue;
    }
    const stopped = await stopRun({
      run,
      mode: plan.mode,
      reason: why,
      cancelWaitMs: (input.cancelWaitSeconds ?? 30) * 1000,
    });
    if (stopped.stopped === 'cancel-pending') {
      state.runs.push({
        ...base,
        runId: stopped.runId,
        stopped: stopped.stopped,
        restarted: { how: 'none' },
        detail: stopped.detail,
      });
      continue;
    }
    const restarted = await restartRun({
      run,
      stoppedRunId: stopped.runId,
      toQueue: run.target,
      waitMs: 60_000,
    });
    state.runs.push({
      ...base,
      runId: stopped.runId,
      stopped: stopped.stopped,
      restarted,
      detail: `${stopped.detail}; ${restarted.how === 'schedule-trigger' ? `schedule ${run.scheduleId} triggered on ${run.target}` : restarted.how === 'start' ? `started again on ${run.target} with the same input` : `already running again`}${restarted.workflowId ? ` as ${restarted.workflowId}` : ''}`,
    });
  }
  state.phase = 'done';
  return state;
}
