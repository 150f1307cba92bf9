/**
 * `tributary status`: one screen for the whole deployment, per region (cli/status-gather.ts gathers it).
 * `--json` prints the StatusReport; `--watch [seconds]` refreshes it until Ctrl-C: in place on a terminal,
 * else as successive frames separated by a blank line (with --json: one JSON document per line).
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { storeOptionsOf } from '../config/targets';
import { TributaryError } from '../lake/errors';
import type { ObjectStore } from '../lake/storage/object-store';
import { openStore } from '../lake/storage/open';
import { loadCliConfig } from './config-file';
import { numberOption } from './options';
import {
  type QueueStatus,
  type RegionStatus,
  type ReplicaRow,
  type ScheduleState,
  type StatusReport,
  type StatusError,
  gatherStatus,
} from './status-gather';
import { clientOf, temporalSettingsOfConfig } from './temporal';
import { bytesText } from './units';

export const DEFAULT_WATCH_SECONDS = 5;

/** A duration in the largest unit that keeps it readable: "42 s", "3 min", "5 h", "2 d". */
export function durationText(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** A coming instant, with how soon it is from the report's time. */
const when = (at: string, now: number): string => {
  const d = Date.parse(at) - now;
  return `${at} (${d > 0 ? `in ${durationText(d)}` : `${durationText(d)} ago`})`;
};

/**
 * A past instant, with how long ago it was. The report's time is when gathering began, so what happened
 * while it ran (a poll, say) is "0 s ago", not in the future.
 */
const ago = (at: string, now: number): string =>
  `${at} (${durationText(Math.max(0, now - Date.parse(at)))} ago)`;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const row = (label: string, text: string) => `  ${label.padEnd(12)} ${text}`;

function scheduleText(s: ScheduleState, home: string, now: number): string {
  if (s.state === 'missing') return `${s.id}: MISSING (run 'tributary schedules apply')`;
  if (s.state === 'unknown') return `${s.id}: unknown (Temporal did not answer)`;
  const next = s.nextRunAt ? `next run ${when(s.nextRunAt, now)}` : 'no next run';
  const last = s.lastRunAt ? `, last started ${ago(s.lastRunAt, now)}` : '';
  const queue = s.taskQueue && s.taskQueue !== home ? `, on ${s.taskQueue} (not ${home})` : '';
  return `${s.id}: ${s.state === 'paused' ? 'PAUSED' : `active, ${next}`}${last}${queue}`;
}

function workersText(q: QueueStatus, now: number): string {
  if (!q.polled)
    return `${q.taskQueue}: NO worker polls it${q.lastPollAt ? ` (last poll ${ago(q.lastPollAt, now)})` : ''}`;
  return `${q.taskQueue}: ${plural(q.workflowPollers, 'workflow poller')}, ${plural(q.activityPollers, 'activity poller')}${q.lastPollAt ? ` (last poll ${ago(q.lastPollAt, now)})` : ''}`;
}

/** A row's errors; Temporal's own connection error is printed once, in the header. */
const errorRows = (errors: readonly StatusError[], temporalError: string | null) =>
  errors.map((e) =>
    row(
      'ERROR',
      `${e.section}: ${e.message === temporalError ? 'Temporal not reachable (see above)' : e.message}`,
    ),
  );

function regionText(r: RegionStatus, now: number, temporalError: string | null): string[] {
  const failed = (section: string) => r.errors.some((e) => e.section === section);
  const lines = [
    `region ${r.region} (${r.cloud}): ${r.tableVersion !== null ? `table v${r.tableVersion}` : failed('ingest') ? 'table unreadable' : 'no table yet'} ${r.table}`,
  ];
  if (r.backlog)
    lines.push(
      row(
        'backlog',
        `${plural(r.backlog.files, 'file')}, ${bytesText(r.backlog.bytes)} not ingested (${plural(r.backlog.pendingBatches, 'batch', 'batches')} pending)`,
      ),
    );
  if (!failed('ingest')) {
    const i = r.lastIngest;
    lines.push(
      row(
        'last ingest',
        !i
          ? 'none'
          : `${i.version !== null ? `v${i.version}` : `batch ${i.batch}`} at ${ago(i.at, now)}: batch ${i.batch}` +
              (i.rows !== null ? `, ${plural(i.rows, 'row')}` : '') +
              (i.quarantined !== null ? `, ${i.quarantined} quarantined` : ''),
      ),
    );
  }
  if (r.quarantinedLastDay !== null)
    lines.push(row('quarantine', `${plural(r.quarantinedLastDay, 'line')} in the last 24 h`));
  const e = r.egress;
  if (e)
    lines.push(
      row(
        'egress',
        e.latestSourceVersion === null
          ? 'nothing to egress yet'
          : `${e.sourceVersion < 0 ? 'nothing egressed yet' : `v${e.sourceVersion}`} of v${e.latestSourceVersion} in central` +
              `${e.at ? ` (at ${ago(e.at, now)}${e.centralVersion !== null ? `, central v${e.centralVersion}` : ''})` : ''}` +
              `, lag ${plural(e.lagVersions, 'version')} / ${durationText(e.lagSeconds * 1000)}`,
      ),
    );
  for (const s of r.schedules) lines.push(row('schedule', scheduleText(s, r.taskQueue, now)));
  if (r.workers) lines.push(row('workers', workersText(r.workers, now)));
  lines.push(...errorRows(r.errors, temporalError));
  return lines;
}

function replicaText(x: ReplicaRow, now: number, temporalError: string | null): string[] {
  const lines = [`replica ${x.name}: ${x.source} -> ${x.target}`];
  if (x.lagVersions !== null)
    lines.push(
      row(
        'lag',
        x.sourceVersion === null
          ? 'no source table yet'
          : `${x.recordedSourceVersion === null ? 'nothing cloned yet' : `v${x.recordedSourceVersion}`} of v${x.sourceVersion}, lag ${plural(x.lagVersions, 'version')} / ${durationText((x.lagSeconds ?? 0) * 1000)}` +
              (x.lastCloneAt ? `, last clone ${ago(x.lastCloneAt, now)}` : ''),
      ),
    );
  lines.push(row('schedule', scheduleText(x.schedule, x.taskQueue, now)));
  if (x.workers) lines.push(row('workers', workersText(x.workers, now)));
  lines.push(...errorRows(x.errors, temporalError));
  return lines;
}

/** The report as text: a header, then a block per region and per replica. */
export function renderStatus(s: StatusReport): string {
  const now = Date.parse(s.at);
  const lines = [
    `tributary status at ${s.at}`,
    `temporal ${s.temporal.address} namespace ${s.temporal.namespace}${s.temporal.error ? `: ERROR ${s.temporal.error}` : ''}`,
  ];
  if (s.central)
    lines.push(
      `central ${s.central.table}: ${s.central.error ? `ERROR ${s.central.error}` : s.central.version === null ? 'no table yet' : `v${s.central.version}`}`,
    );
  for (const r of s.regions) lines.push('', ...regionText(r, now, s.temporal.error));
  for (const x of s.replicas) lines.push('', ...replicaText(x, now, s.temporal.error));
  return `${lines.join('\n')}\n`;
}

/** What a refresh reuses: opened stores (their snapshots update incrementally) and one Temporal connection. */
export function statusSession(config: Config): {
  open(url: string): Promise<ObjectStore>;
  temporal(): Promise<{ client: Client; namespace: string }>;
  temporalAt: { address: string; namespace: string };
  close(): Promise<void>;
} {
  const opts = storeOptionsOf(config);
  const stores = new Map<string, Promise<ObjectStore>>();
  const settings = temporalSettingsOfConfig(config);
  let conn: ReturnType<typeof clientOf> | undefined;
  return {
    open(url) {
      let p = stores.get(url);
      if (!p) {
        p = openStore(url, opts);
        stores.set(url, p);
        p.catch(() => stores.delete(url)); // tried again next refresh
      }
      return p;
    },
    temporal() {
      if (!conn) {
        const p = clientOf(settings);
        conn = p;
        p.catch(() => (conn = undefined)); // not reached: tried again next refresh
      }
      return conn;
    },
    temporalAt: { address: settings.address, namespace: settings.namespace },
    async close() {
      const c = await conn?.catch(() => undefined);
      await c?.close();
    },
  };
}

const CLEAR = '\x1b[H\x1b[2J\x1b[3J';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'the whole deployment on one screen: per region backlog, last ingest and egress, quarantine, lags, Schedules, workers',
    )
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option('--json', 'print the status as JSON (see README "Status" for the shape)')
    .option('--watch [seconds]', `refresh every N seconds until Ctrl-C (default ${DEFAULT_WATCH_SECONDS})`)
    .action(async (o: { config?: string; json?: boolean; watch?: string | boolean }) => {
      const every =
        o.watch === undefined || o.watch === false
          ? undefined
          : o.watch === true
            ? DEFAULT_WATCH_SECONDS
            : numberOption(o.watch, '--watch');
      if (every !== undefined && every <= 0)
        throw new TributaryError('BAD_INPUT', `--watch must be a positive number of seconds, got ${o.watch}`);
      const config = loadCliConfig(o.config);
      const session = statusSession(config);
      const frame = (s: StatusReport) =>
        o.json ? `${JSON.stringify(s, null, every === undefined ? 2 : undefined)}\n` : renderStatus(s);
      try {
        if (every === undefined) {
          process.stdout.write(frame(await gatherStatus({ config, ...session })));
          return;
        }
        await watch(every, o.json === true, async () => frame(await gatherStatus({ config, ...session })));
      } finally {
        await session.close();
      }
    });
}

/**
 * Writes a frame every `seconds` until SIGINT or SIGTERM (a frame being gathered then is dropped): on a
 * terminal over the last one, else after it, text frames separated by a blank line, JSON one per line.
 */
async function watch(seconds: number, jsonLines: boolean, next: () => Promise<string>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const stopped = new Promise<undefined>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );
  const tty = process.stdout.isTTY === true;
  try {
    for (let n = 0; !stop.signal.aborted; n++) {
      const text = await Promise.race([next(), stopped]);
      if (text === undefined) break;
      process.stdout.write(tty ? `${CLEAR}${text}` : n > 0 && !jsonLines ? `\n${text}` : text);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, seconds * 1000)))]);
      clearTimeout(timer);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
