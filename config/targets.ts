/** Config → the plain inputs workflows carry, and store options for workers. */
import type { EgressTarget } from '../shapes/targets';
import type { IngestTarget, ReplicaTarget } from '../shapes/targets';
import { TributaryError } from '../lake/errors';
import type { StoreOptions } from '../lake/storage/open';
import { checkEndpoint } from '../lake/storage/url';
import { DEFAULT_TASK_QUEUE, taskQueueFor } from '../shapes/queues';
import { type Config, type RegionConfig, type ReplicaConfig, parseBytes } from './schema';

export function regionOf(config: Config, name: string): RegionConfig {
  const r = config.regions.find((x) => x.name === name);
  if (!r)
    throw new TributaryError(
      'CONFIG_INVALID',
      `no region ${JSON.stringify(name)} in config (regions: ${config.regions.map((x) => x.name).join(', ')})`,
    );
  return r;
}

export const taskQueueOf = (r: RegionConfig): string => r.taskQueue ?? taskQueueFor(r.name);

/** The quarantine table sits next to the regional table: `<table>_quarantine`. */
export const quarantineUrlOf = (r: RegionConfig): string => `${r.table.replace(/\/+$/, '')}_quarantine`;

export function ingestTargetOf(r: RegionConfig): IngestTarget {
  return {
    region: r.name,
    raw: r.raw,
    table: r.table,
    quarantine: quarantineUrlOf(r),
    maxFilesPerBatch: r.ingest.maxFilesPerBatch,
    maxBytesPerBatch: parseBytes(r.ingest.maxBytesPerBatch),
    maxLineBytes: parseBytes(r.ingest.maxLineBytes),
    eventTimeColumn: r.ingest.eventTimeColumn,
    maxNestingDepth: r.ingest.maxNestingDepth,
    maxNewColumnsPerBatch: r.ingest.maxNewColumnsPerBatch,
    maxColumns: r.ingest.maxColumns,
  };
}

/**
 * Endpoints from config, overridden by TRIBUTARY_*_ENDPOINT (an empty variable counts as unset); an override
 * must be an http(s) URL like the config setting. Credentials stay in the SDK chains.
 */
export function storeOptionsOf(config: Config, env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const o: StoreOptions = {};
  const fromEnv = (name: string) => {
    const v = env[name];
    return v ? checkEndpoint(v, name) : undefined;
  };
  const s3 = fromEnv('TRIBUTARY_S3_ENDPOINT') ?? config.storage.s3?.endpoint;
  if (s3 || config.storage.s3?.region)
    o.s3 = { endpoint: s3, region: config.storage.s3?.region ?? env.AWS_REGION ?? 'us-east-1' };
  const az = fromEnv('TRIBUTARY_AZURE_ENDPOINT') ?? config.storage.azure?.endpoint;
  if (az) o.azure = { endpoint: az };
  const gcs = fromEnv('TRIBUTARY_GCS_ENDPOINT') ?? config.storage.gcs?.endpoint;
  if (gcs) o.gcs = { endpoint: gcs };
  return o;
}

export function egressTargetOf(config: Config, r: RegionConfig): EgressTarget {
  if (!config.central)
    throw new TributaryError(
      'CONFIG_INVALID',
      'config has no central table: add central: { table: … } to egress',
    );
  return {
    region: r.name,
    source: r.table,
    central: config.central.table,
    filter: config.central.filter,
    onChangeCommits: config.central.onChangeCommits,
    maxVersionsPerBatch: config.central.maxVersionsPerBatch,
    maxDeterministicFailures: config.central.maxDeterministicFailures,
    ...(config.central.quarantine ? { quarantine: config.central.quarantine } : {}),
    ...(config.central.columns ? { columns: config.central.columns } : {}),
    ...(config.central.rename ? { rename: config.central.rename } : {}),
    ...(config.central.routes?.length ? { routes: config.central.routes } : {}),
  };
}

export const replicaTargetOf = (e: ReplicaConfig): ReplicaTarget => ({
  name: e.name,
  source: e.source,
  target: e.target,
});

/** The queue a replica's runs go to: its own taskQueue, else its region's queue, else the default queue. */
export function replicaQueueOf(config: Config, e: ReplicaConfig): string {
  if (e.taskQueue) return e.taskQueue;
  if (e.region !== undefined) return taskQueueOf(regionOf(config, e.region));
  return DEFAULT_TASK_QUEUE;
}

/** The `replicate:` entry named `name`. */
export function replicaOf(config: Config, name: string): ReplicaConfig {
  const e = config.replicate.find((x) => x.name === name);
  if (!e)
    throw new TributaryError(
      'CONFIG_INVALID',
      `no replica ${JSON.stringify(name)} in config (replicate: ${config.replicate.map((x) => x.name).join(', ') || 'none'})`,
    );
  return e;
}
