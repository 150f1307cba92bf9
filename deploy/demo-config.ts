/**
 * The demo deployment: regions spread over AWS, Azure and GCP (each on its local emulator, or on a plain
 * local folder when that emulator is not available), one central table, schedules and a catalog — the
 * same YAML a real deployment uses (config/schema.ts).
 */
import * as path from 'node:path';
import { stringify } from 'yaml';
import { Config } from '../config/schema';

export type Cloud = 'aws' | 'azure' | 'gcp';

/** Regions in the order the demo takes them: the clouds alternate so any count covers all three. */
export const DEMO_REGIONS: readonly { name: string; cloud: Cloud }[] = [
  { name: 'us-east-1', cloud: 'aws' },
  { name: 'westeurope', cloud: 'azure' },
  { name: 'europe-west1', cloud: 'gcp' },
  { name: 'eu-west-1', cloud: 'aws' },
  { name: 'eastus', cloud: 'azure' },
  { name: 'asia-east1', cloud: 'gcp' },
  { name: 'ap-southeast-2', cloud: 'aws' },
  { name: 'japaneast', cloud: 'azure' },
  { name: 'us-central1', cloud: 'gcp' },
];

/** The Azurite development account (published by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';

export interface DemoEndpoints {
  s3?: string;
  azure?: string;
  gcs?: string;
  temporal: string;
}

/** Where a bucket/container of a cloud lives: its emulator when running, else a local folder. */
export function bucketUrl(cloud: Cloud, bucket: string, e: DemoEndpoints, localRoot: string): string {
  if (cloud === 'aws' && e.s3) return `s3://${bucket}`;
  if (cloud === 'azure' && e.azure) return `az://${AZURITE_ACCOUNT}/${bucket}`;
  if (cloud === 'gcp' && e.gcs) return `gs://${bucket}`;
  return `file://${path.join(localRoot, cloud, bucket)}`;
}

export interface DemoLayout {
  config: Config;
  /** `--fork`: the table the fork creates. */
  fork?: string;
  yaml: string;
  /** Every bucket/container the demo needs, by cloud. */
  buckets: { cloud: Cloud; name: string; url: string }[];
}

export function demoLayout(opts: {
  regions: number;
  every: string;
  endpoints: DemoEndpoints;
  localRoot: string;
  /** Files per ingestion batch: small, so a cycle shows several batches. */
  maxFilesPerBatch: number;
  /** `--fork`: a bucket on a third cloud for the table central forks to, named `central.fork`. */
  fork?: boolean;
}): DemoLayout {
  const e = opts.endpoints;
  const buckets: DemoLayout['buckets'] = [];
  const bucket = (cloud: Cloud, name: string) => {
    const url = bucketUrl(cloud, name, e, opts.localRoot);
    buckets.push({ cloud, name, url });
    return url;
  };
  const regions = DEMO_REGIONS.slice(0, opts.regions).map((r) => ({
    name: r.name,
    cloud: r.cloud,
    raw: `${bucket(r.cloud, `raw-${r.name}`)}/logs`,
    table: `${bucket(r.cloud, `lake-${r.name}`)}/regional/logs`,
    ingest: {
      maxFilesPerBatch: opts.maxFilesPerBatch,
      eventTimeColumn: 'ts',
      schedule: { every: opts.every, catchupWindow: '1m' },
    },
  }));
  const central = `${bucket('aws', 'lake-central')}/central/all_logs`;
  // Central's replica lives on another cloud (Azure's emulator, else GCS's, else a local folder), kept
  // up to date by incremental deep clone on a Schedule run by the first region's workers.
  const replicaCloud: Cloud = e.azure ? 'azure' : e.gcs ? 'gcp' : 'azure';
  const replica = `${bucket(replicaCloud, 'lake-central-replica')}/central/all_logs`;
  // The fork target: on GCS's emulator when it runs (central is on S3, its replica on Azure), else Azure's.
  const forkCloud: Cloud = e.gcs ? 'gcp' : 'azure';
  const fork = opts.fork ? `${bucket(forkCloud, 'lake-central-fork')}/central/all_logs_fork` : undefined;
  const raw = {
    temporal: { address: e.temporal, namespace: 'default' },
    storage: {
      ...(e.s3 ? { s3: { endpoint: e.s3, region: 'us-east-1' } } : {}),
      ...(e.azure ? { azure: { endpoint: e.azure } } : {}),
      ...(e.gcs ? { gcs: { endpoint: e.gcs } } : {}),
    },
    regions,
    central: {
      table: central,
      filter: 'egress_approved = true',
      onChangeCommits: 'fail',
      maxVersionsPerBatch: 20,
      schedule: { every: opts.every, catchupWindow: '1m' },
    },
    replicate: [
      {
        name: 'central',
        source: central,
        target: replica,
        region: regions[0]!.name,
        schedule: { every: opts.every, catchupWindow: '1m' },
      },
    ],
    // Every table gets maintenance (OPTIMIZE, checkpoint, log cleanup, VACUUM) on an hourly Schedule; the
    // demo runs central's once at the end. On the last region's queue: with --failover the first's is gone.
    maintenance: {
      schedule: { every: '1h', catchupWindow: '1m' },
      taskQueue: `tributary-${regions.at(-1)!.name}`,
    },
    // central.all_logs, regional.<region> and quarantine.<region> are default catalog names
    // (config/catalog.ts); other tables would be listed here.
    catalog: { 'central.all_logs': central, ...(fork ? { 'central.fork': fork } : {}) },
  };
  return { config: Config.parse(raw), yaml: stringify(raw), buckets, fork };
}
