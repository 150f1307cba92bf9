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
import { egressTargetOf, ingestTargetOf, taskQueueOf } from '../config/targets';
import { type Config, type RegionConfig, parseDurationMs } from '../config/schema';
import { scheduleIds, workflowIds } from '../shapes/queues';
import { type PromotionRecord, applyPromotions } from '../shapes/promote';

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

export interface KeptPromotion {
  scheduleId: string;
  promotion: PromotionRecord;
  message: string;
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  /** Schedules pointed at a promoted replica (workflows/promote.ts): updated, but left on the replica. Only when any. */
  promoted?: KeptPromotion[];
}

/** What apply says of a schedule it leaves on a promoted replica. */
export const keptPromotionMessage = (scheduleId: string, r: PromotionRecord): string =>
  `kept ${scheduleId} on replica ${r.to} instead of ${r.from} (promoted at ${r.at}; run 'tributary failover table --replica ${r.name} --back' to return)`;

export async function applySchedules(client: Client, config: Config): Promise<ApplyResult> {
  const res: ApplyResult = { created: [], updated: [] };
  const promoted: KeptPromotion[] = [];
  const all = config.regions.flatMap((r) => [
    ingestScheduleOptions(r),
    ...(config.central ? [egressScheduleOptions(config, r)] : []),
  ]);
  for (const opts of all) {
    const handle = client.schedule.getHandle(opts.scheduleId);
    try {
      await handle.describe();
      await handle.update((prev) => {
        // A promoted replica stays the table until `failover table --back`: pointing the action back at
        // the config's URI would write the failed primary again.
        const { args, kept } = applyPromotions(
          opts.action.type === 'startWorkflow' ? (opts.action.args ?? []) : [],
          prev.state.note,
        );
        for (const r of kept)
          if (!promoted.some((k) => k.scheduleId === opts.scheduleId && k.promotion.name === r.name))
            promoted.push({
              scheduleId: opts.scheduleId,
              promotion: r,
              message: keptPromotionMessage(opts.scheduleId, r),
            });
        return {
          ...prev,
          spec: opts.spec,
          action:
            kept.length && opts.action.type === 'startWorkflow' ? { ...opts.action, args } : opts.action,
          policies: { ...prev.policies, ...opts.policies },
          state: { ...prev.state, paused: opts.state?.paused ?? false },
        };
      });
      res.updated.push(opts.scheduleId);
    } catch (e) {
      if (!(e instanceof ScheduleNotFoundError)) throw e;
      await client.schedule.create(opts);
      res.created.push(opts.scheduleId);
    }
  }
  if (promoted.length) res.promoted = promoted;
  return res;
}
