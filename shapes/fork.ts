/**
 * The live table fork (issue 15): move a subset of a table's rows, from now on, to a table of their own
 * (usually on another cloud) while the pipelines keep running. Pure shapes: the workflow input an operator
 * pastes into the Temporal UI, the plan the approval names, the state a query shows and the result.
 */
import type { ForkKeyCheck } from '../lake/table/fork-check';

/**
 * The input of `forkTable`, one JSON object (paste it into the Temporal UI's start dialog, or write it as
 * YAML for `tributary fork start --config fork.yaml`):
 *
 * ```json
 * { "name": "eu-residency",
 *   "main": "s3://lake/central",
 *   "fork": "az://eu/central_eu",
 *   "subset": "_region IN ('eu-west', 'eu-central')",
 *   "regions": ["eu-west", "eu-central", "us-east"],
 *   "approval": "manual" }
 * ```
 */
export interface ForkInput {
  /** The fork's name: its workflow id is `fork/<name>`. No '/' or whitespace. */
  name: string;
  /** The table the rows leave (the egress default table; its routing lives beside it). */
  main: string;
  /** Where the subset goes: a new table (or an earlier, interrupted fork's target). */
  fork: string;
  /** The rows that move, in the predicate language; NULL is not a match (those rows stay in main). */
  subset: string;
  /**
   * The egress pipelines (region names) that write main: the barrier waits for each. Default: every
   * region whose egress txn main records. The CLI fills it from config.
   */
  regions?: string[];
  /** `manual`: wait for the `approveFork` Update (or signal) naming the plan; `auto`: delete at once. */
  approval: 'manual' | 'auto';
  /** Longest wait for every region to acknowledge the new routing (default 900 s). */
  barrierTimeoutSeconds?: number;
  /** Seconds between two reads of the regions' acknowledgements (default 5). */
  barrierPollSeconds?: number;
  /** While waiting for a manual approval, the plan is made again this often (default 300 s). */
  replanSeconds?: number;
  /** Copies in flight in each clone (default 8). */
  concurrency?: number;
  /** How soon a dead worker's activity is retried elsewhere (default 30 s). */
  heartbeatTimeoutSeconds?: number;
  /**
   * The routes from config, used when no routing was ever published (version 0). The CLI fills it; the
   * fork's route goes before them.
   */
  baseRoutes?: { table: string; predicate: string }[];
}

/** Counts of one side of the delete plan. */
export interface ForkSidePlan {
  table: string;
  /** The table version the plan read. */
  version: number;
  /** The delete predicate in words: `subset` on main, `(subset) IS NOT TRUE` on the fork. */
  deletes: string;
  filesTotal: number;
  /** Files holding rows to delete: removed whole, or rewritten without those rows. */
  filesToRemove: number;
  filesToRewrite: number;
  rowsTotal: number;
  rowsToDelete: number;
  rowsKept: number;
}

/** The dry-run of step 4: what the deletes would do, at the versions read. Approved by its id. */
export interface ForkPlan {
  /** `p<n>-<hash>`: the plan number and a hash of what it read and counted. */
  id: string;
  madeAt: string;
  routingVersion: number;
  main: ForkSidePlan;
  fork: ForkSidePlan;
}

export type ForkStep =
  | 'cloning'
  | 'routing'
  | 'barrier'
  | 'backfilling'
  | 'planning'
  | 'awaitingApproval'
  | 'deleting'
  | 'verifying'
  | 'done';

export interface ForkCloneSummary {
  sourceVersion: number;
  targetVersion: number;
  kind: 'committed' | 'upToDate';
  mode: string;
  bytesTransferred: number;
}

export interface ForkDeleteSummary {
  table: string;
  version: number | undefined;
  deletedRows: number;
  removedFiles: number;
  addedFiles: number;
}

/** The keys check (see verifyFork and lake/table/fork-check.ts): every count but the totals must be 0. */
export type ForkVerification = ForkKeyCheck;

export interface ForkState {
  name: string;
  step: ForkStep;
  /** What the step is doing now, in words (which regions the barrier waits for, …). */
  detail?: string;
  firstClone?: ForkCloneSummary;
  /** The routing version step 2 published (or found already published by an earlier run). */
  routingVersion?: number;
  /** Region → routing version it last acknowledged (undefined: none yet). */
  acks?: Record<string, number | null>;
  backfill?: ForkCloneSummary;
  plan?: ForkPlan;
  /** Plans made so far (a manual approval waits on the newest). */
  plans: number;
  approvedPlan?: string;
  approvedBy?: string;
  deletes?: ForkDeleteSummary[];
  verification?: ForkVerification;
}

export type ForkResult = ForkState & { step: 'done'; verification: ForkVerification };

/** What the `approveFork` Update (and signal) carries: the plan the operator read. */
export interface ForkApproval {
  planId: string;
  /** Who approves (recorded in the state). */
  by?: string;
}

/** The fork's route: first, so that the subset wins over any other route. */
export const forkRoute = (input: Pick<ForkInput, 'fork' | 'subset'>) => ({
  table: input.fork,
  predicate: input.subset,
});

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const KNOWN = new Set([
  'name',
  'main',
  'fork',
  'subset',
  'regions',
  'approval',
  'barrierTimeoutSeconds',
  'barrierPollSeconds',
  'replanSeconds',
  'concurrency',
  'heartbeatTimeoutSeconds',
  'baseRoutes',
]);

/**
 * Every problem of a workflow input pasted into the Temporal UI, as `field: message` (empty: valid). The
 * CLI validates fork.yaml with zod (config/fork.ts) to the same rules; the workflow checks again, because
 * a UI start bypasses the CLI.
 */
export function forkInputIssues(input: unknown): string[] {
  if (!isObj(input)) return ['input: must be one JSON object (see ForkInput)'];
  const out: string[] = [];
  for (const k of Object.keys(input)) if (!KNOWN.has(k)) out.push(`${k}: unknown field`);
  if (typeof input.name !== 'string' || !NAME_RE.test(input.name))
    out.push('name: 1-100 characters of letters, digits, _ . - (it is part of the workflow id)');
  for (const k of ['main', 'fork', 'subset'] as const)
    if (typeof input[k] !== 'string' || (input[k] as string).trim() === '')
      out.push(`${k}: a non-empty string is required`);
  if (input.approval !== 'manual' && input.approval !== 'auto') out.push("approval: 'manual' or 'auto'");
  if (
    input.regions !== undefined &&
    (!Array.isArray(input.regions) ||
      !input.regions.every((r) => typeof r === 'string' && /^[^\s/]+$/.test(r)))
  )
    out.push('regions: a list of region names');
  for (const k of [
    'barrierTimeoutSeconds',
    'barrierPollSeconds',
    'replanSeconds',
    'concurrency',
    'heartbeatTimeoutSeconds',
  ] as const) {
    const v = input[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 7 * 86400))
      out.push(`${k}: a positive number`);
  }
  if (
    input.baseRoutes !== undefined &&
    (!Array.isArray(input.baseRoutes) ||
      !input.baseRoutes.every(
        (r) => isObj(r) && typeof r.table === 'string' && typeof r.predicate === 'string',
      ))
  )
    out.push('baseRoutes: a list of { table, predicate }');
  if (
    typeof input.main === 'string' &&
    typeof input.fork === 'string' &&
    input.main.replace(/\/+$/, '') === input.fork.replace(/\/+$/, '')
  )
    out.push('fork: must be another table than main');
  return out;
}
