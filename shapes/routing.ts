/**
 * Egress routing: which table each approved row goes to. An ordered list of routes (table URI, predicate
 * in the egress predicate language); a row goes to the first route whose predicate is TRUE (NULL is not a
 * match), else to the default table (the central table). Pure shapes: config, cli, workflows and
 * activities import them.
 *
 * The live routing is durable and versioned, shared by every worker of every region: version N is the
 * object `_tributary/routing/routing-<N, 20 digits>.json` under the default table's root, created once
 * (create-if-absent), never rewritten. No object: version 0, the routes from config.
 */

export interface Route {
  /** The table this route writes (a store URL). */
  table: string;
  /** Rows for which this predicate is TRUE go here (checked in order, before the default). */
  predicate: string;
}

export interface RoutingVersion {
  /** 1, 2, …; 0 is "no live routing: config's routes". */
  version: number;
  routes: Route[];
  /** ISO-8601 time it was published. */
  publishedAt: string;
  /** Who published it: `config` (schedules apply), `fork/<workflow id>`, an operator. */
  publishedBy: string;
  reason?: string;
}

/**
 * What one region's egress last did under a routing version, written beside the routing by egress at the
 * end of every run: a fork's barrier waits until every affected region acknowledges the new version.
 */
export interface RoutingAck {
  region: string;
  appId: string;
  /** The routing version its last batch applied (or under which it found nothing to do). */
  routingVersion: number;
  /** The last source version it has written (under routingVersion or earlier). */
  sourceVersion: number;
  state: 'committed' | 'caughtUp';
  at: string;
}

const pad20 = (v: number) => String(v).padStart(20, '0');
export const ROUTING_PREFIX = '_tributary/routing/';
export const routingKey = (version: number): string => `${ROUTING_PREFIX}routing-${pad20(version)}.json`;
export const routingAckKey = (region: string): string => `${ROUTING_PREFIX}acks/${region}.json`;
/** A region's egress batch in progress: written before its first commit, so a re-plan applies the same routing. */
export const routingBatchKey = (region: string): string => `${ROUTING_PREFIX}batches/${region}.json`;

/**
 * The batch a region's egress is committing under a routing version: source versions from..to. Until
 * central records `to`, a re-plan (after a crash between two target tables' commits) finds it and applies
 * the same routing version to the same source versions, so every target gets each row under one routing.
 */
export interface RoutingBatch {
  region: string;
  from: number;
  to: number;
  routingVersion: number;
  at: string;
}

/** The commitInfo field in which egress records the routing version a commit applied. */
export const ROUTING_VERSION_FIELD = 'tributaryRoutingVersion';

/** Two route lists are the same routing when they name the same tables with the same predicates, in order. */
export const sameRoutes = (a: readonly Route[], b: readonly Route[]): boolean =>
  a.length === b.length &&
  a.every(
    (r, i) =>
      r.table.replace(/\/+$/, '') === b[i]!.table.replace(/\/+$/, '') && r.predicate === b[i]!.predicate,
  );
