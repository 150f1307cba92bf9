/**
 * The only door out of lake/delta: storage comes in as an ObjectStore rooted at the table, Parquet
 * (checkpoints, sidecars) through this handler, implemented by lake/engine on DuckDB.
 */
import type { ObjectStore } from '../storage/object-store';
import type { Action } from './actions';

export interface ParquetActionHandler {
  /** Rows of a checkpoint/sidecar Parquet file as plain objects keyed by action name (null columns allowed). */
  readActions(store: ObjectStore, key: string): Promise<Record<string, unknown>[]>;
  /** Writes actions as a classic Parquet checkpoint readable by Spark and delta-rs; returns its size. */
  writeCheckpoint(
    store: ObjectStore,
    key: string,
    actions: readonly Action[],
  ): Promise<{ sizeInBytes: number }>;
}

export interface DeltaLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn?(msg: string, fields?: Record<string, unknown>): void;
}

export interface DeltaEngine {
  parquet: ParquetActionHandler;
  logger?: DeltaLogger;
}
