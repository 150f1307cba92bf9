/** Config → the plain inputs workflows carry, and store options for workers. */
import type { EgressTarget } from '../shapes/targets';
import type { IngestTarget, MaintainTarget, ReplicaTarget, TableReader } from '../shapes/targets';
import { egressQuarantineUrlOf } from '../shapes/targets';
import { TributaryError } from '../lake/errors';
import type { StoreOptions } from '../lake/storage/open';
import { checkEndpoint } from '../lake/storage/url';
import { DEFAULT_TASK_QUEUE, taskQueueFor } from '../shapes/queues';
import {
  type Config,
  type MaintenanceConfig,
  type RegionConfig,
  type ReplicaConfig,
  parseBytes,
} from './schema';

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

/** One table's maintenance Schedule: what it maintains, where it runs, and the region owning it (if any). */
export interface MaintainEntry {
  target: MaintainTarget;
  taskQueue: string;
  /** The region whose compute runs it (compute failover moves it with the region). */
  region?: string;
}

/**
 * Every table the config names, each with the pipelines that read it incrementally: a regional table is
 * read by its region's egress (when there is a central table) and by replicas of it; every other table
 * only by replicas of it. Empty without a `maintenance:` section.
 */
export function maintainEntriesOf(config: Config): MaintainEntry[] {
  const m = config.maintenance;
  if (!m) return [];
  const norm = (u: string) => u.replace(/\/+$/, '');
  const replicaReaders = (table: string): TableReader[] =>
    config.replicate
      .filter((e) => norm(e.source) === norm(table))
      .map((e) => ({ kind: 'replica', name: e.name, target: e.target }));
  const entry = (
    name: string,
    table: string,
    taskQueue: string,
    readers: TableReader[],
    region?: string,
  ): MaintainEntry => ({
    target: { name, table, ...maintainSteps(m), readers: [...readers, ...replicaReaders(table)] },
    taskQueue,
    ...(region !== undefined ? { region } : {}),
  });
  const out: MaintainEntry[] = [];
  for (const r of config.regions) {
    const egress: TableReader[] = config.central
      ? [{ kind: 'egress', region: r.name, central: config.central.table }]
      : [];
    out.push(entry(`${r.name}-regional`, r.table, taskQueueOf(r), egress, r.name));
    out.push(entry(`${r.name}-quarantine`, quarantineUrlOf(r), taskQueueOf(r), [], r.name));
  }
  if (config.central) {
    const q = m.taskQueue ?? taskQueueOf(config.regions[0]!);
    out.push(entry('central', config.central.table, q, []));
    out.push(
      entry(
        'central-quarantine',
        egressQuarantineUrlOf({ central: config.central.table, quarantine: config.central.quarantine }),
        q,
        [],
      ),
    );
    (config.central.routes ?? []).forEach((rt, i) => out.push(entry(`route-${i}`, rt.table, q, [])));
  }
  for (const e of config.replicate)
    out.push(entry(`replica-${e.name}`, e.target, replicaQueueOf(config, e), [], e.region));
  return out;
}

function maintainSteps(m: MaintenanceConfig): Omit<MaintainTarget, 'name' | 'table' | 'readers'> {
  return {
    optimize: m.optimize,
    ...(m.targetFileSize !== undefined ? { targetFileSize: parseBytes(m.targetFileSize) } : {}),
    checkpoint: m.checkpoint,
    logCleanup: m.logCleanup,
    vacuum: m.vacuum,
  };
}
