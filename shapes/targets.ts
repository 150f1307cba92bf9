/**
 * The plain shapes pipelines carry: what a workflow hands its activities for one region's ingestion or
 * egress (URLs are opaque strings here), and the names derived from them that every layer must agree on
 * (Delta `txn` app ids, lineage columns). Pure and dependency-free: config, cli, workflows and activities
 * all import it, so none of them needs another's module for these.
 */
import type { Route } from './routing';

/** One region's ingestion, as the workflow hands it to activities (URLs are opaque strings here). */
export interface IngestTarget {
  region: string;
  /** Raw log files (the daemon's bucket/prefix). */
  raw: string;
  /** The regional Delta table. */
  table: string;
  /** Quarantine Delta table for unreadable lines. */
  quarantine: string;
  maxFilesPerBatch: number;
  maxBytesPerBatch: number;
  maxLineBytes: number;
  eventTimeColumn: string;
  /** Deepest nesting of objects and arrays a line may have; deeper lines are quarantined. Default 64. */
  maxNestingDepth?: number;
  /** New columns one batch may add; values of further new keys are rescued. Default 500. */
  maxNewColumnsPerBatch?: number;
  /** Columns (struct fields at every depth) the table may have; further new keys are rescued. Default 2000. */
  maxColumns?: number;
}

/** Plain, serialisable description of one region's egress (regional table → central table). */
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
  /**
   * Config's routes (routing version 0): approved rows go to the first route whose predicate is TRUE, the
   * rest to `central`. A live routing published on central (see shapes/routing.ts) takes precedence.
   */
  routes?: Route[];
}

/** The `txn` app id of a region's ingestion in its regional table. */
export const appIdFor = (region: string): string => `tributary-ingest-${region}`;

/** The `txn` app id of a region's egress in the central table (and any table it routes to). */
export const egressAppIdFor = (region: string): string => `tributary-egress-${region}`;

/** Where egress records poisoned source files: the configured URI, else `<central>_egress_quarantine`. */
export const egressQuarantineUrlOf = (t: Pick<EgressTarget, 'central' | 'quarantine'>): string =>
  t.quarantine ?? `${t.central.replace(/\/+$/, '')}_egress_quarantine`;

/** Columns egress always keeps: how a central row is traced back to its region, file and line. */
export const LINEAGE_COLUMNS = ['_region', '_source_file', '_source_line'] as const;

/** One replicated table (a `replicate:` entry), as the replication workflow hands it to its activities. */
export interface ReplicaTarget {
  /** The entry's name (its schedule is `replicate-<name>`); ad-hoc runs name themselves. */
  name: string;
  /** The source Delta table. */
  source: string;
  /** The replica: an incremental deep clone of the source. */
  target: string;
}

/** A pipeline that reads a table incrementally, commit by commit: maintenance must not clean up under it. */
export type TableReader =
  /** A region's egress: its position is the `tributary-egress-<region>` txn on `central`. */
  | { kind: 'egress'; region: string; central: string }
  /** A replica's incremental clone: its position is the clone txn on `target`. */
  | { kind: 'replica'; name: string; target: string };

/** One table's maintenance (a `maintenance:` Schedule per table), as the workflow hands it to activities. */
export interface MaintainTarget {
  /** `<region>-regional`, `<region>-quarantine`, `central`, `central-quarantine`, `route-<n>`, `replica-<name>`. */
  name: string;
  table: string;
  optimize: boolean;
  /** Bytes per compacted file (default: the table's delta.targetFileSize, else 100 MiB). */
  targetFileSize?: number;
  checkpoint: boolean;
  logCleanup: boolean;
  vacuum: boolean;
  /** Who reads this table incrementally: their positions hold log cleanup and VACUUM back. */
  readers: TableReader[];
}

/** A cloud, as config names a region's (`local`: a plain file system). */
export type Cloud = 'aws' | 'azure' | 'gcp' | 'local';

/**
 * Bytes one run moved between two clouds: read from `from`, written to `to` (the same cloud when the two
 * stores are in one). Cross-cloud egress is what a multi-cloud deployment pays for.
 */
export interface CloudTransfer {
  from: Cloud;
  to: Cloud;
  bytesRead: number;
  bytesWritten: number;
}

/** Transfers summed per (from, to) pair, in first-seen order. */
export function addTransfers(
  into: CloudTransfer[],
  more: readonly CloudTransfer[] | undefined,
): CloudTransfer[] {
  for (const t of more ?? []) {
    const same = into.find((x) => x.from === t.from && x.to === t.to);
    if (same) {
      same.bytesRead += t.bytesRead;
      same.bytesWritten += t.bytesWritten;
    } else into.push({ ...t });
  }
  return into;
}

/** The commit's operationMetrics for a transfer (Delta's metrics are strings). */
export const transferMetrics = (t: CloudTransfer): Record<string, string> => ({
  sourceCloud: t.from,
  targetCloud: t.to,
  numSourceBytesRead: String(t.bytesRead),
});
