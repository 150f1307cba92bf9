/**
 * One egress step: the `add` actions (dataChange = true) of the source commits after the last one central
 * records for this region, filtered by the egress predicate, appended to central in one commit carrying
 * txn(egress appId, last source version). A retry or crash at any point re-reads the txn and neither
 * duplicates nor skips a source commit.
 *
 * Source files isolated as poison (see isolate.ts) are not read: they are recorded in the egress quarantine
 * table first (its own txn with the same appId and version makes that once), then the rest commits.
 */
import { TributaryError, isTributaryError } from '../../lake/errors';
import type { AddFile } from '../../lake/delta/actions';
import { readCommitRange } from '../../lake/delta/commits';
import { Snapshot } from '../../lake/delta/snapshot';
import { dataFileKey } from '../../lake/delta/paths';
import { sqlString, withConnection } from '../../lake/engine/duckdb';
import { emptyRelation } from '../../lake/engine/types';
import { type LocalFile, materialize } from '../../lake/engine/local-files';
import { localFileSelect, scanRows } from '../../lake/engine/scan';
import { parsePredicate } from '../../lake/predicate';
import type { ObjectStore } from '../../lake/storage/object-store';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { boundText, engineMessage } from '../failures';
import { filterSql as egressFilterSql } from './filter';
import { projection as projectionOf } from './projection';
import {
  type EgressBatchOptions,
  type EgressBatchResult,
  MAX_POISON_REASON,
  type PoisonedFile,
  poisonId,
} from './types';
import { type EgressTarget, egressAppIdFor, egressQuarantineUrlOf } from '../../shapes/targets';

export interface EgressDeps {
  open(url: string): Promise<ObjectStore>;
  /** Progress callback (the activity heartbeats from it, so a short heartbeat timeout only catches dead workers). */
  progress?(p: { stage: 'read' | 'write'; sourceVersion?: number; filesRead?: number }): void;
}

/**
 * A trial run (isolation): only the source files named in `only` (poisonId) are read, and the rows are
 * written to `central`, a throwaway table seeded with the real central's schema. Nothing real changes.
 */
export interface EgressProbe {
  only: ReadonlySet<string>;
  central: ObjectStore;
}

/** A data-changing add of the batch, with the source version that added it. */
export interface PickedFile {
  sourceVersion: number;
  add: AddFile;
}

interface Pick {
  files: PickedFile[];
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
  const commits = readCommitRange(source, from, to, {
    missing: (v) =>
      new TributaryError(
        'INVALID_LOG',
        `egress ${t.region}: source ${source.url} no longer has commit ${v} (log cleaned up before egress read it); re-seed egress from a snapshot`,
        { retryable: false },
      ),
  });
  for await (const { version: v, actions } of commits) {
    progress?.({ stage: 'read', sourceVersion: v });
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
    for (const a of actions)
      if ('add' in a && a.add.dataChange) pick.files.push({ sourceVersion: v, add: a.add });
  }
  return pick;
}

/** The next batch of a region: which source versions and files, against which central state. */
export interface EgressPlan {
  source: ObjectStore;
  central: ObjectStore;
  centralSnap: Snapshot | undefined;
  sourceSnap: Snapshot | undefined;
  /** Last source version central reflects (-1: none). */
  done: number;
  latest: number;
  /** Last source version of the batch; undefined when central is caught up. */
  to?: number;
  pick: Pick;
}

export async function planEgressBatch(deps: EgressDeps, t: EgressTarget, upTo?: number): Promise<EgressPlan> {
  const appId = egressAppIdFor(t.region);
  const [source, central] = await Promise.all([deps.open(t.source), deps.open(t.central)]);
  const centralSnap = await loadSnapshotOrUndefined(central, defaultEngine);
  const done = centralSnap?.txnVersion(appId) ?? -1;
  // A region whose first ingestion has not committed yet has no table: nothing to egress, not an error.
  const sourceSnap = await loadSnapshotOrUndefined(source, defaultEngine);
  const latest = sourceSnap?.version ?? -1;
  const plan: EgressPlan = {
    source,
    central,
    centralSnap,
    sourceSnap,
    done,
    latest,
    pick: { files: [], skipped: [] },
  };
  if (done >= latest || (upTo !== undefined && done >= upTo)) return plan;
  plan.to = Math.min(latest, done + t.maxVersionsPerBatch, upTo ?? Infinity);
  plan.pick = await pickFiles(source, done + 1, plan.to, t, deps.progress);
  return plan;
}

/** The bounded, printable reason a quarantine record keeps. */
export const poisonReason = (text: string): string =>
  boundText(text.replaceAll('\u0000', ''), MAX_POISON_REASON);

const rowsOf = (add: AddFile): number | undefined => {
  try {
    const n = (JSON.parse(add.stats ?? '{}') as { numRecords?: unknown }).numRecords;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
};

/** The isolated files that are part of this batch, as they will be recorded. */
function poisonOf(
  files: readonly PickedFile[],
  isolated: readonly PoisonedFile[] | undefined,
): PoisonedFile[] {
  if (!isolated?.length) return [];
  const byId = new Map(files.map((f) => [poisonId({ sourceVersion: f.sourceVersion, path: f.add.path }), f]));
  const out: PoisonedFile[] = [];
  for (const x of isolated) {
    const f = byId.get(poisonId(x));
    if (!f) continue;
    const rows = rowsOf(f.add);
    out.push({
      sourceVersion: x.sourceVersion,
      path: x.path,
      reason: poisonReason(x.reason),
      ...(rows !== undefined ? { rows } : {}),
    });
    byId.delete(poisonId(x));
  }
  return out;
}

/** The poisonIds the quarantine records for a region's source versions from..to. */
async function recordedPoison(
  quarantine: ObjectStore,
  region: string,
  from: number,
  to: number,
): Promise<Set<string>> {
  const snap = await Snapshot.load(quarantine, defaultEngine);
  const files = snap.files.filter((f) => f.partitionValues.region === region);
  const rows = await scanRows(quarantine, snap, {
    files,
    where: parsePredicate(`source_version >= ${from} AND source_version <= ${to}`),
  });
  return new Set(
    rows.map((r) => poisonId({ sourceVersion: Number(r.source_version), path: String(r.source_file) })),
  );
}

/** The egress quarantine rows of a batch, as a DuckDB relation. */
function quarantineSql(t: EgressTarget, poison: readonly PoisonedFile[], at: string): string {
  const values = poison.map(
    (p) =>
      `(${sqlString(t.region)}, ${sqlString(t.source)}, ${p.sourceVersion}::BIGINT, ${sqlString(p.path)}, ` +
      `${sqlString(p.reason)}, ${p.rows ?? 'NULL'}::BIGINT, TIMESTAMPTZ ${sqlString(at)})`,
  );
  return `(SELECT * FROM (VALUES ${values.join(', ')}) v(region, source_table, source_version, source_file, reason, source_rows, recorded_at))`;
}

export async function egressBatch(
  deps: EgressDeps,
  t: EgressTarget,
  opts: EgressBatchOptions & { probe?: EgressProbe } = {},
): Promise<EgressBatchResult> {
  const appId = egressAppIdFor(t.region);
  const {
    source,
    central: realCentral,
    centralSnap,
    sourceSnap,
    done,
    latest,
    to,
    pick,
  } = await planEgressBatch(deps, t, opts.upTo);
  const base = {
    latestSourceVersion: latest,
    filesRead: 0,
    rowsEgressed: 0,
    skippedChangeCommits: [] as number[],
    commitAttempts: 0,
  };
  if (to === undefined)
    return { ...base, sourceVersion: done, centralVersion: centralSnap?.version ?? null, caughtUp: true };
  const probe = opts.probe;
  const poison = probe ? [] : poisonOf(pick.files, opts.isolated);
  const skip = new Set([...(opts.isolated ?? []).map(poisonId)]);
  const files = pick.files.filter((f) => {
    const id = poisonId({ sourceVersion: f.sourceVersion, path: f.add.path });
    return probe ? probe.only.has(id) && !skip.has(id) : !skip.has(id);
  });
  let central = realCentral;
  if (probe) {
    central = probe.central;
    // The trial run converts rows into central's schema as the real run would.
    if (centralSnap)
      await writeTable(central, {
        sourceSql: emptyRelation(centralSnap.schema),
        inputSchema: centralSnap.schema,
        partitionBy: centralSnap.partitionColumns.length ? centralSnap.partitionColumns : undefined,
      });
  }
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
      for (const { sourceVersion, add } of files) {
        const local = await materialize(source, dataFileKey(add.path, source.url));
        locals.push(local);
        deps.progress?.({ stage: 'read', filesRead: locals.length });
        const select = await localFileSelect(c, source, snap, add, local.path).catch((e: unknown) => {
          if (isTributaryError(e)) throw e;
          // The same bytes fail the same way on every try: not retryable (the workflow isolates it).
          throw new TributaryError(
            'INTERNAL',
            `source file ${add.path} (source version ${sourceVersion}) cannot be read as Parquet: ${engineMessage(e).replaceAll(local.path, add.path)}`,
            { cause: e, retryable: false },
          );
        });
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
    const txn = { appId, version: to };
    // The poisoned files are recorded before the rows commit, once (the quarantine's own txn); the batch
    // is done only when central's commit lands.
    const writeQuarantine = async () => {
      if (!poison.length) return;
      const quarantine = await deps.open(egressQuarantineUrlOf(t));
      const w = await writeTable(quarantine, {
        sourceSql: quarantineSql(t, poison, new Date().toISOString()),
        mergeSchema: true,
        partitionBy: ['region'],
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: { appId, region: t.region, sourceVersions: `${done + 1}..${to}` },
      });
      if (w.kind !== 'alreadyCommitted') return;
      // An earlier attempt recorded this batch's poison but its central commit did not land, and this
      // attempt isolates more files: those are recorded too (else they would be skipped unrecorded).
      const recorded = await recordedPoison(quarantine, t.region, done + 1, to);
      const missing = poison.filter((p) => !recorded.has(poisonId(p)));
      if (missing.length)
        await writeTable(quarantine, {
          sourceSql: quarantineSql(t, missing, new Date().toISOString()),
          mergeSchema: true,
          operation: 'STREAMING UPDATE',
          operationParameters: { appId, region: t.region, sourceVersions: `${done + 1}..${to}` },
        });
    };
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
      txn,
      operation: 'STREAMING UPDATE',
      operationParameters: {
        appId,
        region: t.region,
        sourceVersions: `${done + 1}..${to}`,
        skippedChangeCommits: pick.skipped,
        ...(poison.length
          ? {
              quarantinedFiles: JSON.stringify(
                poison.map((p) => ({ sourceVersion: p.sourceVersion, path: p.path })),
              ),
            }
          : {}),
      },
      namePrefix: `part-${t.region}-v${to}`,
      beforeCommit: probe ? undefined : writeQuarantine,
    });
    return {
      ...base,
      sourceVersion: to,
      centralVersion: w.version,
      filesRead: files.length,
      rowsEgressed: w.addedRows,
      skippedChangeCommits: pick.skipped,
      caughtUp: to >= latest,
      commitAttempts: w.kind === 'committed' ? w.attempts : 0,
      // Recorded by this call or, when its commit had already landed, by the attempt that made it.
      ...(poison.length ? { quarantined: poison } : {}),
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
