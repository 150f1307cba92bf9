/** Plain, serialisable inputs and outputs of egress (regional table → central table). */
export interface EgressTarget {
  region: string;
  /** The regional Delta table (read incrementally, like a Delta streaming source). */
  source: string;
  /** The central Delta table all regions append to. */
  central: string;
  /** Rows pass when this predicate is TRUE (NULL is not approved). */
  filter: string;
  /**
   * Source commits that remove data (DELETE, overwrite): 'skip' them entirely (Delta's skipChangeCommits)
   * or 'fail' clearly. Never silently half-handled.
   */
  onChangeCommits: 'skip' | 'fail';
  /** Source versions per central commit. */
  maxVersionsPerBatch: number;
  /**
   * Source columns to keep (default: all). Lineage columns (`_region`, `_source_file`, `_source_line`) and
   * the source's partition columns are always kept.
   */
  columns?: string[];
  /** Renames applied after the filter and projection: source name → central name. */
  rename?: Record<string, string>;
  /**
   * The egress quarantine table: source data files isolated as poison are recorded here (see
   * egressQuarantineUrlOf for the default, `<central>_egress_quarantine`).
   */
  quarantine?: string;
  /** Tries of a batch failing deterministically (the same error on the same data) before isolation. Default 3. */
  maxDeterministicFailures?: number;
}

/** A source data file egress cannot carry (it fails the batch on every try), and why. */
export interface PoisonedFile {
  /** Source version whose commit added the file. */
  sourceVersion: number;
  /** The add action's path (relative to the source table, as in its log). */
  path: string;
  /** Why it is poison (bounded, see MAX_POISON_REASON). */
  reason: string;
  /** Rows the file holds per its add action's stats, when they say. */
  rows?: number;
}

/** Longest reason a quarantine record keeps. */
export const MAX_POISON_REASON = 1000;

/** Options of an egress batch beyond its target (all optional: a plain call egresses the next batch). */
export interface EgressBatchOptions {
  /** Files isolated as poison: recorded in the egress quarantine (once) and not read. */
  isolated?: PoisonedFile[];
  /** The last source version of the batch (fixed once a batch is isolated, so its files stay the same). */
  upTo?: number;
}

export interface IsolateEgressRequest {
  target: EgressTarget;
  /** The failure the batch keeps failing with. */
  failure: string;
  /** Files isolated in earlier rounds (kept isolated). */
  known?: PoisonedFile[];
  /** Fix the batch to source versions up to this one (the earlier round's). */
  upTo?: number;
  /** Isolate every file of the batch (the last resort after the isolation rounds). */
  wholeBatch?: boolean;
}

export interface IsolateEgressResult {
  isolated: PoisonedFile[];
  /** The batch's last source version (pass it as upTo with the isolated files). */
  upTo: number;
  probes: number;
  note?: string;
}

export interface EgressBatchResult {
  /** Last source version now reflected in central (-1: none yet). */
  sourceVersion: number;
  /** Latest source version seen. */
  latestSourceVersion: number;
  centralVersion: number | null;
  filesRead: number;
  rowsEgressed: number;
  skippedChangeCommits: number[];
  caughtUp: boolean;
  /**
   * Tries of the central commit under optimistic concurrency (1 = no race lost; counted within the last
   * plan, see writeTable). 0 when nothing was committed by this call (caught up, or the txn had already landed).
   */
  commitAttempts: number;
  /** Source files recorded in the egress quarantine by this call (isolated poison), with their reasons. */
  quarantined?: PoisonedFile[];
}

export const egressAppIdFor = (region: string): string => `tributary-egress-${region}`;

/** Where egress records poisoned source files: the configured URI, else `<central>_egress_quarantine`. */
export const egressQuarantineUrlOf = (t: Pick<EgressTarget, 'central' | 'quarantine'>): string =>
  t.quarantine ?? `${t.central.replace(/\/+$/, '')}_egress_quarantine`;

/** A source file's identity within an egress batch. */
export const poisonId = (f: { sourceVersion: number; path: string }): string =>
  `${f.sourceVersion}:${f.path}`;
