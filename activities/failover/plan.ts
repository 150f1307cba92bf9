/**
 * The plan of a region's compute failover: its Schedules (queue, failover record) and the runs in flight
 * of its workflows (queue, the Schedule that started them). Read-only; the CLI prints it before starting
 * the workflow and the workflow's first activity makes it again.
 */
import {
  type Client,
  ScheduleNotFoundError,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { TributaryError } from '../../lake/errors';
import {
  type FailoverPlan,
  type FailoverRegionInput,
  type PlannedRun,
  type PlannedSchedule,
  defaultFailoverSchedules,
  defaultFailoverWorkflowIds,
  parseFailoverNote,
} from '../../shapes/failover';

const QUEUE = /^[^\s]{1,1000}$/;

/** Checks the input an operator may have typed into the Temporal UI; BAD_INPUT says what is wrong. */
export function checkFailoverInput(input: FailoverRegionInput): void {
  const bad = (m: string) => new TributaryError('BAD_INPUT', `failoverRegion: ${m}`);
  if (!input || typeof input !== 'object')
    throw bad('the input is { "region": "<region>", "toQueue": "<task queue>" }');
  if (typeof input.region !== 'string' || !/^[^\s/]+$/.test(input.region))
    throw bad(`region must be a region name, got ${JSON.stringify(input.region)}`);
  if (typeof input.toQueue !== 'string' || !QUEUE.test(input.toQueue))
    throw bad(`toQueue must be a task queue name, got ${JSON.stringify(input.toQueue)}`);
  if (input.mode !== undefined && input.mode !== 'terminate' && input.mode !== 'cancel')
    throw bad(`mode is "terminate" or "cancel", got ${JSON.stringify(input.mode)}`);
  for (const k of ['schedules', 'workflowIds'] as const) {
    const v = input[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x)))
      throw bad(`${k} must be a list of ids`);
  }
}

/** A workflow's current run, or undefined when there is none with that id. */
async function describeRun(
  client: Client,
  workflowId: string,
): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

export async function planRegionFailover(client: Client, input: FailoverRegionInput): Promise<FailoverPlan> {
  checkFailoverInput(input);
  const schedules: PlannedSchedule[] = [];
  const runs = new Map<string, PlannedRun>();
  const addRun = (d: WorkflowExecutionDescription, schedule?: PlannedSchedule) => {
    if (d.status.name !== 'RUNNING' || runs.has(d.workflowId)) return;
    const target = schedule?.target ?? input.toQueue;
    runs.set(d.workflowId, {
      workflowId: d.workflowId,
      runId: d.runId,
      workflowType: d.type,
      taskQueue: d.taskQueue,
      ...(schedule ? { scheduleId: schedule.scheduleId } : {}),
      target,
      move: d.taskQueue !== target,
    });
  };
  for (const scheduleId of input.schedules ?? defaultFailoverSchedules(input.region)) {
    let d;
    try {
      d = await client.schedule.getHandle(scheduleId).describe();
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      // Not applied yet (or a replication schedule another deployment step creates): nothing to move.
      const home = input.homeQueues?.[scheduleId] ?? input.toQueue;
      schedules.push({ scheduleId, exists: false, home, target: input.back ? home : input.toQueue });
      continue;
    }
    const taskQueue = d.action.type === 'startWorkflow' ? d.action.taskQueue : undefined;
    const failedOver = parseFailoverNote(d.state.note);
    const home = input.homeQueues?.[scheduleId] ?? failedOver?.home ?? taskQueue ?? input.toQueue;
    const planned: PlannedSchedule = {
      scheduleId,
      exists: true,
      ...(taskQueue ? { taskQueue } : {}),
      home,
      target: input.back ? home : input.toQueue,
      paused: d.state.paused,
      ...(failedOver ? { failedOver } : {}),
    };
    schedules.push(planned);
    // Scheduled runs have ids `<action workflow id>-<time>`: the Schedule knows them. It tracks as running
    // only the runs its overlap policy needs (a trigger with ALLOW_ALL is not among them), so its recent
    // actions are checked too.
    const seen = [...d.info.runningActions, ...d.info.recentActions.map((a) => a.action)];
    for (const id of new Set(seen.map((a) => a.workflow.workflowId))) {
      const run = await describeRun(client, id);
      if (run) addRun(run, planned);
    }
  }
  for (const id of input.workflowIds ?? defaultFailoverWorkflowIds(input.region)) {
    const run = await describeRun(client, id);
    if (run) addRun(run);
  }
  return {
    region: input.region,
    toQueue: input.toQueue,
    back: input.back ?? false,
    mode: input.mode ?? 'terminate',
    schedules,
    runs: [...runs.values()],
  };
}
