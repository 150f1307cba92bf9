/**
 * Replication activities: one incremental deep clone of a replica's source (lake/table/clone.ts) and the
 * replica's status. Thin: they open the stores, heartbeat progress and pass cancellation down.
 *
 * Resume after a crash needs no cursor: cloneTable publishes a target version only once every file is
 * present, and a retry (on any worker) skips the objects already on the target with the right size, so it
 * copies only what the killed attempt had not finished. The heartbeat details are informational (what the
 * Temporal UI shows as progress), not a resume point.
 */
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../lake/storage/object-store';
import {
  type CloneMetrics,
  type ClonePlanSummary,
  type CloneProgress,
  type CloneResult,
  cloneTable,
} from '../../lake/table/clone';
import { type ReplicaStatus, replicaStatus as statusOf } from '../../lake/table/clone-status';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/latest';
import type { CloudTransfer, ReplicaTarget } from '../../shapes/targets';
import { cloudOfUrl } from '../../lake/storage/url';
import { beating } from '../heartbeat';
import { type PipelineMetrics, type ReplicaLag, noMetrics } from '../metrics';

export interface CloneDeps {
  open: (url: string) => Promise<ObjectStore>;
  /** Least time between two progress heartbeats (default 1 s). */
  heartbeatEveryMs?: number;
  /** Where clone results and replica lag are reported (default: nowhere). */
  metrics?: PipelineMetrics;
}

/** The replica's lag as metrics take it: the versions it lacks and when the oldest of them was made. */
const lagOf = (s: ReplicaStatus, now: number): ReplicaLag => ({
  versions: s.lagVersions,
  ...(s.lagSeconds > 0 ? { oldestMissingCommitAt: now - s.lagSeconds * 1000 } : {}),
});

export interface CloneActivityOptions {
  /** Source version to clone (default: the latest). */
  version?: number;
  /** Copies in flight (default: cloneTable's). */
  concurrency?: number;
}

/** What one clone did: CloneResult without the carried txns themselves (their count instead). */
export type CloneActivityResult = Omit<CloneResult, 'carriedTxns'> & {
  name: string;
  /** Bytes this run copied, by cloud pair (read from the source's cloud, written to the replica's). */
  transfer?: CloudTransfer;
  carriedTxns: number;
  plan?: ClonePlanSummary;
  /** Objects an earlier, interrupted attempt had already brought over (found, not copied). */
  objectsAlreadyPresent: number;
};

/** The heartbeat of a clone in flight. */
export type CloneHeartbeat = { name: string; stage: 'planning' | 'copying' } & Partial<CloneProgress>;

export type { CloneMetrics, ReplicaStatus };

export const createCloneActivities = (deps: CloneDeps) => ({
  async cloneTableActivity(
    target: ReplicaTarget,
    opts: CloneActivityOptions = {},
  ): Promise<CloneActivityResult> {
    const ctx = Context.current();
    const metrics = deps.metrics ?? noMetrics;
    const t0 = Date.now();
    const every = deps.heartbeatEveryMs ?? 1000;
    return beating(async (heartbeat) => {
      let last = 0;
      // Progress is sent at most every `every` ms; between progress, beating repeats the last details.
      const beat = (d: CloneHeartbeat, force = false) => {
        const now = Date.now();
        if (!force && now - last < every) return;
        last = now;
        heartbeat(d);
      };
      beat({ name: target.name, stage: 'planning' }, true);
      const [source, dest] = await Promise.all([deps.open(target.source), deps.open(target.target)]);
      let plan: ClonePlanSummary | undefined;
      let progress: CloneProgress | undefined;
      const r = await cloneTable(source, dest, {
        ...(opts.version !== undefined ? { version: opts.version } : {}),
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        signal: ctx.cancellationSignal,
        onPlan: (p) => {
          plan = p;
          ctx.log.info('clone planned', { replica: target.name, ...p });
          beat(
            {
              name: target.name,
              stage: 'copying',
              objectsToCopy: p.objectsToCopy,
              bytesToCopy: p.bytesToCopy,
            },
            true,
          );
        },
        onProgress: (p) => {
          progress = p;
          beat({ name: target.name, stage: 'copying', ...p });
        },
      });
      ctx.log.info('clone done', {
        replica: target.name,
        kind: r.kind,
        sourceVersion: r.sourceVersion,
        targetVersion: r.targetVersion,
        bytes: r.bytesTransferred,
      });
      const transfer: CloudTransfer = {
        from: cloudOfUrl(target.source),
        to: cloudOfUrl(target.target),
        bytesRead: r.bytesTransferred,
        bytesWritten: r.bytesTransferred,
      };
      if (metrics !== noMetrics) {
        const labels = { table: target.name };
        metrics.clone(
          { bytesTransferred: r.bytesTransferred, copiedFiles: r.metrics.numCopiedFiles, transfer },
          Date.now() - t0,
          labels,
        );
        // The clone is committed: a status that cannot be read is logged, never a failure of the clone.
        const now = Date.now();
        await statusOf(source, dest, { now }).then(
          (s) => metrics.replicaLag(lagOf(s, now), labels),
          (e: unknown) => ctx.log.warn('replica lag not read', { replica: target.name, error: String(e) }),
        );
      }
      return {
        ...r,
        name: target.name,
        transfer,
        carriedTxns: r.carriedTxns.length,
        ...(plan ? { plan } : {}),
        objectsAlreadyPresent: progress?.objectsAlreadyPresent ?? 0,
      };
    });
  },

  /** The source's latest version, or null when it has no Delta table yet (nothing to replicate). */
  async replicaSourceVersion(target: ReplicaTarget): Promise<number | null> {
    const snap = await loadSnapshotOrUndefined(await deps.open(target.source), defaultEngine);
    return snap?.version ?? null;
  },

  async replicaStatus(target: ReplicaTarget): Promise<ReplicaStatus> {
    return beating(async () => {
      const [source, dest] = await Promise.all([deps.open(target.source), deps.open(target.target)]);
      const now = Date.now();
      const s = await statusOf(source, dest, { now });
      deps.metrics?.replicaLag(lagOf(s, now), { table: target.name });
      return s;
    });
  },
});

export type CloneActivities = ReturnType<typeof createCloneActivities>;
