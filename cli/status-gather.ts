/**
 * What `tributary status` shows, gathered: per region its ingest backlog, last ingest, quarantined lines of
 * the last day, egress lag, Schedules and pollers; per `replicate:` entry its lag and Schedule. Every part
 * is read on its own and a failure (a store or Temporal unreachable, refused credentials) becomes an error
 * of that region's row, redacted, while the other parts and regions are still shown.
 *
 * Where the facts come from:
 * - last ingest: the regional table's Delta history (the newest commit whose commitInfo names the region's
 *   ingest app id), else the table's `txn` of that app id. The table is the truth: a run started by hand
 *   counts, a run that committed nothing does not, and it outlives Temporal's history retention. The
 *   Schedule's last start is shown beside it (`lastRunAt`), which says a run started, not that it succeeded.
 * - last egress: central's `txn(tributary-egress-<region>)` (the source version taken, and when), with the
 *   central version of that commit from central's history.
 * - backlog: the ingest planner's own listing (activities/ingest/plan.ts `ingestBacklog`), read-only.
 */
import type { Client } from '@temporalio/client';
import { ingestBacklog, type IngestBacklog } from '../activities/ingest/plan';
import type { Config, RegionConfig, ReplicaConfig } from '../config/schema';
import { ingestTargetOf, quarantineUrlOf, replicaQueueOf, taskQueueOf } from '../config/targets';
import { eachLimit } from '../lake/each-limit';
import { isTributaryError } from '../lake/errors';
import { excerpt } from '../lake/redact';
import type { ObjectStore } from '../lake/storage/object-store';
import { replicaStatus } from '../lake/table/clone-status';
import { defaultEngine, loadSnapshotOrUndefined } from '../lake/table/operations';
import { consumerLag, countRowsSince, historyOrEmpty, lastCommitBy } from '../lake/table/progress';
import { scheduleIds } from '../shapes/queues';
import { appIdFor, egressAppIdFor } from '../shapes/targets';
import { scheduleFacts } from './schedule-facts';

/** The version of the `--json` shape; bumped only when a field changes meaning or goes away. */
export const STATUS_SHAPE_VERSION = 1;

export interface StatusError {
  /** The part that could not be read: backlog, ingest, quarantine, egress, schedules, workers, replica. */
  section: string;
  /** Redacted, one line. */
  message: string;
}

export interface LastIngest {
  /** The regional table version of the commit (null: older than the history searched; `at` from its txn). */
  version: number | null;
  at: string;
  /** The ingest batch sequence. */
  batch: number;
  /** Rows and quarantined lines of that batch (null: not recorded). */
  rows: number | null;
  quarantined: number | null;
}

export interface EgressStatus {
  /** The source version central records as taken (-1: none yet). */
  sourceVersion: number;
  /** The regional table's latest version (null: no table yet). */
  latestSourceVersion: number | null;
  lagVersions: number;
  /** Age of the oldest source commit not yet in central (0 when up to date). */
  lagSeconds: number;
  /** When central recorded `sourceVersion` (null: nothing egressed yet). */
  at: string | null;
  /** Central's version of that commit (null: not egressed, or older than the history searched). */
  centralVersion: number | null;
}

export interface ScheduleState {
  id: string;
  /** unknown: Temporal did not answer (see errors). */
  state: 'active' | 'paused' | 'missing' | 'unknown';
  taskQueue: string | null;
  /** The next time it starts a run (null: paused, missing, or none scheduled). */
  nextRunAt: string | null;
  /** When the Schedule last started a run (not whether that run succeeded). */
  lastRunAt: string | null;
}

export interface QueueStatus {
  taskQueue: string;
  /** Pollers seen within the last POLLER_RECENT_MS. */
  workflowPollers: number;
  activityPollers: number;
  polled: boolean;
  /** The newest poll of either kind (null: none the server remembers). */
  lastPollAt: string | null;
}

export interface RegionStatus {
  region: string;
  cloud: string;
  table: string;
  taskQueue: string;
  /** Regional table version (null: no table yet, or unreadable). */
  tableVersion: number | null;
  backlog: IngestBacklog | null;
  lastIngest: LastIngest | null;
  /** Quarantine rows whose _ingested_at is within the last 24 h. */
  quarantinedLastDay: number | null;
  egress: EgressStatus | null;
  schedules: ScheduleState[];
  workers: QueueStatus | null;
  errors: StatusError[];
}

export interface ReplicaRow {
  name: string;
  source: string;
  target: string;
  region: string | null;
  taskQueue: string;
  /** Latest source version (null: no source table). */
  sourceVersion: number | null;
  /** The source version the replica records (null: none yet). */
  recordedSourceVersion: number | null;
  lagVersions: number | null;
  lagSeconds: number | null;
  lastCloneAt: string | null;
  schedule: ScheduleState;
  workers: QueueStatus | null;
  errors: StatusError[];
}

export interface StatusReport {
  shape: typeof STATUS_SHAPE_VERSION;
  at: string;
  temporal: { address: string; namespace: string; error: string | null };
  central: { table: string; version: number | null; error: string | null } | null;
  regions: RegionStatus[];
  replicas: ReplicaRow[];
}

export interface StatusDeps {
  config: Config;
  /** Opens a store (the caller caches them across refreshes). */
  open(url: string): Promise<ObjectStore>;
  /** The Temporal client; rejects when Temporal cannot be reached (each row says so). */
  temporal(): Promise<{ client: Client; namespace: string }>;
  /** For the header: where Temporal is. */
  temporalAt: { address: string; namespace: string };
  now?: number;
}

/** Regions (and replicas) read at the same time. */
export const STATUS_CONCURRENCY = 4;
/** A part that has not answered by then is shown as an error (an unreachable store retries for long). */
export const SECTION_TIMEOUT_MS = 30_000;
/** A poller seen this recently counts as a worker on the queue (a live worker polls about every minute). */
export const POLLER_RECENT_MS = 120_000;
/** Newest commits searched for the last ingest (regional) and the last egress (central). */
const REGIONAL_HISTORY = 20;
const CENTRAL_HISTORY = 100;
const DAY_MS = 86_400_000;

/** An error as a row shows it: code and message, redacted and on one line. */
export function errorText(e: unknown): string {
  const code = isTributaryError(e) ? `${e.code}: ` : '';
  return excerpt(`${code}${(e as Error)?.message ?? String(e)}`);
}

async function bounded<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what}: no answer within ${SECTION_TIMEOUT_MS / 1000} s`)),
          SECTION_TIMEOUT_MS,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

const num = (v: unknown): number | null => {
  const n = Number(v);
  return v === undefined || v === null || !Number.isFinite(n) ? null : n;
};

/** google.protobuf.Timestamp → ms (seconds may be a Long). */
const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | null =>
  t ? Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : null;

/** Per refresh: each Schedule and queue is asked once, whichever rows show it. */
class TemporalFacts {
  private schedules = new Map<string, Promise<ScheduleState>>();
  private queues = new Map<string, Promise<QueueStatus>>();
  constructor(
    private readonly conn: Promise<{ client: Client; namespace: string }>,
    private readonly now: number,
  ) {}

  schedule(id: string): Promise<ScheduleState> {
    if (!this.schedules.has(id)) this.schedules.set(id, bounded(`schedule ${id}`, this.describe(id)));
    return this.schedules.get(id)!;
  }

  queue(name: string): Promise<QueueStatus> {
    if (!this.queues.has(name)) this.queues.set(name, bounded(`task queue ${name}`, this.pollers(name)));
    return this.queues.get(name)!;
  }

  private async describe(id: string): Promise<ScheduleState> {
    const f = await scheduleFacts((await this.conn).client, id);
    if (!f) return { id, state: 'missing', taskQueue: null, nextRunAt: null, lastRunAt: null };
    return {
      id,
      state: f.paused ? 'paused' : 'active',
      taskQueue: f.taskQueue,
      nextRunAt: iso(f.nextRunAt?.getTime()),
      lastRunAt: iso(f.lastRunAt?.getTime()),
    };
  }

  private async pollers(taskQueue: string): Promise<QueueStatus> {
    const { client, namespace } = await this.conn;
    const ask = (taskQueueType: number) =>
      client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
    // 1: TASK_QUEUE_TYPE_WORKFLOW, 2: TASK_QUEUE_TYPE_ACTIVITY.
    const [wf, act] = await Promise.all([ask(1), ask(2)]);
    const times = (r: typeof wf) => (r.pollers ?? []).map((p) => tsMs(p.lastAccessTime) ?? 0);
    const recent = (ts: number[]) => ts.filter((t) => this.now - t <= POLLER_RECENT_MS).length;
    const all = [...times(wf), ...times(act)];
    const workflowPollers = recent(times(wf));
    const activityPollers = recent(times(act));
    return {
      taskQueue,
      workflowPollers,
      activityPollers,
      polled: workflowPollers + activityPollers > 0,
      lastPollAt: all.length ? iso(all.reduce((a, b) => Math.max(a, b))) : null,
    };
  }
}

const unknownSchedule = (id: string): ScheduleState => ({
  id,
  state: 'unknown',
  taskQueue: null,
  nextRunAt: null,
  lastRunAt: null,
});

/** Runs one part of a row; a failure goes into `errors` and the part is null. */
async function part<T>(errors: StatusError[], section: string, fn: () => Promise<T>): Promise<T | null> {
  try {
    return await bounded(section, fn());
  } catch (e) {
    errors.push({ section, message: errorText(e) });
    return null;
  }
}

type CentralFacts = {
  snap: Awaited<ReturnType<typeof loadSnapshotOrUndefined>>;
  history: Awaited<ReturnType<typeof historyOrEmpty>>;
};

async function regionStatus(
  deps: StatusDeps,
  r: RegionConfig,
  central: Promise<CentralFacts> | undefined,
  temporal: TemporalFacts,
  now: number,
): Promise<RegionStatus> {
  const errors: StatusError[] = [];
  const config = deps.config;
  const scheduleIdsOf = [
    scheduleIds.ingest(r.name),
    ...(config.central ? [scheduleIds.egress(r.name)] : []),
    ...config.replicate.filter((e) => e.region === r.name).map((e) => scheduleIds.replicate(e.name)),
  ];
  const [backlog, ingest, quarantinedLastDay, egress, schedules, workers] = await Promise.all([
    part(errors, 'backlog', () => ingestBacklog({ open: deps.open }, ingestTargetOf(r))),
    part(errors, 'ingest', async () => {
      const table = await deps.open(r.table);
      const snap = await loadSnapshotOrUndefined(table, defaultEngine);
      if (!snap) return { tableVersion: null, lastIngest: null };
      const appId = appIdFor(r.name);
      const txn = snap.txns.get(appId);
      if (!txn) return { tableVersion: snap.version, lastIngest: null };
      const h = lastCommitBy(await historyOrEmpty(table, REGIONAL_HISTORY), appId);
      const p = (h?.operationParameters ?? {}) as Record<string, unknown>;
      const lastIngest: LastIngest = {
        version: h?.version ?? null,
        at: iso(h?.timestamp ?? txn.lastUpdated ?? null) ?? '',
        batch: num(p.batch) ?? txn.version,
        rows: num(p.rows),
        quarantined: num(p.quarantined),
      };
      return { tableVersion: snap.version, lastIngest };
    }),
    part(errors, 'quarantine', async () =>
      countRowsSince(await deps.open(quarantineUrlOf(r)), '_ingested_at', new Date(now - DAY_MS)),
    ),
    central
      ? part(errors, 'egress', async (): Promise<EgressStatus> => {
          const c = await central;
          const appId = egressAppIdFor(r.name);
          const txn = c.snap?.txns.get(appId);
          const lag = await consumerLag(await deps.open(r.table), txn?.version, now);
          return {
            sourceVersion: lag.recordedVersion,
            latestSourceVersion: lag.latestVersion,
            lagVersions: lag.lagVersions,
            lagSeconds: lag.lagSeconds,
            at: iso(txn?.lastUpdated ?? null),
            centralVersion: txn ? (lastCommitBy(c.history, appId)?.version ?? null) : null,
          };
        })
      : Promise.resolve(null),
    Promise.all(
      scheduleIdsOf.map(
        async (id) => (await part(errors, 'schedules', () => temporal.schedule(id))) ?? unknownSchedule(id),
      ),
    ),
    part(errors, 'workers', () => temporal.queue(taskQueueOf(r))),
  ]);
  return {
    region: r.name,
    cloud: r.cloud,
    table: r.table,
    taskQueue: taskQueueOf(r),
    tableVersion: ingest?.tableVersion ?? null,
    backlog,
    lastIngest: ingest?.lastIngest ?? null,
    quarantinedLastDay,
    egress,
    schedules,
    workers,
    errors: dedupe(errors),
  };
}

const SECTION_ORDER = ['backlog', 'ingest', 'quarantine', 'egress', 'replica', 'schedules', 'workers'];

/**
 * A row's errors in section order, whichever failed first; one Temporal outage fails every Schedule of a
 * row the same way: said once.
 */
const dedupe = (errors: StatusError[]): StatusError[] =>
  errors
    .filter((e, i) => errors.findIndex((x) => x.section === e.section && x.message === e.message) === i)
    .sort((a, b) => SECTION_ORDER.indexOf(a.section) - SECTION_ORDER.indexOf(b.section));

async function replicaRow(
  deps: StatusDeps,
  e: ReplicaConfig,
  temporal: TemporalFacts,
  now: number,
): Promise<ReplicaRow> {
  const errors: StatusError[] = [];
  const taskQueue = replicaQueueOf(deps.config, e);
  const id = scheduleIds.replicate(e.name);
  const [s, schedule, workers] = await Promise.all([
    part(errors, 'replica', async () =>
      replicaStatus(await deps.open(e.source), await deps.open(e.target), { now }),
    ),
    part(errors, 'schedules', () => temporal.schedule(id)),
    part(errors, 'workers', () => temporal.queue(taskQueue)),
  ]);
  return {
    name: e.name,
    source: e.source,
    target: e.target,
    region: e.region ?? null,
    taskQueue,
    sourceVersion: s?.sourceVersion ?? null,
    recordedSourceVersion: s?.recordedSourceVersion ?? null,
    lagVersions: s?.lagVersions ?? null,
    lagSeconds: s?.lagSeconds ?? null,
    lastCloneAt: s?.lastCloneAt ?? null,
    schedule: schedule ?? unknownSchedule(id),
    workers,
    errors: dedupe(errors),
  };
}

/** Everything `tributary status` shows, read now; never throws for a store or Temporal that fails. */
export async function gatherStatus(deps: StatusDeps): Promise<StatusReport> {
  const now = deps.now ?? Date.now();
  const config = deps.config;
  const conn = deps.temporal();
  const temporalError = conn.then(
    () => null,
    (e: unknown) => errorText(e),
  );
  const temporal = new TemporalFacts(conn, now);
  const central = config.central
    ? bounded(
        'central',
        (async (): Promise<CentralFacts> => {
          const store = await deps.open(config.central!.table);
          const [snap, history] = await Promise.all([
            loadSnapshotOrUndefined(store, defaultEngine),
            historyOrEmpty(store, CENTRAL_HISTORY),
          ]);
          return { snap, history };
        })(),
      )
    : undefined;
  central?.catch(() => {}); // each region reports it
  const regions: RegionStatus[] = new Array(config.regions.length);
  const replicas: ReplicaRow[] = new Array(config.replicate.length);
  await Promise.all([
    eachLimit(config.regions, STATUS_CONCURRENCY, async (r, i) => {
      regions[i] = await regionStatus(deps, r, central, temporal, now);
    }),
    eachLimit(config.replicate, STATUS_CONCURRENCY, async (e, i) => {
      replicas[i] = await replicaRow(deps, e, temporal, now);
    }),
  ]);
  let centralRow: StatusReport['central'] = null;
  if (config.central && central) {
    const c = await central.then(
      (x) => ({ version: x.snap?.version ?? null, error: null }),
      (e: unknown) => ({ version: null, error: errorText(e) }),
    );
    centralRow = { table: config.central.table, ...c };
  }
  return {
    shape: STATUS_SHAPE_VERSION,
    at: new Date(now).toISOString(),
    temporal: {
      ...deps.temporalAt,
      error: await temporalError,
    },
    central: centralRow,
    regions,
    replicas,
  };
}
