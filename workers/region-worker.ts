/**
 * The worker for one task queue (one region, or any queue): polls it and runs every Tributary workflow
 * and activity. Data location does not matter: stores are opened from the URLs a workflow passes.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { createFailoverActivities } from '../activities/failover';
import { createCloneActivities } from '../activities/clone';
import { createHealthActivities } from '../activities/health';
import { createEgressActivities } from '../activities/egress';
import { createForkActivities } from '../activities/fork';
import { createIngestActivities } from '../activities/ingest';
import { createMaintainActivities } from '../activities/maintain';
import { createPromoteActivities } from '../activities/promote';
import { type PipelineMetrics, countRetries, noMetrics } from '../activities/metrics';
import type { ObjectStore } from '../lake/storage/object-store';
import type { TemporalSettings } from '../config/temporal';
import { type StoreOptions, openStore } from '../lake/storage/open';
import { type CreatedWorker, createWorker } from './worker';

/** Opens each store URL once per worker process and reuses it. */
export function storeOpener(options: StoreOptions): (url: string) => Promise<ObjectStore> {
  const cache = new Map<string, Promise<ObjectStore>>();
  return (url) => {
    let s = cache.get(url);
    if (!s) {
      s = openStore(url, options);
      s.catch(() => cache.delete(url));
      cache.set(url, s);
    }
    return s;
  };
}

/**
 * Every activity a Tributary worker runs. `open` overrides how stores are opened (default storeOpener);
 * `temporal` gives the compute-failover and promotion activities their Temporal Client (they move, pause
 * and rewrite Schedules and runs); without it those activities refuse to run, the others work. `metrics`
 * receives the pipeline steps' results and every retried attempt (default: nowhere).
 */
export function tributaryActivities(
  options: StoreOptions,
  deps: {
    temporal?: () => Client;
    open?: (url: string) => Promise<ObjectStore>;
    metrics?: PipelineMetrics;
  } = {},
) {
  const open = deps.open ?? storeOpener(options);
  const metrics = deps.metrics ?? noMetrics;
  return countRetries(
    {
      ...createHealthActivities({}),
      ...createIngestActivities({ open, metrics }),
      ...createEgressActivities({ open, metrics }),
      ...createFailoverActivities(deps.temporal ? { temporal: deps.temporal } : {}),
      ...createCloneActivities({ open, metrics }),
      ...createPromoteActivities({ open, ...(deps.temporal ? { temporal: deps.temporal } : {}) }),
      ...createForkActivities({ open }),
      ...createMaintainActivities({ open, metrics }),
    },
    metrics,
  );
}

export async function createRegionWorker(opts: {
  /** An address (plaintext) or full settings (TLS, API key), when no connection is given. */
  address?: string | TemporalSettings;
  connection?: NativeConnection;
  namespace?: string;
  taskQueue: string;
  storeOptions: StoreOptions;
  /** How the worker's activities open stores (default: storeOpener(storeOptions)). */
  open?: (url: string) => Promise<ObjectStore>;
  /** Where the activities report pipeline metrics (default: nowhere; see workers/metrics.ts). */
  metrics?: PipelineMetrics;
  workflowBundle?: { code: string };
}): Promise<CreatedWorker> {
  const namespace = opts.namespace ?? 'default';
  // The Client shares the worker's connection (a NativeConnection is a client connection too), made on
  // first use, once the worker exists.
  const made: { worker?: CreatedWorker } = {};
  let client: Client | undefined;
  const temporal = () => (client ??= new Client({ connection: made.worker!.connection, namespace }));
  const common = {
    namespace,
    taskQueue: opts.taskQueue,
    activities: tributaryActivities(opts.storeOptions, {
      temporal,
      ...(opts.open ? { open: opts.open } : {}),
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
    }),
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
  };
  made.worker = await (opts.connection
    ? createWorker({ ...common, connection: opts.connection })
    : createWorker({ ...common, address: opts.address ?? '127.0.0.1:7233' }));
  return made.worker;
}
