/**
 * The live egress routing on storage (see shapes/routing.ts): versions under the default table's
 * `_tributary/routing/`, published with create-if-absent so two publishers never both win a version, and
 * each region's acknowledgement of the version it applied.
 */
import { TributaryError, isTributaryError } from '../../lake/errors';
import { parseVersion } from '../../lake/delta/log-path';
import type { ObjectStore } from '../../lake/storage/object-store';
import { readStateJson } from '../state-files';
import {
  ROUTING_PREFIX,
  type Route,
  type RoutingAck,
  type RoutingBatch,
  type RoutingVersion,
  routingAckKey,
  routingBatchKey,
  routingKey,
  sameRoutes,
} from '../../shapes/routing';

const readJson = <T>(store: ObjectStore, key: string): Promise<T> =>
  readStateJson<T>(store, key, 'routing file');

/** The newest published routing version, or undefined when none was ever published. */
export async function readRouting(store: ObjectStore): Promise<RoutingVersion | undefined> {
  let newest = -1;
  for await (const m of store.list(`${ROUTING_PREFIX}routing-`)) {
    const d = /routing-(\d{20})\.json$/.exec(m.key);
    if (d) newest = Math.max(newest, parseVersion(d[1]!, `routing file ${m.key}`, 'INVALID_LOG'));
  }
  return newest < 0 ? undefined : readRoutingVersion(store, newest);
}

export async function readRoutingVersion(store: ObjectStore, version: number): Promise<RoutingVersion> {
  try {
    return await readJson<RoutingVersion>(store, routingKey(version));
  } catch (e) {
    if (isTributaryError(e, 'NOT_FOUND'))
      throw new TributaryError('NOT_FOUND', `${store.url} has no egress routing version ${version}`, {
        cause: e,
      });
    throw e;
  }
}

export type PublishResult =
  | { kind: 'published'; routing: RoutingVersion }
  /** The newest version already has these routes: nothing was published. */
  | { kind: 'unchanged'; routing: RoutingVersion };

/**
 * Publishes `routes` as the next routing version, after `expected` (the version the caller planned
 * against; undefined: whatever is newest). When another publisher got there first with other routes, this
 * fails (COMMIT_CONFLICT) rather than overwrite their decision; with the same routes it is a no-op, so a
 * retried publish is safe.
 */
export async function publishRouting(
  store: ObjectStore,
  req: { routes: Route[]; publishedBy: string; reason?: string; expected?: number },
): Promise<PublishResult> {
  const current = await readRouting(store);
  if (current && sameRoutes(current.routes, req.routes)) return { kind: 'unchanged', routing: current };
  const base = current?.version ?? 0;
  if (req.expected !== undefined && req.expected !== base)
    throw new TributaryError(
      'COMMIT_CONFLICT',
      `egress routing of ${store.url} is at version ${base}, not ${req.expected} as planned: another change was published; re-plan`,
      { retryable: false },
    );
  const routing: RoutingVersion = {
    version: base + 1,
    routes: req.routes,
    publishedAt: new Date().toISOString(),
    publishedBy: req.publishedBy,
    ...(req.reason ? { reason: req.reason } : {}),
  };
  try {
    await store.putIfAbsent(routingKey(routing.version), JSON.stringify(routing, null, 2));
    return { kind: 'published', routing };
  } catch (e) {
    if (!isTributaryError(e, 'ALREADY_EXISTS')) throw e;
    const winner = await readRoutingVersion(store, routing.version);
    if (sameRoutes(winner.routes, req.routes)) return { kind: 'unchanged', routing: winner };
    throw new TributaryError(
      'COMMIT_CONFLICT',
      `egress routing version ${routing.version} of ${store.url} was published concurrently by ${winner.publishedBy} with other routes; re-plan`,
      { retryable: false },
    );
  }
}

export async function writeRoutingAck(store: ObjectStore, ack: RoutingAck): Promise<void> {
  await store.put(routingAckKey(ack.region), JSON.stringify(ack));
}

/** Each region's acknowledgement (undefined: that region's egress has not run under any routing yet). */
export async function readRoutingAcks(
  store: ObjectStore,
  regions: readonly string[],
): Promise<Map<string, RoutingAck | undefined>> {
  const out = new Map<string, RoutingAck | undefined>();
  for (const r of regions) {
    try {
      out.set(r, await readJson<RoutingAck>(store, routingAckKey(r)));
    } catch (e) {
      if (!isTributaryError(e, 'NOT_FOUND')) throw e;
      out.set(r, undefined);
    }
  }
  return out;
}

/** The batch in progress of a region (undefined: none recorded). */
export async function readRoutingBatch(
  store: ObjectStore,
  region: string,
): Promise<RoutingBatch | undefined> {
  try {
    return await readJson<RoutingBatch>(store, routingBatchKey(region));
  } catch (e) {
    if (isTributaryError(e, 'NOT_FOUND')) return undefined;
    throw e;
  }
}

export async function writeRoutingBatch(store: ObjectStore, batch: RoutingBatch): Promise<void> {
  await store.put(routingBatchKey(batch.region), JSON.stringify(batch));
}

/** The routes of routing version `version` (0: config's). */
export async function routesOf(
  store: ObjectStore,
  version: number,
  configRoutes: readonly Route[] | undefined,
): Promise<Route[]> {
  return version === 0 ? [...(configRoutes ?? [])] : (await readRoutingVersion(store, version)).routes;
}

export type ConfigRoutingCheck =
  /** No live routing and config has none: nothing to keep consistent. */
  | { kind: 'none' }
  /** The live routing already has config's routes. */
  | { kind: 'unchanged'; routing: RoutingVersion }
  /** No live routing yet: config's routes were published as version 1. */
  | { kind: 'published'; routing: RoutingVersion }
  /** The live routing differs from config (e.g. a fork published one): config must follow it. */
  | { kind: 'differs'; routing: RoutingVersion };

/**
 * `schedules apply`'s rule: config and the live routing must agree, so an older config cannot silently
 * undo a routing a fork rolled out. No live routing → config's routes (if any) become version 1.
 */
export async function reconcileConfigRouting(
  store: ObjectStore,
  configRoutes: readonly Route[],
): Promise<ConfigRoutingCheck> {
  const live = await readRouting(store);
  if (live)
    return sameRoutes(live.routes, configRoutes)
      ? { kind: 'unchanged', routing: live }
      : { kind: 'differs', routing: live };
  if (!configRoutes.length) return { kind: 'none' };
  const r = await publishRouting(store, {
    routes: [...configRoutes],
    publishedBy: 'config',
    reason: 'schedules apply',
    expected: 0,
  });
  return r.kind === 'published' ? r : { kind: 'unchanged', routing: r.routing };
}
