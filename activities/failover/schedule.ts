/**
 * Moves one Schedule's action to another task queue and records why in its note (or, failing back,
 * returns it home and clears the record). Idempotent: a Schedule already where it should be is left alone.
 */
import { type Client, ScheduleNotFoundError } from '@temporalio/client';
import { FAILOVER_NOTE_KEY, type ScheduleMove, failoverNote, parseFailoverNote } from '../../shapes/failover';
import { withNoteLine } from '../../shapes/schedule-notes';

export interface MoveScheduleRequest {
  scheduleId: string;
  toQueue: string;
  /** The home queue from config (the plan's). */
  home: string;
  back: boolean;
  reason?: string;
  /** The failover workflow id, recorded as who did it. */
  by: string;
}

export async function moveSchedule(
  client: Client,
  req: MoveScheduleRequest,
  now: Date,
): Promise<ScheduleMove> {
  const handle = client.schedule.getHandle(req.scheduleId);
  let d;
  try {
    d = await handle.describe();
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return { scheduleId: req.scheduleId, outcome: 'missing' };
    throw e;
  }
  if (d.action.type !== 'startWorkflow') return { scheduleId: req.scheduleId, outcome: 'missing' };
  const from = d.action.taskQueue;
  const record = parseFailoverNote(d.state.note);
  // Moving to the home queue is failing back, whichever way it was asked for.
  const home = req.back || req.toQueue === req.home;
  if (from === req.toQueue && (home ? !record : record?.to === req.toQueue))
    return {
      scheduleId: req.scheduleId,
      outcome: 'already-there',
      from,
      to: req.toQueue,
      note: d.state.note,
    };
  // Only the failover's own line changes: other records (a replica promotion) stay.
  const note = withNoteLine(
    d.state.note,
    FAILOVER_NOTE_KEY,
    home
      ? undefined
      : failoverNote({
          from,
          to: req.toQueue,
          home: record?.home ?? req.home,
          at: now.toISOString(),
          by: req.by,
          ...(req.reason ? { reason: req.reason } : {}),
        }),
  );
  await handle.update((prev) => {
    if (prev.action.type !== 'startWorkflow') return prev;
    return { ...prev, action: { ...prev.action, taskQueue: req.toQueue }, state: { ...prev.state, note } };
  });
  return { scheduleId: req.scheduleId, outcome: home ? 'returned' : 'moved', from, to: req.toQueue, note };
}
