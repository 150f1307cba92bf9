/**
 * Prometheus metrics of a worker process: the Temporal SDK's own worker metrics and Tributary's pipeline
 * metrics on one endpoint. installMetricsRuntime must run before any connection or worker exists (the
 * SDK's Runtime is a process-wide singleton); meterMetrics then records on the Runtime's metric meter, so
 * Tributary's metrics come out beside `temporal_*` with the same exporter settings.
 */
import { Runtime } from '@temporalio/worker';
import { TributaryError } from '../lake/errors';
import type {
  EgressLag,
  MaintenanceStepMetrics,
  PipelineMetrics,
  ReplicaLag,
  TableLabels,
} from '../activities/metrics';
import type { CloudTransfer } from '../shapes/targets';

type MetricMeter = Runtime['metricMeter'];
type Tags = Record<string, string>;

/**
 * Every Tributary metric name. Counters are named without `_total`: the exporter adds it
 * (countersTotalSuffix), so `ingestLines` is scraped as `tributary_ingest_lines_total`.
 */
export const METRICS = {
  ingestBatches: 'tributary_ingest_batches',
  ingestFiles: 'tributary_ingest_files',
  ingestBytes: 'tributary_ingest_bytes',
  ingestLines: 'tributary_ingest_lines',
  ingestRows: 'tributary_ingest_rows',
  ingestQuarantined: 'tributary_ingest_quarantined_lines',
  ingestRescued: 'tributary_ingest_rescued_lines',
  ingestDuration: 'tributary_ingest_batch_duration_seconds',
  ingestBacklogFiles: 'tributary_ingest_backlog_files',
  ingestBacklogBytes: 'tributary_ingest_backlog_bytes',
  ingestNewestSource: 'tributary_ingest_newest_source_timestamp_seconds',
  ingestFreshness: 'tributary_ingest_freshness_seconds',
  egressBatches: 'tributary_egress_batches',
  egressFiles: 'tributary_egress_files',
  egressRows: 'tributary_egress_rows',
  egressQuarantined: 'tributary_egress_quarantined_files',
  egressCommitAttempts: 'tributary_egress_commit_attempts',
  egressDuration: 'tributary_egress_batch_duration_seconds',
  egressLagVersions: 'tributary_egress_lag_versions',
  egressLagSeconds: 'tributary_egress_lag_seconds',
  clones: 'tributary_clones',
  cloneBytes: 'tributary_clone_copied_bytes',
  cloneFiles: 'tributary_clone_copied_files',
  cloneDuration: 'tributary_clone_duration_seconds',
  replicaLagVersions: 'tributary_replica_lag_versions',
  replicaLagSeconds: 'tributary_replica_lag_seconds',
  maintenanceSteps: 'tributary_maintenance_steps',
  maintenanceFiles: 'tributary_maintenance_files',
  maintenanceBytes: 'tributary_maintenance_bytes',
  maintenanceDuration: 'tributary_maintenance_step_duration_seconds',
  activityRetries: 'tributary_activity_retries',
  transferBytes: 'tributary_transfer_bytes',
} as const;

/** Batches take from under a second to an hour (a backfill); Prometheus' defaults stop at 10 s. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/**
 * Tries of an optimistic commit: 1 without a race, about the number of concurrent writers under load;
 * the writer gives up after 1000 (lake/delta/transaction.ts).
 */
const ATTEMPT_BUCKETS = [1, 2, 3, 5, 10, 20, 50, 100, 1000];

export interface MetricsEndpoint {
  host: string;
  port: number;
}

/** `host:port` as the exporter binds it (an IPv6 host in brackets). */
export const bindAddressOf = ({ host, port }: MetricsEndpoint): string =>
  `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * Installs the SDK Runtime with a Prometheus exporter on `host:port` (served at /metrics). Throws when a
 * Runtime already exists (a connection was made first), so the mistake cannot go unnoticed.
 */
export function installMetricsRuntime(endpoint: MetricsEndpoint): Runtime {
  try {
    return installRuntime(endpoint);
  } catch (e) {
    // "Address already in use", an address that is not this host's: the operator's option, said so.
    throw new TributaryError(
      'BAD_INPUT',
      `cannot serve metrics on ${bindAddressOf(endpoint)}: ${(e as Error).message}; choose another --metrics-port or --metrics-host`,
      { cause: e },
    );
  }
}

const installRuntime = (endpoint: MetricsEndpoint): Runtime =>
  Runtime.install({
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: bindAddressOf(endpoint),
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: {
            [METRICS.ingestDuration]: DURATION_BUCKETS,
            [METRICS.egressDuration]: DURATION_BUCKETS,
            [METRICS.cloneDuration]: DURATION_BUCKETS,
            [METRICS.maintenanceDuration]: DURATION_BUCKETS,
            [METRICS.egressCommitAttempts]: ATTEMPT_BUCKETS,
          },
        },
      },
    },
  });

const tagsOf = (l: TableLabels): Tags => ({
  ...(l.region !== undefined ? { region: l.region } : {}),
  table: l.table,
});

export interface MeterMetrics extends PipelineMetrics {
  /** Stops refreshing the age gauges. */
  close(): void;
}

/**
 * PipelineMetrics recorded on a Temporal metric meter. Ages (freshness, lag in seconds) are gauges of
 * "now minus an instant": the instant is kept per label set and the gauge refreshed every `tickMs`, so
 * a scrape between two batches still sees the age grow. No method throws: a metrics fault must never
 * fail a step whose commit has landed.
 */
export function meterMetrics(
  meter: MetricMeter,
  opts: { now?: () => number; tickMs?: number } = {},
): MeterMetrics {
  const now = opts.now ?? Date.now;
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(name, unit, description);
  const c = {
    ingestBatches: counter(METRICS.ingestBatches, 'batches', 'Ingest batches committed'),
    ingestFiles: counter(METRICS.ingestFiles, 'files', 'Raw files ingested'),
    ingestBytes: counter(METRICS.ingestBytes, 'bytes', 'Raw bytes ingested'),
    ingestLines: counter(METRICS.ingestLines, 'lines', 'Non-blank raw lines ingested (rows + quarantined)'),
    ingestRows: counter(METRICS.ingestRows, 'rows', 'Rows committed to the regional table'),
    ingestQuarantined: counter(METRICS.ingestQuarantined, 'lines', 'Lines recorded in quarantine'),
    ingestRescued: counter(METRICS.ingestRescued, 'lines', 'Lines with values rescued into _rescued_data'),
    egressBatches: counter(METRICS.egressBatches, 'batches', 'Egress batches committed to central'),
    egressFiles: counter(METRICS.egressFiles, 'files', 'Source data files read by egress'),
    egressRows: counter(METRICS.egressRows, 'rows', 'Approved rows written by egress'),
    egressQuarantined: counter(METRICS.egressQuarantined, 'files', 'Source files put in egress quarantine'),
    clones: counter(METRICS.clones, 'clones', 'Clone runs finished (committed or up to date)'),
    cloneBytes: counter(METRICS.cloneBytes, 'bytes', 'Bytes copied by clones'),
    cloneFiles: counter(METRICS.cloneFiles, 'files', 'Data files copied by clones'),
    maintenanceSteps: counter(METRICS.maintenanceSteps, 'steps', 'Maintenance steps finished, by step'),
    maintenanceFiles: counter(
      METRICS.maintenanceFiles,
      'files',
      'Files a maintenance step removed from or added to the table, or deleted from storage',
    ),
    maintenanceBytes: counter(
      METRICS.maintenanceBytes,
      'bytes',
      'Bytes of the files a maintenance step removed, added or deleted',
    ),
    activityRetries: counter(METRICS.activityRetries, 'attempts', 'Activity attempts after the first'),
    transferBytes: counter(
      METRICS.transferBytes,
      'bytes',
      'Bytes read from a source cloud and written to a target cloud, by pipeline',
    ),
  };
  const transfer = (pipeline: string, t: CloudTransfer | undefined) => {
    if (!t) return;
    const tags = { pipeline, source_cloud: t.from, target_cloud: t.to };
    c.transferBytes.add(t.bytesRead, { ...tags, direction: 'read' });
    c.transferBytes.add(t.bytesWritten, { ...tags, direction: 'written' });
  };
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, 'float', 'seconds', description);
  const h = {
    ingestDuration: seconds(METRICS.ingestDuration, 'Duration of a successful ingest batch'),
    egressDuration: seconds(METRICS.egressDuration, 'Duration of a successful egress batch'),
    cloneDuration: seconds(METRICS.cloneDuration, 'Duration of a successful clone'),
    maintenanceDuration: seconds(METRICS.maintenanceDuration, 'Duration of a successful maintenance step'),
    egressCommitAttempts: meter.createHistogram(
      METRICS.egressCommitAttempts,
      'int',
      'attempts',
      'Tries of the central commit of an egress batch (1: no race lost)',
    ),
  };
  const g = {
    ingestBacklogFiles: meter.createGauge(
      METRICS.ingestBacklogFiles,
      'int',
      'files',
      'Raw files found and not yet planned into a batch',
    ),
    ingestBacklogBytes: meter.createGauge(
      METRICS.ingestBacklogBytes,
      'int',
      'bytes',
      'Bytes of raw files found and not yet planned into a batch',
    ),
    ingestNewestSource: meter.createGauge(
      METRICS.ingestNewestSource,
      'float',
      'seconds',
      'Modification time of the newest raw file queryable in the regional table (Unix time)',
    ),
    ingestFreshness: meter.createGauge(
      METRICS.ingestFreshness,
      'float',
      'seconds',
      'Age of the newest raw file queryable in the regional table',
    ),
    egressLagVersions: meter.createGauge(
      METRICS.egressLagVersions,
      'int',
      'versions',
      'Versions of the regional table central does not reflect yet',
    ),
    egressLagSeconds: meter.createGauge(
      METRICS.egressLagSeconds,
      'float',
      'seconds',
      'Age of the oldest regional commit central does not reflect yet (0: caught up)',
    ),
    replicaLagVersions: meter.createGauge(
      METRICS.replicaLagVersions,
      'int',
      'versions',
      'Source versions the replica does not have yet',
    ),
    replicaLagSeconds: meter.createGauge(
      METRICS.replicaLagSeconds,
      'float',
      'seconds',
      'Age of the oldest source commit the replica does not have yet (0: up to date)',
    ),
  };

  type Gauge = (typeof g)[keyof typeof g];
  const ages = new Map<string, { gauge: Gauge; tags: Tags; since: number }>();
  const setAge = (gauge: Gauge, tags: Tags, since: number | undefined) => {
    const key = `${gauge.name}\u0000${JSON.stringify(tags)}`;
    if (since === undefined) {
      ages.delete(key);
      gauge.set(0, tags);
      return;
    }
    ages.set(key, { gauge, tags, since });
    gauge.set(Math.max(0, (now() - since) / 1000), tags);
  };
  const tick = setInterval(() => {
    for (const a of ages.values()) a.gauge.set(Math.max(0, (now() - a.since) / 1000), a.tags);
  }, opts.tickMs ?? 1000);
  tick.unref();
  /** The newest queryable source file per table: a later batch of older (late) files keeps it. */
  const newest = new Map<string, number>();

  const recorder: PipelineMetrics = {
    ingestPlan(plan, labels) {
      const tags = tagsOf(labels);
      g.ingestBacklogFiles.set(plan.backlogFiles, tags);
      g.ingestBacklogBytes.set(plan.backlogBytes, tags);
    },
    ingestBatch(r, durationMs, labels) {
      const tags = tagsOf(labels);
      c.ingestBatches.add(1, tags);
      c.ingestFiles.add(r.files, tags);
      c.ingestBytes.add(r.bytes, tags);
      c.ingestLines.add(r.lines, tags);
      c.ingestRows.add(r.rows, tags);
      c.ingestQuarantined.add(r.quarantined, tags);
      c.ingestRescued.add(r.rescued, tags);
      h.ingestDuration.record(durationMs / 1000, tags);
      transfer('ingest', r.transfer);
      if (r.newestSourceModified === undefined) return;
      const key = JSON.stringify(tags);
      const at = Math.max(newest.get(key) ?? r.newestSourceModified, r.newestSourceModified);
      newest.set(key, at);
      g.ingestNewestSource.set(at / 1000, tags);
      setAge(g.ingestFreshness, tags, at);
    },
    egressBatch(r, lag: EgressLag, durationMs, labels) {
      const tags = tagsOf(labels);
      g.egressLagVersions.set(lag.versions, tags);
      setAge(g.egressLagSeconds, tags, lag.oldestMissingCommitAt);
      // A call that found central caught up moved nothing: not a batch.
      if (r.commitAttempts === 0 && r.filesRead === 0 && r.rowsEgressed === 0) return;
      c.egressBatches.add(1, tags);
      c.egressFiles.add(r.filesRead, tags);
      c.egressRows.add(r.rowsEgressed, tags);
      c.egressQuarantined.add(r.quarantined?.length ?? 0, tags);
      if (r.commitAttempts > 0) h.egressCommitAttempts.record(r.commitAttempts, tags);
      h.egressDuration.record(durationMs / 1000, tags);
      for (const t of r.transfers ?? []) transfer('egress', t);
    },
    clone(r, durationMs, labels) {
      const tags = tagsOf(labels);
      c.clones.add(1, tags);
      c.cloneBytes.add(r.bytesTransferred, tags);
      c.cloneFiles.add(r.copiedFiles, tags);
      h.cloneDuration.record(durationMs / 1000, tags);
      transfer('clone', r.transfer);
    },
    replicaLag(lag: ReplicaLag, labels) {
      const tags = tagsOf(labels);
      g.replicaLagVersions.set(lag.versions, tags);
      setAge(g.replicaLagSeconds, tags, lag.oldestMissingCommitAt);
    },
    maintenanceStep(m: MaintenanceStepMetrics, durationMs, labels) {
      const tags = { ...tagsOf(labels), step: m.step };
      c.maintenanceSteps.add(1, tags);
      h.maintenanceDuration.record(durationMs / 1000, tags);
      const files = (action: string, n: number | undefined, bytes: number | undefined) => {
        if (n) c.maintenanceFiles.add(n, { ...tags, action });
        if (bytes) c.maintenanceBytes.add(bytes, { ...tags, action });
      };
      files('removed', m.filesRemoved, m.bytesRemoved);
      files('added', m.filesAdded, m.bytesAdded);
      files('deleted', m.filesDeleted, m.bytesDeleted);
    },
    activityRetry(activityType, taskQueue) {
      c.activityRetries.add(1, { activity_type: activityType, task_queue: taskQueue });
    },
  };
  const safe = {} as Record<string, (...args: unknown[]) => void>;
  for (const [name, fn] of Object.entries(recorder) as [string, (...args: unknown[]) => void][])
    safe[name] = (...args) => {
      try {
        fn(...args);
      } catch {
        // Metrics are best effort: the step they describe has already succeeded.
      }
    };
  return { ...(safe as unknown as PipelineMetrics), close: () => clearInterval(tick) };
}
