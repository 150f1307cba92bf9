/**
 * Temporal Schedules from config, applied idempotently: one ingestion schedule per region. Overlap policy
 * SKIP: a region never runs two ingests at once (the workflow id is also the region's business key).
 */
import {
  type Client,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleOptions,
} from '@temporalio/client';
import {
  egressTargetOf,
  ingestTargetOf,
  replicaQueueOf,
  replicaTargetOf,
  taskQueueOf,
} from '../config/targets';
import { type Config, type RegionConfig, type ReplicaConfig, parseDurationMs } from '../config/schema';
import { scheduleIds, workflowIds } from '../shapes/queues';

export const ingestScheduleId = scheduleIds.ingest;
export const egressScheduleId = scheduleIds.egress;

export function ingestScheduleOptions(r: RegionConfig): ScheduleOptions {
  return {
    scheduleId: ingestScheduleId(r.name),
    spec: { intervals: [{ every: parseDurationMs(r.ingest.schedule.every) }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'ingestRegionWorkflow',
      taskQueue: taskQueueOf(r),
      workflowId: workflowIds.ingest(r.name, 'regional'),
      args: [{ target: ingestTargetOf(r) }],
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: parseDurationMs(r.ingest.schedule.catchupWindow),
    },
    state: { paused: r.ingest.schedule.paused, note: 'managed by tributary schedules apply' },
  };
}

export function egressScheduleOptions(config: Config, r: RegionConfig): ScheduleOptions {
  const sched = config.central!.schedule;
  return {
    scheduleId: egressScheduleId(r.name),
    spec: { intervals: [{ every: parseDurationMs(sched.every) }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'egressRegionWorkflow',
      taskQueue: taskQueueOf(r),
      workflowId: workflowIds.egress(r.name, 'central'),
      args: [{ target: egressTargetOf(config, r) }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: parseDurationMs(sched.catchupWindow) },
    state: { paused: sched.paused, note: 'managed by tributary schedules apply' },
  };
}

/** One replication schedule per `replicate:` entry: replicateTable on the entry's queue, never two at once. */
export function replicateScheduleOptions(config: Config, e: ReplicaConfig): ScheduleOptions {
  return {
    scheduleId: scheduleIds.replicate(e.name),
    spec: { intervals: [{ every: parseDurationMs(e.schedule.every) }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'replicateTable',
      taskQueue: replicaQueueOf(config, e),
      workflowId: workflowIds.replicate(e.name),
      args: [{ target: replicaTargetOf(e) }],
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: parseDurationMs(e.schedule.catchupWindow),
    },
    state: { paused: e.schedule.paused, note: 'managed by tributary schedules apply' },
  };
}

export interface ApplyResult {
  created: string[];
  updated: string[];
}

export async function applySchedules(client: Client, config: Config): Promise<ApplyResult> {
  const res: ApplyResult = { created: [], updated: [] };
  const all = [
    ...config.regions.flatMap((r) => [
      ingestScheduleOptions(r),
      ...(config.central ? [egressScheduleOptions(config, r)] : []),
    ]),
    ...config.replicate.map((e) => replicateScheduleOptions(config, e)),
  ];
  for (const opts of all) {
    const handle = client.schedule.getHandle(opts.scheduleId);
    try {
      await handle.describe();
      await handle.update((prev) => ({
        ...prev,
        spec: opts.spec,
        action: opts.action,
        policies: { ...prev.policies, ...opts.policies },
        state: { ...prev.state, paused: opts.state?.paused ?? false },
      }));
      res.updated.push(opts.scheduleId);
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      await client.schedule.create(opts);
      res.created.push(opts.scheduleId);
    }
  }
  return res;
}
