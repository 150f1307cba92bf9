/**
 * Live table fork activities (workflows/fork.ts): thin compositions of the routing store
 * (activities/egress/routing-store.ts), deletePreview/deleteWhere and checkFork (lake/table). The clones
 * are the replication activity (activities/clone). Each is safe to run twice: publishing the same routes
 * is `unchanged`, a delete already done deletes nothing, the rest only reads.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { TributaryError } from '../../lake/errors';
import type { ObjectStore } from '../../lake/storage/object-store';
import { readCommit, readCommitRange } from '../../lake/delta/commits';
import { toDuckDbSql } from '../../lake/predicate';
import { commitKey } from '../../lake/delta/log-path';
import { cloneAppId } from '../../lake/table/clone';
import { deletePreview, deleteWhere } from '../../lake/table/delete';
import { checkFork, ensureKeyColumns } from '../../lake/table/fork-check';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/latest';
import { bindPredicate } from '../../lake/table/skipping';
import type {
  ForkDeleteSummary,
  ForkInput,
  ForkPlan,
  ForkSidePlan,
  ForkVerification,
} from '../../shapes/fork';
import { forkRoute } from '../../shapes/fork';
import { type Route, sameRoutes } from '../../shapes/routing';
import { egressAppIdFor } from '../../shapes/targets';
import { publishRouting, readRouting, readRoutingAcks } from '../egress/routing-store';
import { allBeating } from '../heartbeat';

export interface ForkDeps {
  open: (url: string) => Promise<ObjectStore>;
}

/** What step 2 publishes: the routes with the fork's first, after the routing version read. */
export interface ForkRoutingPlan {
  /** The egress pipelines the barrier waits for. */
  regions: string[];
  /** The routing version read (0: none published yet). */
  expected: number;
  routes: Route[];
  /** The live routing already routes the subset to the fork (an earlier run published it): its version. */
  publishedVersion?: number;
}

/**
 * Main's version when the fork was created: the source version its first clone commit (fork version 0)
 * recorded. A fork started again after a cancel clones incrementally, so its own first clone is later.
 */
async function forkBaseVersion(main: ObjectStore, fork: ObjectStore, fallback: number): Promise<number> {
  const snap = await loadSnapshotOrUndefined(main, defaultEngine);
  if (!snap) return fallback;
  const first = await readCommit(fork, commitKey(0), fork.url).catch(() => undefined);
  const txn = first?.find((a) => 'txn' in a && a.txn.appId === cloneAppId(snap.metadata.id));
  return txn && 'txn' in txn ? txn.txn.version : fallback;
}

const norm = (u: string) => u.replace(/\/+$/, '');
const EGRESS_PREFIX = egressAppIdFor('');

/** The regions whose egress wrote main (their txn app ids on main). */
const egressRegionsOf = (txns: Iterable<string>): string[] =>
  [...txns]
    .filter((a) => a.startsWith(EGRESS_PREFIX))
    .map((a) => a.slice(EGRESS_PREFIX.length))
    .sort();

function sidePlan(
  table: string,
  deletes: string,
  p: Awaited<ReturnType<typeof deletePreview>>,
): ForkSidePlan {
  return {
    table,
    version: p.version,
    deletes,
    filesTotal: p.filesTotal,
    filesToRemove: p.filesToRemove,
    filesToRewrite: p.filesToRewrite,
    rowsTotal: p.rowsTotal,
    rowsToDelete: p.rowsToDelete,
    rowsKept: p.rowsTotal - p.rowsToDelete,
  };
}

/** Every fork activity heartbeats while it runs: a delete or a check reports no progress. */
export const createForkActivities = (deps: ForkDeps) =>
  allBeating({
    /**
     * Checks the input against main (the subset binds to its schema, the lineage keys exist) and plans
     * step 2's routing. `baseRoutes`: the routes from config, used when no routing was ever published.
     */
    async planForkRouting(req: { input: ForkInput; baseRoutes?: Route[] }): Promise<ForkRoutingPlan> {
      const { input } = req;
      if (norm(input.main) === norm(input.fork))
        throw new TributaryError(
          'BAD_INPUT',
          `fork ${input.name}: the fork target is main itself (${input.main})`,
        );
      const main = await deps.open(input.main);
      const snap = await loadSnapshotOrUndefined(main, defaultEngine);
      if (!snap) throw new TributaryError('NOT_FOUND', `fork ${input.name}: no Delta table at ${main.url}`);
      ensureKeyColumns(snap, main.url);
      bindPredicate(input.subset, snap); // BAD_INPUT naming the column or the syntax error
      const regions = input.regions ?? egressRegionsOf(snap.txns.keys());
      const live = await readRouting(main);
      const current = live?.routes ?? req.baseRoutes ?? [];
      const mine = forkRoute(input);
      const at = current.findIndex((r) => norm(r.table) === norm(mine.table));
      if (at >= 0 && current[at]!.predicate !== mine.predicate)
        throw new TributaryError(
          'BAD_INPUT',
          `fork ${input.name}: the live routing (version ${live?.version ?? 0}) already routes ${JSON.stringify(current[at]!.predicate)} to ${mine.table}, not the subset ${JSON.stringify(mine.predicate)}`,
        );
      if (at >= 0 && live)
        return { regions, expected: live.version, routes: current, publishedVersion: live.version };
      return { regions, expected: live?.version ?? 0, routes: [mine, ...current] };
    },

    /** Publishes the planned routes (a retry with the same routes is `unchanged`); the version now live. */
    async publishForkRouting(req: {
      main: string;
      routes: Route[];
      expected: number;
      publishedBy: string;
      reason: string;
    }): Promise<{ version: number; published: boolean }> {
      const main = await deps.open(req.main);
      const r = await publishRouting(main, req);
      if (!sameRoutes(r.routing.routes, req.routes))
        throw new TributaryError(
          'COMMIT_CONFLICT',
          `routing of ${req.main} changed while publishing; re-plan`,
        );
      Context.current().log.info('fork routing', {
        table: req.main,
        version: r.routing.version,
        kind: r.kind,
      });
      return { version: r.routing.version, published: r.kind === 'published' };
    },

    /**
     * Whether main already holds this fork's DELETE of the subset after the fork's recorded clone version (a
     * fork started again after a cancel between the deletes): then cloning again would replay that delete
     * onto the fork, so the workflow must go straight to the deletes.
     */
    async forkResumePoint(req: {
      main: string;
      fork: string;
      subset: string;
    }): Promise<{ mainDeletedAt?: number }> {
      const [main, fork] = await Promise.all([deps.open(req.main), deps.open(req.fork)]);
      const [m, f] = await Promise.all([
        loadSnapshotOrUndefined(main, defaultEngine),
        loadSnapshotOrUndefined(fork, defaultEngine),
      ]);
      const cloned = m && f ? f.txnVersion(cloneAppId(m.metadata.id)) : undefined;
      if (!m || cloned === undefined) return {};
      const predicate = JSON.stringify([toDuckDbSql(bindPredicate(req.subset, m))]);
      for await (const c of readCommitRange(main, cloned + 1, m.version))
        for (const a of c.actions)
          if (
            'commitInfo' in a &&
            a.commitInfo.operation === 'DELETE' &&
            a.commitInfo.operationParameters?.predicate === predicate
          )
            return { mainDeletedAt: c.version };
      return {};
    },

    /** Each region's acknowledged routing version (null: none yet). */
    async readForkAcks(req: { main: string; regions: string[] }): Promise<Record<string, number | null>> {
      const acks = await readRoutingAcks(await deps.open(req.main), req.regions);
      return Object.fromEntries([...acks].map(([r, a]) => [r, a?.routingVersion ?? null]));
    },

    /** Step 4's dry run: what deleting the subset from main and everything else from the fork would do. */
    async planForkDelete(req: {
      main: string;
      fork: string;
      subset: string;
      number: number;
      routingVersion: number;
    }): Promise<ForkPlan> {
      const [main, fork] = await Promise.all([deps.open(req.main), deps.open(req.fork)]);
      const [m, f] = await Promise.all([
        deletePreview(main, req.subset),
        deletePreview(fork, req.subset, defaultEngine, { complement: true }),
      ]);
      const plan: Omit<ForkPlan, 'id' | 'madeAt'> = {
        routingVersion: req.routingVersion,
        main: sidePlan(req.main, req.subset, m),
        fork: sidePlan(req.fork, `(${req.subset}) IS NOT TRUE`, f),
      };
      const hash = createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 10);
      return { id: `p${req.number}-${hash}`, madeAt: new Date().toISOString(), ...plan };
    },

    /** Deletes the subset from main, or (complement) everything but the subset from the fork. */
    async deleteForkSide(req: {
      table: string;
      subset: string;
      complement: boolean;
    }): Promise<ForkDeleteSummary> {
      const store = await deps.open(req.table);
      const r = await deleteWhere(store, req.subset, defaultEngine, { complement: req.complement });
      Context.current().log.info('fork delete', {
        table: req.table,
        version: r.version,
        rows: r.deletedRows,
      });
      return {
        table: req.table,
        version: r.version,
        deletedRows: r.deletedRows,
        removedFiles: r.removedFiles,
        addedFiles: r.addedFiles,
      };
    },

    async verifyFork(req: {
      main: string;
      fork: string;
      subset: string;
      baseVersion: number;
    }): Promise<ForkVerification> {
      const [main, fork] = await Promise.all([deps.open(req.main), deps.open(req.fork)]);
      return checkFork(main, fork, {
        subset: req.subset,
        baseVersion: await forkBaseVersion(main, fork, req.baseVersion),
      });
    },
  });

export type ForkActivities = ReturnType<typeof createForkActivities>;
