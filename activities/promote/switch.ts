/**
 * The switch of a promotion, one Schedule at a time, each step idempotent: pause the writers (marked in the
 * note so a re-run knows it paused them), stop their runs in flight (they write the table being left;
 * terminating is server side and safe, the pipelines are exactly-once), then point the action args at the
 * new table, record the promotion in the note, unpause and trigger.
 */
import {
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { TributaryError } from '../../lake/errors';
import {
  type PromotionRecord,
  type StoppedRun,
  type SwitchedSchedule,
  promotionOf,
  retargetArgs,
  withPromotion,
} from '../../shapes/promote';
import { noteLine, withNoteLine } from '../../shapes/schedule-notes';

const pauseKey = (name: string) => `paused for promotion of ${name}`;

async function describeOrUndefined(client: Client, scheduleId: string) {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}

/** Pauses the Schedules (those config left unpaused), marking the pause as the promotion's. Returns those paused by it. */
export async function pauseSchedules(client: Client, name: string, scheduleIds: string[]): Promise<string[]> {
  const paused: string[] = [];
  for (const id of scheduleIds) {
    const d = await describeOrUndefined(client, id);
    if (!d) continue;
    if (noteLine(d.state.note, pauseKey(name))) {
      paused.push(id);
      continue;
    }
    if (d.state.paused) continue; // paused by someone else: left paused afterwards too
    await client.schedule.getHandle(id).update((prev) => ({
      ...prev,
      state: {
        ...prev.state,
        paused: true,
        note: withNoteLine(prev.state.note, pauseKey(name), pauseKey(name)),
      },
    }));
    paused.push(id);
  }
  return paused;
}

/** Terminates the runs in flight of the given workflow ids and waits until their Schedules see them closed. */
export async function stopRuns(
  client: Client,
  req: { workflowIds: string[]; scheduleIds: string[]; reason: string; waitMs?: number },
  beat: () => void,
): Promise<StoppedRun[]> {
  const out: StoppedRun[] = [];
  for (const workflowId of req.workflowIds) {
    let d;
    try {
      d = await client.workflow.getHandle(workflowId).describe();
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      out.push({ workflowId, outcome: 'not-running' });
      continue;
    }
    if (d.status.name !== 'RUNNING') {
      out.push({ workflowId, runId: d.runId, outcome: 'not-running' });
      continue;
    }
    try {
      await client.workflow.getHandle(workflowId, d.runId).terminate(req.reason);
      out.push({ workflowId, runId: d.runId, outcome: 'terminated' });
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) throw e;
      out.push({ workflowId, runId: d.runId, outcome: 'already-closed' });
    }
  }
  const until = Date.now() + (req.waitMs ?? 60_000);
  for (const id of req.scheduleIds) {
    for (;;) {
      beat();
      const d = await describeOrUndefined(client, id);
      if (!d || d.info.runningActions.length === 0) break;
      if (Date.now() > until)
        throw new TributaryError(
          'STORAGE_TRANSIENT',
          `schedule ${id} still lists runs in flight (${d.info.runningActions.map((a) => a.workflow.workflowId).join(', ')}) after they were stopped; retrying`,
        );
      await sleep(300);
    }
  }
  return out;
}

export interface SwitchScheduleRequest {
  name: string;
  scheduleId: string;
  from: string;
  to: string;
  /** Failing back: the promotion record is cleared instead of written. */
  back: boolean;
  record: Omit<PromotionRecord, 'name' | 'from' | 'to'>;
  /** Original primary/replica from the input (the record always says primary → replica). */
  primary: string;
  replica: string;
}

export async function switchSchedule(client: Client, req: SwitchScheduleRequest): Promise<SwitchedSchedule> {
  const d = await describeOrUndefined(client, req.scheduleId);
  if (!d || d.action.type !== 'startWorkflow')
    return { scheduleId: req.scheduleId, outcome: 'missing', fields: [], triggered: false };
  const { fields } = retargetArgs(d.action.args ?? [], req.from, req.to);
  const recorded = promotionOf(d.state.note, req.name);
  const pausedByUs = noteLine(d.state.note, pauseKey(req.name)) !== undefined;
  const done = fields.length === 0 && (req.back ? !recorded : recorded !== undefined);
  let note = d.state.note;
  if (!done || pausedByUs) {
    note = withPromotion(
      withNoteLine(d.state.note, pauseKey(req.name), undefined),
      req.name,
      req.back ? undefined : { name: req.name, from: req.primary, to: req.replica, ...req.record },
    );
    await client.schedule.getHandle(req.scheduleId).update((prev) => {
      if (prev.action.type !== 'startWorkflow') return prev;
      return {
        ...prev,
        action: { ...prev.action, args: retargetArgs(prev.action.args ?? [], req.from, req.to).args },
        state: { ...prev.state, note, ...(pausedByUs ? { paused: false } : {}) },
      };
    });
  }
  // Trigger (SKIP: a run already going is left alone) so the pipeline catches up on the new table now.
  const triggered = pausedByUs || !d.state.paused;
  if (triggered) await client.schedule.getHandle(req.scheduleId).trigger(ScheduleOverlapPolicy.SKIP);
  return {
    scheduleId: req.scheduleId,
    outcome: done ? 'already-switched' : 'switched',
    fields,
    triggered,
    ...(note ? { note } : {}),
  };
}
