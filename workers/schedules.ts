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
  type MaintainEntry,
  egressTargetOf,
  ingestTargetOf,
  maintainEntriesOf,
  replicaQueueOf,
  replicaTargetOf,
  taskQueueOf,
} from '../config/targets';
import { type Config, type RegionConfig, type ReplicaConfig, parseDurationMs } from '../config/schema';
import { scheduleIds, workflowIds } from '../shapes/queues';
import { type FailoverRecord, MANAGED_NOTE, parseFailoverNote } from '../shapes/failover';
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
    state: { paused: r.ingest.schedule.paused, note: MANAGED_NOTE },
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
    state: { paused: sched.paused, note: MANAGED_NOTE },
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
    state: { paused: e.schedule.paused, note: MANAGED_NOTE },
  };
}

/** One maintenance schedule per table (a `maintenance:` section): maintainTable, never two at once. */
export function maintainScheduleOptions(config: Config, e: MaintainEntry): ScheduleOptions {
  const sched = config.maintenance!.schedule;
  return {
    scheduleId: scheduleIds.maintain(e.target.name),
    spec: { intervals: [{ every: parseDurationMs(sched.every) }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'maintainTable',
      taskQueue: e.taskQueue,
      workflowId: workflowIds.maintain(e.target.name),
      args: [{ target: e.target }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: parseDurationMs(sched.catchupWindow) },
    state: { paused: sched.paused, note: MANAGED_NOTE },
  };
}

export interface KeptSchedule {
  scheduleId: string;
  /** The queue it stays on (config says `home`). */
  taskQueue: string;
  failover: FailoverRecord;
  message: string;
}

export interface KeptPromotion {
  scheduleId: string;
  promotion: PromotionRecord;
  message: string;
}

export interface ApplyResult {
  created: string[];
  updated: string[];
  /** Schedules failed over (see workflows/failover.ts): updated, but left on their failed-over queue. Only when any. */
  kept?: KeptSchedule[];
  /** Schedules pointed at a promoted replica (workflows/promote.ts): updated, but left on the replica. Only when any. */
  promoted?: KeptPromotion[];
}

/** What apply says of a schedule it leaves failed over. */
export const keptMessage = (scheduleId: string, taskQueue: string, region: string): string =>
  `kept ${scheduleId} on ${taskQueue} (failed over; run 'tributary failover region --region ${region} --back' to return)`;

/** The region whose compute runs a schedule: its ingest or egress, or a `replicate:` entry with `region`. */
export function scheduleRegion(config: Config, scheduleId: string): string | undefined {
  for (const r of config.regions)
    if (scheduleId === ingestScheduleId(r.name) || scheduleId === egressScheduleId(r.name)) return r.name;
  return (
    config.replicate.find((e) => scheduleIds.replicate(e.name) === scheduleId)?.region ??
    maintainEntriesOf(config).find((e) => scheduleIds.maintain(e.target.name) === scheduleId)?.region
  );
}

/** What apply says of a schedule it leaves on a promoted replica. */
export const keptPromotionMessage = (scheduleId: string, r: PromotionRecord): string =>
  `kept ${scheduleId} on replica ${r.to} instead of ${r.from} (promoted at ${r.at}; run 'tributary failover table --replica ${r.name} --back' to return)`;

export async function applySchedules(client: Client, config: Config): Promise<ApplyResult> {
  const res: ApplyResult = { created: [], updated: [] };
  const all = [
    ...config.regions.flatMap((r) => [
      ingestScheduleOptions(r),
      ...(config.central ? [egressScheduleOptions(config, r)] : []),
    ]),
    ...config.replicate.map((e) => replicateScheduleOptions(config, e)),
    ...maintainEntriesOf(config).map((e) => maintainScheduleOptions(config, e)),
  ];
  const kept: KeptSchedule[] = [];
  const promoted: KeptPromotion[] = [];
  for (const opts of all) {
    const handle = client.schedule.getHandle(opts.scheduleId);
    try {
      await handle.describe();
      await handle.update((prev) => {
        // A failed-over schedule stays where the failover put it until `failover region --back`: moving it
        // home here would send its runs to workers that may still be down.
        const failover = parseFailoverNote(prev.state.note);
        const taskQueue =
          failover && prev.action.type === 'startWorkflow' ? prev.action.taskQueue : opts.action.taskQueue;
        if (failover && !kept.some((k) => k.scheduleId === opts.scheduleId))
          kept.push({
            scheduleId: opts.scheduleId,
            taskQueue,
            failover,
            message: keptMessage(
              opts.scheduleId,
              taskQueue,
              scheduleRegion(config, opts.scheduleId) ?? '<region>',
            ),
          });
        // A promoted replica stays the table until `failover table --back`: pointing the action back at
        // the config's URI would write the failed primary again.
        const { args, kept: keptPromotions } = applyPromotions(
          opts.action.type === 'startWorkflow' ? (opts.action.args ?? []) : [],
          prev.state.note,
        );
        for (const r of keptPromotions)
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
            opts.action.type === 'startWorkflow'
              ? { ...opts.action, taskQueue, ...(keptPromotions.length ? { args } : {}) }
              : opts.action,
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
  if (kept.length) res.kept = kept;
  if (promoted.length) res.promoted = promoted;
  return res;
}
