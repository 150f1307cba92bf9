/** The latest snapshot of a table as this process last saw it, kept per open store. */
import { isTributaryError } from '../errors';
import type { DeltaEngine } from '../delta/engine';
import { Snapshot } from '../delta/snapshot';
import { duckdbParquetActions } from '../engine/checkpoint-io';
import type { ObjectStore } from '../storage/object-store';

export const defaultEngine: DeltaEngine = { parquet: duckdbParquetActions };

/** The newest snapshot seen per open store: writers update it incrementally instead of reloading. */
const latest = new WeakMap<ObjectStore, Snapshot>();

/** The latest snapshot of a table (incrementally updated from the last one this process saw). */
export async function latestSnapshot(store: ObjectStore, engine: DeltaEngine): Promise<Snapshot> {
  const prev = latest.get(store);
  const snap = prev ? await prev.update(store, engine) : await Snapshot.load(store, engine);
  if (!prev || snap.version > prev.version) latest.set(store, snap);
  return snap;
}

export async function loadSnapshotOrUndefined(
  store: ObjectStore,
  engine: DeltaEngine,
): Promise<Snapshot | undefined> {
  try {
    return await latestSnapshot(store, engine);
  } catch (e) {
    if (isTributaryError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}
