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
}

export const egressAppIdFor = (region: string): string => `tributary-egress-${region}`;
