/**
 * What the pipeline activities report to metrics: one call per finished step, with the step's result and
 * its labels. Activities know only this interface; the worker wires an implementation in (workers/metrics.ts
 * records on Temporal's metric meter, served with the SDK's own metrics). The default records nothing.
 */
import { Context } from '@temporalio/activity';
import type { EgressBatchResult } from './egress/types';
import type { IngestBatchResult, PlanResult } from './ingest/types';
import type { CloudTransfer } from '../shapes/targets';

/**
 * Labels of a table's metrics. `table` is a short name, never a URL (URLs may carry account names or
 * tokens): `regional` for a region's table, `central`, or a replica's name.
 */
export interface TableLabels {
  /** The region (ingest, egress); absent for replicas, which belong to no region. */
  region?: string;
  table: string;
}

/** Where a replica stands after a clone (see lake/table/clone-status.ts). */
export interface ReplicaLag {
  versions: number;
  /** When the oldest source commit the replica lacks was made (ms since epoch); absent: up to date. */
  oldestMissingCommitAt?: number;
}

/** Where central stands behind a region's table after an egress batch. */
export interface EgressLag {
  versions: number;
  /** When the oldest source commit central lacks was made (ms since epoch); absent: caught up. */
  oldestMissingCommitAt?: number;
}

/**
 * What one maintenance step changed. OPTIMIZE removes and adds files (dataChange false); log cleanup and
 * VACUUM delete objects; a checkpoint writes one (files added 1 when it wrote one).
 */
export interface MaintenanceStepMetrics {
  step: 'optimize' | 'checkpoint' | 'logCleanup' | 'vacuum';
  filesRemoved?: number;
  bytesRemoved?: number;
  filesAdded?: number;
  bytesAdded?: number;
  /** Objects deleted from storage (log cleanup: log files; VACUUM: data files). */
  filesDeleted?: number;
  bytesDeleted?: number;
}

export interface PipelineMetrics {
  /** An ingest plan: the files found and not yet planned into a batch. */
  ingestPlan(plan: PlanResult, labels: TableLabels): void;
  /** A committed ingest batch (also one found already committed: its counts are those of the commit). */
  ingestBatch(result: IngestBatchResult, durationMs: number, labels: TableLabels): void;
  egressBatch(result: EgressBatchResult, lag: EgressLag, durationMs: number, labels: TableLabels): void;
  clone(
    result: { bytesTransferred: number; copiedFiles: number; transfer?: CloudTransfer },
    durationMs: number,
    labels: TableLabels,
  ): void;
  replicaLag(lag: ReplicaLag, labels: TableLabels): void;
  /** A finished maintenance step (a step that found nothing to do included: it ran). */
  maintenanceStep(step: MaintenanceStepMetrics, durationMs: number, labels: TableLabels): void;
  /** An activity started on attempt > 1 (a retry). */
  activityRetry(activityType: string, taskQueue: string): void;
}

export const noMetrics: PipelineMetrics = {
  ingestPlan() {},
  ingestBatch() {},
  egressBatch() {},
  clone() {},
  replicaLag() {},
  maintenanceStep() {},
  activityRetry() {},
};

type ActivityFn = (...args: never[]) => Promise<unknown>;

/**
 * Counts every retried attempt of these activities (attempt > 1), by activity type: Temporal retries
 * silently, and a step that needs three tries each time is a problem long before it fails.
 */
export function countRetries<T extends Record<string, ActivityFn>>(
  activities: T,
  metrics: PipelineMetrics,
): T {
  if (metrics === noMetrics) return activities;
  const wrapped: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const call = fn as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => {
      const { attempt, activityType, taskQueue } = Context.current().info;
      if (attempt > 1) metrics.activityRetry(activityType, taskQueue);
      return call(...args);
    };
  }
  return wrapped as T;
}
