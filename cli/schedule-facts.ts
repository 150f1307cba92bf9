/**
 * What Temporal says of one Schedule, read one way for every screen that shows Schedules
 * (`tributary status`, `tributary schedules status`): undefined when it does not exist.
 */
import { type Client, ScheduleNotFoundError } from '@temporalio/client';

export interface ScheduleFacts {
  paused: boolean;
  note: string | null;
  /** The task queue its workflow starts on (null: its action starts no workflow). */
  taskQueue: string | null;
  /** The next start (null when paused: a paused Schedule starts nothing, whatever times Temporal keeps). */
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  /** Workflow ids of its runs in flight. */
  running: string[];
}

export async function scheduleFacts(client: Client, id: string): Promise<ScheduleFacts | undefined> {
  try {
    const d = await client.schedule.getHandle(id).describe();
    return {
      paused: d.state.paused,
      note: d.state.note ?? null,
      taskQueue: d.action.type === 'startWorkflow' ? d.action.taskQueue : null,
      nextRunAt: d.state.paused ? null : (d.info.nextActionTimes[0] ?? null),
      lastRunAt: d.info.recentActions.at(-1)?.takenAt ?? null,
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
    };
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return undefined;
    throw e;
  }
}
