/**
 * Compute failover of a region, as plain shapes: the `failoverRegion` workflow's input (what an operator
 * types into the Temporal UI), its plan and result, and the failover record kept in a Schedule's note,
 * which `schedules apply` and `schedules status` read back. Pure: workflows, activities, workers and the
 * CLI import it.
 */
import { scheduleIds, workflowIds } from './queues';
import { noteLine } from './schedule-notes';

/**
 * The input of `failoverRegion`. Minimal form, for the Temporal UI:
 * `{ "region": "eu-west", "toQueue": "tributary-us-east" }` moves the region's ingest and egress Schedules
 * and runs. The CLI also passes the replication schedules and runs of entries with `region: <region>`, and
 * the home queues from config.
 */
export interface FailoverRegionInput {
  region: string;
  /** The task queue to move to (its workers must be alive). With `back`, the home queue from config. */
  toQueue: string;
  /** Failing back: the Schedules' failover records are cleared (they are home again). */
  back?: boolean;
  /**
   * What to do with a run in flight on another queue: `terminate` (default; server side, always works) or
   * `cancel` (needs a worker on the old queue to process it: with that queue dead, the run stays open and
   * is reported, not restarted).
   */
  mode?: 'terminate' | 'cancel';
  /** Why, recorded in each Schedule's note. */
  reason?: string;
  /** Schedule ids to move (default `ingest-<region>`, `egress-<region>`). */
  schedules?: string[];
  /** Business-key workflow ids whose runs are moved too (default `ingest/<region>/regional`, `egress/<region>/central`). */
  workflowIds?: string[];
  /** Schedule id → its home queue from config (recorded; without it the queue the Schedule was on). */
  homeQueues?: Record<string, string>;
  /** How long a cancel waits for the run to close, in seconds (mode `cancel`). Default 30. */
  cancelWaitSeconds?: number;
}

/** A failover as recorded in a Schedule (in its note): where it was, where it is, why. */
export interface FailoverRecord {
  from: string;
  to: string;
  /** The queue from config, where `--back` returns. */
  home: string;
  at: string;
  /** The failover workflow id that did it. */
  by: string;
  reason?: string;
}

export interface PlannedSchedule {
  scheduleId: string;
  exists: boolean;
  taskQueue?: string;
  home: string;
  /** Where this failover puts it: `toQueue`, or failing back its home. */
  target: string;
  paused?: boolean;
  failedOver?: FailoverRecord;
}

export interface PlannedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  /** The Schedule that started it (restarted by triggering that Schedule), if one did. */
  scheduleId?: string;
  /** Where it should run: its Schedule's target, else `toQueue`. */
  target: string;
  /** Whether the failover moves it: it runs on another queue than its target. */
  move: boolean;
}

export interface FailoverPlan {
  region: string;
  toQueue: string;
  back: boolean;
  mode: 'terminate' | 'cancel';
  schedules: PlannedSchedule[];
  runs: PlannedRun[];
}

export interface ScheduleMove {
  scheduleId: string;
  outcome: 'moved' | 'already-there' | 'returned' | 'missing';
  from?: string;
  to?: string;
  note?: string;
}

export interface RunMove {
  workflowId: string;
  runId: string;
  from: string;
  /** `left-running`: it already runs on the target queue, so it was not touched. */
  stopped: 'terminated' | 'cancelled' | 'already-closed' | 'cancel-pending' | 'left-running';
  restarted?: {
    how: 'schedule-trigger' | 'start' | 'already-running' | 'none';
    workflowId?: string;
    runId?: string;
  };
  detail: string;
}

export interface FailoverState {
  phase: 'planning' | 'moving-schedules' | 'moving-runs' | 'done';
  plan?: FailoverPlan;
  schedules: ScheduleMove[];
  runs: RunMove[];
}

export const defaultFailoverSchedules = (region: string): string[] => [
  scheduleIds.ingest(region),
  scheduleIds.egress(region),
];

export const defaultFailoverWorkflowIds = (region: string): string[] => [
  workflowIds.ingest(region, 'regional'),
  workflowIds.egress(region, 'central'),
];

export { MANAGED_NOTE } from './schedule-notes';

/** How a failover record line starts in a Schedule's note (beside other records, see schedule-notes). */
export const FAILOVER_NOTE_KEY = 'failed over ';

/** `failed over from <q> to <q> (home <q>) at <iso> by <workflow id>[: <reason>]` — read by parseFailoverNote. */
export function failoverNote(r: FailoverRecord): string {
  return `failed over from ${r.from} to ${r.to} (home ${r.home}) at ${r.at} by ${r.by}${r.reason ? `: ${r.reason}` : ''}`;
}

const NOTE = /^failed over from (\S+) to (\S+) \(home (\S+)\) at (\S+) by (\S+?)(?:: ([\s\S]*))?$/;

/** The failover recorded in a Schedule's note, or undefined when the Schedule is not failed over. */
export function parseFailoverNote(note: string | undefined): FailoverRecord | undefined {
  const line = noteLine(note, FAILOVER_NOTE_KEY);
  const m = line ? NOTE.exec(line) : null;
  if (!m) return undefined;
  return { from: m[1]!, to: m[2]!, home: m[3]!, at: m[4]!, by: m[5]!, ...(m[6] ? { reason: m[6] } : {}) };
}
