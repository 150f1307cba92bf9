/**
 * maintainTable: one maintenance run of one table (a `maintain-<table>` Schedule, or started from the
 * Temporal UI or `tributary maintain run`). It plans first (every step as a dry run, and where the table's
 * incremental readers stand), then runs OPTIMIZE, a checkpoint, log cleanup and VACUUM in that order, one
 * activity each, and returns the plan with what each step did. `dryRun` stops after the plan.
 *
 * Order matters: the checkpoint comes after OPTIMIZE so readers load the compacted state from it, log
 * cleanup after the checkpoint it is bounded by, and VACUUM last, on tombstones older than its retention
 * (so the files this run's OPTIMIZE removed stay for every reader of recent versions).
 */
import { type ActivityOptions, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type {
  LogCleanupStepResult,
  MaintainActivities,
  MaintenancePlan,
  OptimizeStepResult,
  VacuumStepResult,
} from '../activities/maintain';
import type { CheckpointResult } from '../lake/table/maintain';
import type { MaintainTarget } from '../shapes/targets';
import { pipelineIo } from './activity-options';

export interface MaintainTableInput {
  target: MaintainTarget;
  /** Plan only: report what each step would do. */
  dryRun?: boolean;
  /** How soon a dead worker's step is retried elsewhere. Default 2 minutes. */
  heartbeatTimeout?: string;
}

export type MaintainStep = 'planning' | 'optimize' | 'checkpoint' | 'logCleanup' | 'vacuum' | 'done';

export interface MaintenanceReport {
  name: string;
  table: string;
  dryRun: boolean;
  /** No Delta table at `table` yet: nothing was done. */
  noTable?: true;
  plan: MaintenancePlan;
  optimize?: OptimizeStepResult;
  checkpoint?: CheckpointResult;
  logCleanup?: LogCleanupStepResult;
  vacuum?: VacuumStepResult;
}

export interface MaintenanceProgress {
  name: string;
  step: MaintainStep;
  report?: Partial<MaintenanceReport>;
}

export const maintenanceProgressQuery = defineQuery<MaintenanceProgress>('maintenanceProgress');

/** Each step is long I/O (OPTIMIZE rewrites data): it heartbeats; storage faults are retried with backoff. */
const stepIo = pipelineIo('6 hours');

export async function maintainTable(input: MaintainTableInput): Promise<MaintenanceReport> {
  const t = input.target;
  const progress: MaintenanceProgress = { name: t.name, step: 'planning' };
  setHandler(maintenanceProgressQuery, () => progress);
  const a = proxyActivities<MaintainActivities>({
    ...stepIo,
    ...(input.heartbeatTimeout
      ? { heartbeatTimeout: input.heartbeatTimeout as ActivityOptions['heartbeatTimeout'] }
      : {}),
  });
  const plan = await a.planMaintenance(t);
  const report: MaintenanceReport = { name: t.name, table: t.table, dryRun: input.dryRun === true, plan };
  progress.report = report;
  if (plan.version === undefined) {
    report.noTable = true;
  } else if (!input.dryRun) {
    if (t.optimize && plan.optimize && plan.optimize.bins > 0) {
      progress.step = 'optimize';
      report.optimize = await a.optimizeMaintained(t);
    }
    if (t.checkpoint) {
      progress.step = 'checkpoint';
      report.checkpoint = await a.checkpointMaintained(t);
    }
    if (t.logCleanup) {
      progress.step = 'logCleanup';
      report.logCleanup = await a.cleanupLogsMaintained(t, plan.keepFrom);
    }
    if (t.vacuum) {
      progress.step = 'vacuum';
      report.vacuum = await a.vacuumMaintained(t, plan.keepFrom);
    }
  }
  progress.step = 'done';
  return report;
}
