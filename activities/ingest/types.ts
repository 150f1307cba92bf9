/** Plain, serialisable inputs and outputs of the ingestion activities and workflow. */
import type { CloudTransfer, IngestTarget } from '../../shapes/targets';
import type { AddFile } from '../../lake/delta/actions';

export interface SourceFile {
  key: string;
  size: number;
  etag: string;
  /** The store's modification time when planned (ms since epoch); manifests written before it lack it. */
  lastModified?: number;
}

export interface PlanRequest {
  target: IngestTarget;
  /** At most this many batches planned ahead. */
  maxBatches: number;
}

export interface PlanResult {
  /** Highest batch sequence committed to the table (-1: none). */
  committedSeq: number;
  /** Batches planned and not yet committed, in order. */
  pending: number[];
  /** Files found not yet planned, beyond what fit in the planned batches. */
  backlogFiles: number;
  backlogBytes: number;
}

export interface IngestBatchRequest {
  target: IngestTarget;
  seq: number;
  /** Poison found by isolateIngestBatch: these go to quarantine with their reason, the rest commits. */
  isolated?: IsolatedItem[];
}

/** Lines of one file of a batch (by index in the manifest): all of them, or lines [from, to] (1-based). */
export interface LineSelection {
  file: number;
  lines?: [number, number];
}

/** Poison: lines (or a whole file) that failed the batch on every try, and why. */
export interface IsolatedItem extends LineSelection {
  /** The file's key (for people reading it). */
  key: string;
  /** The failure they caused (bounded). */
  reason: string;
}

export interface IsolateBatchRequest {
  target: IngestTarget;
  seq: number;
  /** The failure that made the workflow isolate (bounded; said in the quarantine reason). */
  failure: string;
  /** Poison found by an earlier isolation of this batch, kept out of the trial runs. */
  known?: IsolatedItem[];
  /** Isolation rounds did not help: isolate every file of the batch whole (no trial runs). */
  wholeBatch?: boolean;
}

export interface IsolateBatchResult {
  /** Everything found so far (known included), for ingestBatch's `isolated`. */
  isolated: IsolatedItem[];
  /** Trial runs made. */
  probes: number;
  /** Set when the trial runs could not narrow the failure down (then whole files were isolated). */
  note?: string;
}

/** A batch that failed on every try and was isolated, as the workflow reports it. */
export interface PoisonReport {
  seq: number;
  file: string;
  lines?: [number, number];
  reason: string;
}

export interface FileReconciliation {
  key: string;
  size: number;
  etag: string;
  /** Non-blank lines; lines = rows + quarantined. */
  lines: number;
  rows: number;
  quarantined: number;
  rescued: number;
  blank: number;
}

/** What a batch (or a run of batches) moved; lines = rows + quarantined. */
export interface IngestCounts {
  files: number;
  bytes: number;
  lines: number;
  rows: number;
  quarantined: number;
  rescued: number;
}

export interface IngestBatchResult extends IngestCounts {
  seq: number;
  /** Table version holding the batch (its commit, or the one found already holding it). */
  version: number;
  alreadyCommitted: boolean;
  addedColumns: string[];
  /**
   * The newest modification time among the batch's source files (ms since epoch), when its manifest
   * records them: once the batch is committed, data up to that file is queryable (ingest freshness).
   */
  newestSourceModified?: number;
  /** Bytes the batch read (raw files) and wrote (data files), by cloud pair. */
  transfer?: CloudTransfer;
}

/** Regional tables are partitioned by event date. */
export const PARTITION_COLUMNS: readonly string[] = ['_event_date'];
/** Data file names of batch `seq` start with this (traceability; attempts differ by a UUID). */
export const filePrefixFor = (seq: number): string => `part-b${seq}`;

/**
 * Where a batch stood when its data files were written and its quarantine committed: everything its main
 * commit needs. The activity heartbeats it; a retry (on any worker) commits these files instead of reading
 * and converting the raw files again.
 */
export interface BatchResumePoint {
  seq: number;
  /** The add actions of the written (uncommitted) data files in the table. */
  adds: AddFile[];
  /** The schema they were written with (JSON, as in Delta metaData). */
  schemaString: string;
  files: FileReconciliation[];
  totals: { lines: number; rows: number; quarantined: number; rescued: number };
  addedColumns: string[];
}
