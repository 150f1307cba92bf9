/** Plain, serialisable inputs and outputs of the ingestion activities and workflow. */

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
