/**
 * Resuming a batch from its heartbeat (BatchResumePoint): when every data file an earlier attempt wrote is
 * still in the table, commit them with the batch's txn and reconciliation — no raw file is read again. When
 * any is gone (e.g. vacuumed), the caller ingests the batch from scratch; either way it lands exactly once.
 */
import { parseSchema } from '../../lake/delta/schema';
import { dataFileKey } from '../../lake/delta/paths';
import { isTributaryError } from '../../lake/errors';
import type { ObjectStore } from '../../lake/storage/object-store';
import { commitWrittenFiles } from '../../lake/table/operations';
import { type BatchResumePoint, PARTITION_COLUMNS } from './types';

export async function filesStillThere(table: ObjectStore, p: BatchResumePoint): Promise<boolean> {
  for (const add of p.adds) {
    try {
      await table.head(dataFileKey(add.path, table.url));
    } catch (e) {
      if (isTributaryError(e, 'NOT_FOUND')) return false;
      throw e;
    }
  }
  return true;
}

/** Commits the files of a resume point; the caller has checked they exist and the batch is not committed. */
export function commitResumed(
  table: ObjectStore,
  appId: string,
  p: BatchResumePoint,
  operationMetrics?: Record<string, string>,
) {
  return commitWrittenFiles(table, {
    adds: p.adds,
    schema: parseSchema(p.schemaString),
    mergeSchema: true,
    partitionBy: PARTITION_COLUMNS,
    txn: { appId, version: p.seq },
    operation: 'STREAMING UPDATE',
    operationParameters: { appId, batch: p.seq, files: JSON.stringify(p.files), ...p.totals, resumed: true },
    ...(operationMetrics ? { operationMetrics } : {}),
  });
}
