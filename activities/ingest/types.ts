/** Plain, serialisable inputs and outputs of the ingestion activities and workflow. */
import type { AddFile } from '../../lake/delta/actions';

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
}

export interface SourceFile {
  key: string;
  size: number;
  etag: string;
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
}

export const appIdFor = (region: string): string => `tributary-ingest-${region}`;
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
