/**
 * Table maintenance activities (workflows/maintain.ts): the plan (every step as a dry run, and the readers
 * holding cleanup back), then OPTIMIZE, a checkpoint, log cleanup and VACUUM, one activity each. Thin:
 * they open stores, find where the table's incremental readers stand, and compose lake/table.
 *
 * A retried step is safe: OPTIMIZE re-plans on the latest snapshot (a lost commit answer leaves only
 * files VACUUM takes later), a checkpoint of a version that has one is skipped, and cleanup and VACUUM
 * delete only what is past retention, so deleting it twice is deleting nothing.
 */
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../lake/storage/object-store';
import { cloneAppId } from '../../lake/table/clone';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/latest';
import {
  checkpointLatest,
  cleanupLogs,
  commitCleanupWarning,
  filesAddedSince,
  vacuumHeld,
} from '../../lake/table/maintain';
import { optimize } from '../../lake/table/optimize';
import { type Beat, beating } from '../heartbeat';
import { type MaintenanceStepMetrics, type PipelineMetrics, noMetrics } from '../metrics';
import { type MaintainTarget, type TableReader, egressAppIdFor } from '../../shapes/targets';

export interface MaintainDeps {
  open: (url: string) => Promise<ObjectStore>;
  metrics?: PipelineMetrics;
}

/** Where one incremental reader of the table stands. */
export interface ReaderHold {
  /** "egress eu → central table", "replica eu-dr". */
  reader: string;
  /** The first version it has not read (undefined: it has not started; it will copy a snapshot). */
  next: number | undefined;
  /** Versions it is behind the table's latest. */
  behind: number;
}

export interface MaintenancePlan {
  name: string;
  table: string;
  /** The table's latest version (undefined: no Delta table there yet, nothing to maintain). */
  version: number | undefined;
  holds: ReaderHold[];
  /** The first version a reader behind still reads: log cleanup and VACUUM keep what it needs. */
  keepFrom?: number;
  optimize?: { bins: number; files: number; bytes: number; targetFileSize: number };
  checkpoint?: { due: boolean; previous: number | undefined };
  logCleanup?: {
    files: number;
    checkpointVersion: number | undefined;
    retentionHours: number;
    held: boolean;
  };
  vacuum?: { files: number; bytes: number; held: number; retentionHours: number; sample: string[] };
  warnings: string[];
}

export interface OptimizeStepResult {
  version: number | undefined;
  numRemovedFiles: number;
  numAddedFiles: number;
  numRemovedBytes: number;
  numAddedBytes: number;
  partitionsOptimized: number;
  rowsRewritten: number;
  replans: number;
}

export interface LogCleanupStepResult {
  deleted: number;
  checkpointVersion: number | undefined;
  held: boolean;
  /** The first and last log files deleted (the whole list is in the worker's log). */
  first?: string;
  last?: string;
}

export interface VacuumStepResult {
  deleted: number;
  bytes: number;
  held: number;
  retentionHours: number;
  /** Every file deleted, up to 1000 (the whole list is in the worker's log). */
  files: string[];
}

/** Files a plan names by key: enough to see what a VACUUM is about to take. */
const SAMPLE = 20;
const LISTED = 1000;

const describeReader = (r: TableReader): string =>
  r.kind === 'egress' ? `egress ${r.region} → ${r.central}` : `replica ${r.name} (${r.target})`;

export const createMaintainActivities = (deps: MaintainDeps) => {
  const metrics = deps.metrics ?? noMetrics;
  /** Runs a step and reports what it changed, labelled with the table's short name (never its URL). */
  /** Runs one step heartbeating (details: the table and the step, then its progress) and records it. */
  async function measured<R>(
    target: MaintainTarget,
    stage: MaintenanceStepMetrics['step'],
    run: (beat: Beat) => Promise<R>,
    what: (r: R) => MaintenanceStepMetrics,
  ): Promise<R> {
    const t0 = Date.now();
    const r = await beating((beat) => {
      beat({ table: target.name, stage });
      return run(beat);
    });
    metrics.maintenanceStep(what(r), Date.now() - t0, { table: target.name });
    return r;
  }
  /** Where each reader stands: the txn it records on the table it writes. */
  async function holdsOf(target: MaintainTarget, latest: number): Promise<ReaderHold[]> {
    const table = await deps.open(target.table);
    const sourceId = (await loadSnapshotOrUndefined(table, defaultEngine))?.metadata.id;
    return Promise.all(
      target.readers.map(async (r): Promise<ReaderHold> => {
        const snap = await loadSnapshotOrUndefined(
          await deps.open(r.kind === 'egress' ? r.central : r.target),
          defaultEngine,
        );
        // An egress that never committed reads from version 0; a replica never cloned copies a snapshot.
        const done =
          r.kind === 'egress'
            ? (snap?.txnVersion(egressAppIdFor(r.region)) ?? -1)
            : sourceId === undefined
              ? undefined
              : snap?.txnVersion(cloneAppId(sourceId));
        const next = done === undefined ? undefined : done + 1;
        return {
          reader: describeReader(r),
          next,
          behind: next === undefined ? 0 : Math.max(0, latest - next + 1),
        };
      }),
    );
  }

  /** The dry runs of every step the target enables, and the readers that hold log entries and files. */
  async function planOf(target: MaintainTarget): Promise<MaintenancePlan> {
    const store = await deps.open(target.table);
    const snap = await loadSnapshotOrUndefined(store, defaultEngine);
    const plan: MaintenancePlan = {
      name: target.name,
      table: target.table,
      version: snap?.version,
      holds: [],
      warnings: [],
    };
    if (!snap) return plan;
    plan.holds = await holdsOf(target, snap.version);
    const behind = plan.holds.filter((h) => h.next !== undefined && h.next <= snap.version);
    if (behind.length) plan.keepFrom = Math.min(...behind.map((h) => h.next!));
    for (const h of behind)
      plan.warnings.push(
        `${h.reader} is ${h.behind} version(s) behind: log cleanup and VACUUM keep what it reads from version ${h.next}`,
      );
    const keep = plan.keepFrom !== undefined ? { keepFrom: plan.keepFrom } : {};
    // The commits the readers behind still read, read once: for the warning here and the VACUUM plan.
    const held =
      plan.keepFrom !== undefined ? await filesAddedSince(store, plan.keepFrom, snap.version) : undefined;
    if (held?.missing)
      plan.warnings.push(`a reader at version ${plan.keepFrom} cannot resume incrementally: ${held.missing}`);
    const atRisk =
      plan.keepFrom !== undefined ? await commitCleanupWarning(store, snap, plan.keepFrom) : undefined;
    if (atRisk) plan.warnings.push(atRisk);
    if (target.optimize) {
      const o = await optimize(store, {
        dryRun: true,
        ...(target.targetFileSize !== undefined ? { targetFileSize: target.targetFileSize } : {}),
      });
      plan.optimize = {
        bins: o.bins.length,
        files: o.bins.reduce((n, b) => n + b.files, 0),
        bytes: o.bins.reduce((n, b) => n + b.bytes, 0),
        targetFileSize: o.targetFileSize,
      };
    }
    if (target.checkpoint) {
      const c = await checkpointLatest(store, { dryRun: true });
      plan.checkpoint = { due: c.version !== c.previous, previous: c.previous };
    }
    if (target.logCleanup) {
      const l = await cleanupLogs(store, { ...keep, dryRun: true });
      plan.logCleanup = {
        files: l.deleted.length,
        checkpointVersion: l.checkpointVersion,
        retentionHours: l.retentionHours,
        held: l.held,
      };
    }
    if (target.vacuum) {
      const v = await vacuumHeld(store, { ...keep, ...(held ? { held } : {}), dryRun: true });
      plan.vacuum = {
        files: v.deleted.length,
        bytes: v.bytes,
        held: v.held,
        retentionHours: v.retentionHours,
        sample: v.deleted.slice(0, SAMPLE),
      };
    }
    Context.current().log.info('maintenance planned', { ...plan });
    return plan;
  }

  return {
    async planMaintenance(target: MaintainTarget): Promise<MaintenancePlan> {
      return beating((beat) => {
        beat({ table: target.name, stage: 'planning' });
        return planOf(target);
      });
    },

    async optimizeMaintained(target: MaintainTarget): Promise<OptimizeStepResult> {
      const ctx = Context.current();
      const r = await measured(
        target,
        'optimize',
        async (beat) =>
          optimize(await deps.open(target.table), {
            ...(target.targetFileSize !== undefined ? { targetFileSize: target.targetFileSize } : {}),
            onProgress: (p) => beat({ table: target.name, stage: 'optimize', ...p }),
          }),
        (o) => ({
          step: 'optimize',
          filesRemoved: o.numRemovedFiles,
          bytesRemoved: o.numRemovedBytes,
          filesAdded: o.numAddedFiles,
          bytesAdded: o.numAddedBytes,
        }),
      );
      ctx.log.info('optimize done', { table: target.name, version: r.version, removed: r.numRemovedFiles });
      return {
        version: r.version,
        numRemovedFiles: r.numRemovedFiles,
        numAddedFiles: r.numAddedFiles,
        numRemovedBytes: r.numRemovedBytes,
        numAddedBytes: r.numAddedBytes,
        partitionsOptimized: r.partitionsOptimized,
        rowsRewritten: r.rowsRewritten,
        replans: r.replans,
      };
    },

    async checkpointMaintained(target: MaintainTarget) {
      return measured(
        target,
        'checkpoint',
        async () => checkpointLatest(await deps.open(target.table)),
        (c) => ({ step: 'checkpoint', filesAdded: c.written ? 1 : 0 }),
      );
    },

    async cleanupLogsMaintained(target: MaintainTarget, keepFrom?: number): Promise<LogCleanupStepResult> {
      const ctx = Context.current();
      const r = await measured(
        target,
        'logCleanup',
        async () => cleanupLogs(await deps.open(target.table), keepFrom !== undefined ? { keepFrom } : {}),
        (l) => ({ step: 'logCleanup', filesDeleted: l.deleted.length }),
      );
      if (r.deleted.length) ctx.log.info('log files deleted', { table: target.name, files: r.deleted });
      return {
        deleted: r.deleted.length,
        checkpointVersion: r.checkpointVersion,
        held: r.held,
        ...(r.deleted.length ? { first: r.deleted[0], last: r.deleted[r.deleted.length - 1] } : {}),
      };
    },

    async vacuumMaintained(target: MaintainTarget, keepFrom?: number): Promise<VacuumStepResult> {
      const ctx = Context.current();
      const r = await measured(
        target,
        'vacuum',
        async () => vacuumHeld(await deps.open(target.table), keepFrom !== undefined ? { keepFrom } : {}),
        (v) => ({ step: 'vacuum', filesDeleted: v.deleted.length, bytesDeleted: v.bytes }),
      );
      if (r.deleted.length) ctx.log.info('vacuum deleted', { table: target.name, files: r.deleted });
      return {
        deleted: r.deleted.length,
        bytes: r.bytes,
        held: r.held,
        retentionHours: r.retentionHours,
        files: r.deleted.slice(0, LISTED),
      };
    },
  };
};

export type MaintainActivities = ReturnType<typeof createMaintainActivities>;
