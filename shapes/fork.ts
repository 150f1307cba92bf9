/**
 * The live table fork (issue 15): move a subset of a table's rows, from now on, to a table of their own
 * (usually on another cloud) while the pipelines keep running. Pure shapes: the workflow input an operator
 * pastes into the Temporal UI, the plan the approval names, the state a query shows and the result.
 */

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

/** The keys check (see verifyFork): every count but the totals must be 0. */
export interface ForkVerification {
  verified: boolean;
  /** Versions read. */
  mainVersion: number;
  forkVersion: number;
  /** Main's version at the first clone: the keys main held before the fork. */
  baseVersion: number;
  /** Keys main held at baseVersion plus keys appended since (main's and the fork's own appends). */
  expectedKeys: number;
  mainRows: number;
  forkRows: number;
  /** Expected keys in neither table. */
  missingKeys: number;
  /** Keys in a table that were neither in main before nor appended since. */
  unexpectedKeys: number;
  inBoth: number;
  /** Rows whose key another row of the same table has. */
  duplicateKeys: number;
  /** Rows of main where the subset is TRUE. */
  mainMatchingSubset: number;
  /** Rows of the fork where the subset is not TRUE (FALSE or NULL). */
  forkNotMatchingSubset: number;
}

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
