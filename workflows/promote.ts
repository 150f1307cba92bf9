/**
 * promoteReplica: moves a table's role to its replica after a storage outage (or back, failing back).
 * Pause the Schedules that read or write the table, stop their runs in flight (they write the table being
 * left), try a last clone while nothing writes, plan (what each writer re-sends, from the carried txns),
 * then point each Schedule at the new table, record the promotion in its note (kept by `schedules apply`),
 * unpause and trigger. Re-running it is safe: every step checks first.
 */
import {
  ActivityFailure,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PromoteActivities } from '../activities/promote';
import {
  type PromoteReplicaInput,
  type PromotionState,
  defaultPromoteWorkflowId,
  switchOf,
} from '../shapes/promote';
import { controlActivity } from './activity-options';

const control = controlActivity;

const { pausePromotedSchedules, stopPromotedRuns, planPromotion, switchPromotedSchedule } =
  proxyActivities<PromoteActivities>(control);
// The final clone reports its own failure (a dead primary) as a value; one attempt, bounded by its timeout.
const { finalCloneForPromotion } = proxyActivities<PromoteActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

/** The plan and what has been done so far. */
export const promotionStateQuery = defineQuery<PromotionState>('promotionState');

export async function promoteReplica(input: PromoteReplicaInput): Promise<PromotionState> {
  const state: PromotionState = { phase: 'pausing', paused: [], stopped: [], switched: [], resent: [] };
  setHandler(promotionStateQuery, () => state);
  const { from, to } = switchOf(input);
  const back = input.back === true;
  const ids = input.schedules.map((s) => s.id);
  const why = `${back ? 'fail-back' : 'promotion'} of ${input.name} to ${to} by ${workflowInfo().workflowId}${input.reason ? `: ${input.reason}` : ''}`;

  state.paused = await pausePromotedSchedules({ name: input.name, scheduleIds: ids });
  state.phase = 'stopping-runs';
  state.stopped = await stopPromotedRuns({
    workflowIds: input.schedules.map(defaultPromoteWorkflowId),
    scheduleIds: ids,
    reason: why,
  });

  let finalClone;
  if (input.finalClone !== false) {
    state.phase = 'final-clone';
    try {
      finalClone = await finalCloneForPromotion({
        from,
        to,
        replace: back,
        timeoutMs: (input.finalCloneTimeoutSeconds ?? 30) * 1000,
      });
    } catch (e) {
      // A worker lost mid-clone: go on from the last clone; the plan says so.
      if (!(e instanceof ActivityFailure)) throw e;
      finalClone = { ok: false, error: e.cause?.message ?? e.message };
    }
  }
  state.phase = 'planning';
  const plan = await planPromotion({ input, ...(finalClone ? { finalClone } : {}) });
  state.plan = plan;
  state.resent = plan.writers.map((w) => w.text);

  state.phase = 'switching';
  for (const s of input.schedules)
    state.switched.push(
      await switchPromotedSchedule({
        name: input.name,
        scheduleId: s.id,
        from,
        to,
        back,
        primary: input.primary,
        replica: input.replica,
        ...(input.reason ? { reason: input.reason } : {}),
      }),
    );
  state.phase = 'done';
  return state;
}
