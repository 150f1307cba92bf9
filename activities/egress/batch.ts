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
import {
  type WriteResult,
  defaultEngine,
  loadSnapshotOrUndefined,
  writeTable,
} from '../../lake/table/operations';
import { boundText, engineMessage } from '../failures';
import { filterSql as egressFilterSql } from './filter';
import { projection as projectionOf } from './projection';
import {
  type EgressBatchOptions,
  type EgressBatchResult,
  MAX_POISON_REASON,
  type PoisonedFile,
  type RoutedWrite,
  poisonId,
} from './types';
import { readRouting, readRoutingBatch, routesOf, writeRoutingAck, writeRoutingBatch } from './routing-store';
import { ROUTING_VERSION_FIELD, type Route, type RoutingAck } from '../../shapes/routing';
import {
  type CloudTransfer,
  type EgressTarget,
  addTransfers,
  egressAppIdFor,
  egressQuarantineUrlOf,
  transferMetrics,
} from '../../shapes/targets';
import { cloudOfUrl } from '../../lake/storage/url';

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

/** The routing a batch applies: read at batch start, or the one a batch in progress already applied. */
export interface BatchRouting {
  version: number;
  routes: Route[];
  /** Taken from the batch in progress (an earlier attempt may have committed to some targets under it). */
  resumed: boolean;
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
  routing: BatchRouting;
}

/**
 * The routing of the batch after `done`: a batch recorded in progress from done + 1 (an earlier attempt
 * that may have committed to route tables, not yet to central) keeps its routing version and its last
 * source version; otherwise the live routing on central, else config's routes as version 0.
 */
async function routingOfBatch(
  central: ObjectStore,
  t: EgressTarget,
  done: number,
): Promise<BatchRouting & { upTo?: number }> {
  const [pending, live] = await Promise.all([readRoutingBatch(central, t.region), readRouting(central)]);
  if (pending && pending.from === done + 1 && pending.to > done)
    return {
      version: pending.routingVersion,
      routes: await routesOf(central, pending.routingVersion, t.routes),
      resumed: true,
      upTo: pending.to,
    };
  return live
    ? { version: live.version, routes: live.routes, resumed: false }
    : { version: 0, routes: [...(t.routes ?? [])], resumed: false };
}

export async function planEgressBatch(deps: EgressDeps, t: EgressTarget, upTo?: number): Promise<EgressPlan> {
  const appId = egressAppIdFor(t.region);
  const [source, central] = await Promise.all([deps.open(t.source), deps.open(t.central)]);
  const centralSnap = await loadSnapshotOrUndefined(central, defaultEngine);
  const done = centralSnap?.txnVersion(appId) ?? -1;
  const { upTo: pendingTo, ...routing } = await routingOfBatch(central, t, done);
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
    routing,
  };
  if (done >= latest || (upTo !== undefined && done >= upTo)) return plan;
  plan.to = Math.min(latest, done + t.maxVersionsPerBatch, upTo ?? Infinity, pendingTo ?? Infinity);
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

/** One table a batch writes: central (route index 0) or a route's table, with the route indexes it takes. */
interface BatchTarget {
  url: string;
  routeIndexes: number[];
  isDefault: boolean;
}

const sameTable = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** Route tables in route order, then central (which also takes the routes naming it). */
function targetsOf(t: EgressTarget, routes: readonly Route[]): BatchTarget[] {
  const out: BatchTarget[] = [];
  const central: BatchTarget = { url: t.central, routeIndexes: [0], isDefault: true };
  routes.forEach((r, i) => {
    if (sameTable(r.table, t.central)) return void central.routeIndexes.push(i + 1);
    const known = out.find((x) => sameTable(x.url, r.table));
    if (known) known.routeIndexes.push(i + 1);
    else out.push({ url: r.table, routeIndexes: [i + 1], isDefault: false });
  });
  // Central last: the region's position stays central's txn, so a crash between commits re-plans from
  // there, and the route tables that already have the batch's txn skip it.
  return [...out, central];
}

/** Creates `store` as an empty table with central's schema and partitioning (a new route table). */
async function seedLike(store: ObjectStore, centralSnap: Snapshot): Promise<void> {
  await writeTable(store, {
    sourceSql: emptyRelation(centralSnap.schema),
    inputSchema: centralSnap.schema,
    partitionBy: centralSnap.partitionColumns.length ? centralSnap.partitionColumns : undefined,
  });
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
    routing,
  } = await planEgressBatch(deps, t, opts.upTo);
  const probe = opts.probe;
  const base = {
    latestSourceVersion: latest,
    filesRead: 0,
    rowsEgressed: 0,
    skippedChangeCommits: [] as number[],
    commitAttempts: 0,
    routingVersion: routing.version,
  };
  const ack = async (sourceVersion: number, state: RoutingAck['state']) => {
    if (probe) return;
    await writeRoutingAck(realCentral, {
      region: t.region,
      appId,
      routingVersion: routing.version,
      sourceVersion,
      state,
      at: new Date().toISOString(),
    });
  };
  if (to === undefined) {
    await ack(done, 'caughtUp');
    return { ...base, sourceVersion: done, centralVersion: centralSnap?.version ?? null, caughtUp: true };
  }
  const poison = probe ? [] : poisonOf(pick.files, opts.isolated);
  const skip = new Set([...(opts.isolated ?? []).map(poisonId)]);
  const files = pick.files.filter((f) => {
    const id = poisonId({ sourceVersion: f.sourceVersion, path: f.add.path });
    return probe ? probe.only.has(id) && !skip.has(id) : !skip.has(id);
  });
  if (probe && centralSnap) {
    // The trial run converts rows into central's schema as the real run would.
    await seedLike(probe.central, centralSnap);
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
  // A trial run writes everything to its throwaway central: it checks the data, not the routing.
  const routes = probe ? [] : routing.routes;
  // Each approved row's route: the first whose predicate is TRUE (NULL is no match), else 0 (central).
  // Route predicates read source names, as the filter does, before projection and renames.
  const routeOf = routes.length
    ? `CASE ${routes.map((r, i) => `WHEN (${egressFilterSql(r.predicate, snap.schema, 'q')}) IS TRUE THEN ${i + 1}`).join(' ')} ELSE 0 END`
    : undefined;
  const locals: LocalFile[] = [];
  try {
    const read = await withConnection(async (c) => {
      const out: {
        sourceVersion: number;
        select: string;
        key: string;
        values: Record<string, string | null>;
      }[] = [];
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
        // Central is partitioned like the source (renamed): each partition value tuple is written from its files.
        const values = centralPartitionValues(snap, add, t);
        out.push({ sourceVersion, select, key: JSON.stringify(values), values });
      }
      return out;
    });
    /** The approved rows of source versions after `after` whose route is one of `routeIndexes`. */
    const relationOf = (after: number, routeIndexes: readonly number[]) => {
      const mine = read.filter((f) => f.sourceVersion > after);
      const routed = routeOf ? ` AND (${routeOf}) IN (${routeIndexes.join(', ')})` : '';
      const rows = (from: string[]) =>
        `(SELECT ${projection.sql} FROM (${from.length ? from.join(' UNION ALL BY NAME ') : `SELECT * FROM ${emptyRelation(snap.schema)}`}) q WHERE (${filterSql}) IS TRUE${routed})`;
      const groups = new Map<string, { values: Record<string, string | null>; selects: string[] }>();
      for (const f of mine) {
        if (!groups.has(f.key)) groups.set(f.key, { values: f.values, selects: [] });
        groups.get(f.key)!.selects.push(f.select);
      }
      return {
        sql: rows(mine.map((f) => f.select)),
        partitions: [...groups.values()].map((g) => ({ values: g.values, sourceSql: rows(g.selects) })),
      };
    };
    deps.progress?.({ stage: 'write', filesRead: locals.length });
    const txn = { appId, version: to };
    // The poisoned files are recorded before any target commits, once (the quarantine's own txn); the
    // batch is done only when central's commit lands.
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
    if (!probe) await writeQuarantine();
    const targets = targetsOf(t, routes);
    if (!probe && targets.length > 1 && !routing.resumed)
      await writeRoutingBatch(realCentral, {
        region: t.region,
        from: done + 1,
        to,
        routingVersion: routing.version,
        at: new Date().toISOString(),
      });
    const routed: RoutedWrite[] = [];
    const transfers: CloudTransfer[] = [];
    const bytesRead = files.reduce((n, f) => n + f.add.size, 0);
    let centralWrite: WriteResult | undefined;
    for (const target of targets) {
      const store = target.isDefault ? (probe ? probe.central : realCentral) : await deps.open(target.url);
      const targetSnap = target.isDefault
        ? probe
          ? undefined
          : centralSnap
        : await loadSnapshotOrUndefined(store, defaultEngine);
      // A route table that already has source versions (an earlier attempt's commit, or a clone of
      // central carrying its txns) gets only the later ones: never a row twice.
      const after = Math.max(done, targetSnap?.txnVersion(appId) ?? -1);
      if (after >= to) {
        routed.push({ table: target.url, rows: 0, version: targetSnap!.version, alreadyCommitted: true });
        continue;
      }
      if (!target.isDefault && !targetSnap && centralSnap) await seedLike(store, centralSnap);
      const rel = relationOf(after, target.routeIndexes);
      const creating = target.isDefault ? !centralSnap : !targetSnap && !centralSnap;
      const w = await writeTable(store, {
        sourceSql: rel.sql,
        // Known exactly (the source snapshot's types, projected): written in one pass, no staging table.
        inputSchema: projection.schema,
        // Partition values are constants per source file: each partition is written from its own files.
        partitionSources: snap.columnMappingMode === 'none' ? rel.partitions : undefined,
        mergeSchema: true,
        partitionBy:
          creating && snap.partitionColumns.length
            ? snap.partitionColumns.map((c) => t.rename?.[c] ?? c)
            : undefined,
        txn,
        operation: 'STREAMING UPDATE',
        operationParameters: {
          appId,
          region: t.region,
          sourceVersions: `${after + 1}..${to}`,
          skippedChangeCommits: pick.skipped,
          ...(target.isDefault && poison.length
            ? {
                quarantinedFiles: JSON.stringify(
                  poison.map((p) => ({ sourceVersion: p.sourceVersion, path: p.path })),
                ),
              }
            : {}),
        },
        // The source bytes are read once, for the batch: counted on central's commit.
        operationMetrics: transferMetrics({
          from: cloudOfUrl(t.source),
          to: cloudOfUrl(target.url),
          bytesRead: target.isDefault ? bytesRead : 0,
          bytesWritten: 0,
        }),
        commitInfo: { [ROUTING_VERSION_FIELD]: routing.version },
        namePrefix: `part-${t.region}-v${to}`,
      });
      addTransfers(transfers, [
        {
          from: cloudOfUrl(t.source),
          to: cloudOfUrl(target.url),
          bytesRead: target.isDefault ? bytesRead : 0,
          bytesWritten: w.addedBytes,
        },
      ]);
      routed.push({
        table: target.url,
        rows: w.addedRows,
        version: w.version,
        ...(w.kind === 'alreadyCommitted' ? { alreadyCommitted: true } : {}),
      });
      if (target.isDefault) centralWrite = w;
    }
    const w = centralWrite!;
    await ack(to, 'committed');
    return {
      ...base,
      sourceVersion: to,
      centralVersion: w.version,
      filesRead: files.length,
      rowsEgressed: routed.reduce((n, r) => n + r.rows, 0),
      skippedChangeCommits: pick.skipped,
      caughtUp: to >= latest,
      commitAttempts: w.kind === 'committed' ? w.attempts : 0,
      transfers,
      ...(targets.length > 1 ? { routed } : {}),
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
