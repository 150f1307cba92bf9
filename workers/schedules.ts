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
import { ingestTargetOf, taskQueueOf } from '../config/targets';
import { type Config, type RegionConfig, parseDurationMs } from '../config/schema';
import { workflowIds } from './queues';

export const ingestScheduleId = (region: string) => `ingest-${region}`;

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

export interface ApplyResult {
  created: string[];
  updated: string[];
}

export async function applySchedules(client: Client, config: Config): Promise<ApplyResult> {
  const res: ApplyResult = { created: [], updated: [] };
  for (const r of config.regions) {
    const opts = ingestScheduleOptions(r);
    const handle = client.schedule.getHandle(opts.scheduleId);
    try {
      await handle.describe();
      await handle.update((prev) => ({
        ...prev,
        spec: opts.spec,
        action: opts.action,
        policies: { ...prev.policies, ...opts.policies },
        state: { ...prev.state, paused: r.ingest.schedule.paused },
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
