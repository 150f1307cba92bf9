/**
 * One egress step: the `add` actions (dataChange = true) of the source commits after the last one central
 * records for this region, filtered by the egress predicate, appended to central in one commit carrying
 * txn(egress appId, last source version). A retry or crash at any point re-reads the txn and neither
 * duplicates nor skips a source commit.
 */
import { TributaryError, isTributaryError } from '../../lake/errors';
import type { AddFile } from '../../lake/delta/actions';
import { commitKey } from '../../lake/delta/log-path';
import { readCommit, Snapshot } from '../../lake/delta/snapshot';
import { dataFileKey } from '../../lake/delta/paths';
import { withConnection } from '../../lake/engine/duckdb';
import { emptyRelation } from '../../lake/engine/types';
import { type LocalFile, materialize } from '../../lake/engine/local-files';
import { localFileSelect } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { filterSql as egressFilterSql } from './filter';
import { projection as projectionOf } from './projection';
import { type EgressBatchResult, type EgressTarget, egressAppIdFor } from './types';

export interface EgressDeps {
  open(url: string): Promise<ObjectStore>;
  /** Progress callback (the activity heartbeats from it, so a short heartbeat timeout only catches dead workers). */
  progress?(p: { stage: 'read' | 'write'; sourceVersion?: number; filesRead?: number }): void;
}

interface Pick {
  files: AddFile[];
  skipped: number[];
}

/** The data-changing adds of source versions from..to, per the change-commit policy. */
async function pickFiles(
  source: ObjectStore,
  from: number,
  to: number,
  t: EgressTarget,
  progress: EgressDeps['progress'],
): Promise<Pick> {
  const pick: Pick = { files: [], skipped: [] };
  for (let v = from; v <= to; v++) {
    progress?.({ stage: 'read', sourceVersion: v });
    let actions;
    try {
      actions = await readCommit(source, commitKey(v), source.url);
    } catch (e) {
      if (isTributaryError(e, 'NOT_FOUND'))
        throw new TributaryError(
          'INVALID_LOG',
          `egress ${t.region}: source ${source.url} no longer has commit ${v} (log cleaned up before egress read it); re-seed egress from a snapshot`,
          { cause: e, retryable: false },
        );
      throw e;
    }
    const changes = actions.some((a) => 'remove' in a && a.remove.dataChange);
    if (changes) {
      if (t.onChangeCommits === 'fail')
        throw new TributaryError(
          'BAD_INPUT',
          `egress ${t.region}: source version ${v} removes data (DELETE/UPDATE/overwrite); egress is append-only. Set onChangeCommits: skip to skip such commits.`,
          { retryable: false },
        );
      pick.skipped.push(v);
      continue;
    }
    for (const a of actions) if ('add' in a && a.add.dataChange) pick.files.push(a.add);
  }
  return pick;
}

export async function egressBatch(deps: EgressDeps, t: EgressTarget): Promise<EgressBatchResult> {
  const appId = egressAppIdFor(t.region);
  const [source, central] = await Promise.all([deps.open(t.source), deps.open(t.central)]);
  const centralSnap = await loadSnapshotOrUndefined(central, defaultEngine);
  const done = centralSnap?.txnVersion(appId) ?? -1;
  // A region whose first ingestion has not committed yet has no table: nothing to egress, not an error.
  const sourceSnap = await loadSnapshotOrUndefined(source, defaultEngine);
  const latest = sourceSnap?.version ?? -1;
  const base = {
    latestSourceVersion: latest,
    filesRead: 0,
    rowsEgressed: 0,
    skippedChangeCommits: [] as number[],
    commitAttempts: 0,
  };
  if (done >= latest)
    return { ...base, sourceVersion: done, centralVersion: centralSnap?.version ?? null, caughtUp: true };
  const to = Math.min(latest, done + t.maxVersionsPerBatch);
  const pick = await pickFiles(source, done + 1, to, t, deps.progress);
  // Read with the schema as of `to` (additive evolution: older files read missing columns as NULL).
  const snap =
    sourceSnap && to === sourceSnap.version
      ? sourceSnap
      : await Snapshot.load(source, defaultEngine, { version: to });
  const projection = projectionOf(snap.schema, snap.partitionColumns, t);
  // A filter column the source lacks reads as NULL for every row (not "nothing is approved": `a OR gone`
  // keeps the rows where a holds), the same verdict the rows get once a later schema adds the column.
  const filterSql = egressFilterSql(t.filter, snap.schema, 'q'); // the alias of the rows in the SELECT below
  const locals: LocalFile[] = [];
  try {
    const result = await withConnection(async (c) => {
      const selects: string[] = [];
      // The files of each partition value tuple (central is partitioned like the source, renamed).
      const groups = new Map<string, { values: Record<string, string | null>; selects: string[] }>();
      for (const add of pick.files) {
        const local = await materialize(source, dataFileKey(add.path, source.url));
        locals.push(local);
        deps.progress?.({ stage: 'read', filesRead: locals.length });
        const select = await localFileSelect(c, source, snap, add, local.path);
        selects.push(select);
        const values = centralPartitionValues(snap, add, t);
        const key = JSON.stringify(values);
        if (!groups.has(key)) groups.set(key, { values, selects: [] });
        groups.get(key)!.selects.push(select);
      }
      const rows = (from: string[]) =>
        `(SELECT ${projection.sql} FROM (${from.length ? from.join(' UNION ALL BY NAME ') : `SELECT * FROM ${emptyRelation(snap.schema)}`}) q WHERE (${filterSql}) IS TRUE)`;
      return {
        sql: rows(selects),
        partitions: [...groups.values()].map((g) => ({ values: g.values, sourceSql: rows(g.selects) })),
      };
    });
    deps.progress?.({ stage: 'write', filesRead: locals.length });
    const w = await writeTable(central, {
      sourceSql: result.sql,
      // Known exactly (the source snapshot's types, projected): written in one pass, no staging table.
      inputSchema: projection.schema,
      // Partition values are constants per source file: each partition is written from its own files.
      partitionSources: snap.columnMappingMode === 'none' ? result.partitions : undefined,
      mergeSchema: true,
      partitionBy: centralSnap
        ? undefined
        : snap.partitionColumns.length
          ? snap.partitionColumns.map((c) => t.rename?.[c] ?? c)
          : undefined,
      txn: { appId, version: to },
      operation: 'STREAMING UPDATE',
      operationParameters: {
        appId,
        region: t.region,
        sourceVersions: `${done + 1}..${to}`,
        skippedChangeCommits: pick.skipped,
      },
      namePrefix: `part-${t.region}-v${to}`,
    });
    return {
      ...base,
      sourceVersion: to,
      centralVersion: w.version,
      filesRead: pick.files.length,
      rowsEgressed: w.addedRows,
      skippedChangeCommits: pick.skipped,
      caughtUp: to >= latest,
      commitAttempts: w.kind === 'committed' ? w.attempts : 0,
    };
  } finally {
    for (const l of locals) await l.release();
  }
}

/** A source file's partition values, keyed by central's (renamed) partition column names. */
function centralPartitionValues(
  snap: Snapshot,
  add: AddFile,
  t: EgressTarget,
): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const c of snap.partitionColumns) {
    const v = add.partitionValues[c];
    out[t.rename?.[c] ?? c] = v === undefined || v === '' ? null : v;
  }
  return out;
}
