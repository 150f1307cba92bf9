/**
 * `npm run demo -- --fork`: mid-demo, central is forked live (workflows/fork.ts): the second region's rows
 * move to a table on another cloud while every region keeps ingesting and egressing on its Schedules.
 * While it runs, a freshness monitor samples every region's ingest and egress lag, so the summary can say
 * how fresh the pipelines stayed before, during and after the fork.
 *
 * Lags, as a user of the tables sees them (sampled once a second from the tables themselves):
 * - ingest lag of a region: the age of the oldest log file whose lines are not all in the regional table
 *   (rows + quarantined lines), files taken in the order the log daemon wrote them; 0 when all are in.
 * - egress lag of a region: the age of the oldest regional version not yet in central (central's egress
 *   `txn` for the region, which every egress commit carries, routed or not), aged from the moment the
 *   monitor first saw that version (so at most one sample late); 0 when central is level.
 */
import type { Client } from '@temporalio/client';
import { ForkFile, forkInputOf } from '../config/fork';
import type { Config } from '../config/schema';
import { quarantineUrlOf } from '../config/targets';
import type { ObjectStore } from '../lake/storage/object-store';
import { defaultEngine, loadSnapshotOrUndefined } from '../lake/table/operations';
import type { ForkInput, ForkResult, ForkState } from '../shapes/fork';
import { workflowIds } from '../shapes/queues';
import { egressAppIdFor } from '../shapes/targets';
import { forkStateQuery } from '../workflows/fork';

export const DEMO_FORK_NAME = 'demo-fork';

/** The fork's input: the second region's rows (the first if there is one region) move to `forkUrl`. */
export function demoForkInput(config: Config, forkUrl: string): ForkInput {
  const region = (config.regions[1] ?? config.regions[0])!.name;
  return forkInputOf(
    ForkFile.parse({
      name: DEMO_FORK_NAME,
      main: config.central!.table,
      fork: forkUrl,
      subset: `_region = '${region}'`,
      approval: 'auto',
      barrierPollSeconds: 1,
      barrierTimeoutSeconds: 600,
      heartbeatTimeoutSeconds: 20,
    }),
    config,
  );
}

export interface RunningFork {
  input: ForkInput;
  startedAt: number;
  /** Settles when the workflow ends; its end time is recorded in `endedAt`. */
  result: Promise<ForkResult>;
  endedAt?: number;
  /** The forkState query, or undefined if the workflow cannot answer now. */
  state(): Promise<ForkState | undefined>;
}

export async function startDemoFork(
  client: Client,
  taskQueue: string,
  input: ForkInput,
): Promise<RunningFork> {
  const handle = await client.workflow.start('forkTable', {
    taskQueue,
    workflowId: workflowIds.fork(input.name),
    args: [input],
  });
  const f: RunningFork = {
    input,
    startedAt: Date.now(),
    result: undefined as never,
    state: () => handle.query(forkStateQuery).catch(() => undefined),
  };
  f.result = (handle.result() as Promise<ForkResult>).finally(() => (f.endedAt = Date.now()));
  // Observed by whoever awaits it; never an unhandled rejection meanwhile.
  f.result.catch(() => {});
  return f;
}

type Window = 'before' | 'during' | 'after';

interface RegionLag {
  /** Log files in write order: when written and the lines up to and including each. */
  files: { at: number; cumulative: number }[];
  /** When the monitor first saw each regional version. */
  seen: Map<number, number>;
  seenUpTo: number;
}

export interface LagReport {
  samples: Record<Window, number>;
  /** Max ingest and egress lag in seconds per window (over all regions), and the region it was in. */
  max: Record<Window, { ingest: number; ingestRegion?: string; egress: number; egressRegion?: string }>;
}

/** Samples every region's ingest and egress lag while the demo runs; the windows are set by the fork. */
export class FreshnessMonitor {
  private regions = new Map<string, RegionLag>();
  private report: LagReport = {
    samples: { before: 0, during: 0, after: 0 },
    max: {
      before: { ingest: 0, egress: 0 },
      during: { ingest: 0, egress: 0 },
      after: { ingest: 0, egress: 0 },
    },
  };
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  fork?: RunningFork;

  constructor(
    private readonly config: Config,
    private readonly open: (url: string) => Promise<ObjectStore>,
    private readonly everyMs = 1000,
  ) {
    for (const r of config.regions) this.regions.set(r.name, { files: [], seen: new Map(), seenUpTo: -1 });
  }

  /** A log file of `lines` lines was written for `region` now. */
  wrote(region: string, lines: number): void {
    const r = this.regions.get(region)!;
    r.files.push({ at: Date.now(), cumulative: (r.files.at(-1)?.cumulative ?? 0) + lines });
  }

  start(): void {
    const tick = () => {
      this.running = this.sample()
        .catch(() => {}) // a sample that meets a table mid-creation is just skipped
        .finally(() => (this.timer = setTimeout(tick, this.everyMs)));
    };
    tick();
  }

  async stop(): Promise<LagReport> {
    clearTimeout(this.timer);
    await this.running;
    clearTimeout(this.timer);
    return this.report;
  }

  private window(now: number): Window {
    if (!this.fork || now < this.fork.startedAt) return 'before';
    return this.fork.endedAt === undefined || now <= this.fork.endedAt ? 'during' : 'after';
  }

  private async sample(): Promise<void> {
    const central = await loadSnapshotOrUndefined(await this.open(this.config.central!.table), defaultEngine);
    const lags = await Promise.all(
      this.config.regions.map(async (r) => {
        const [table, quarantine] = await Promise.all([
          this.open(r.table).then((s) => loadSnapshotOrUndefined(s, defaultEngine)),
          this.open(quarantineUrlOf(r)).then((s) => loadSnapshotOrUndefined(s, defaultEngine)),
        ]);
        const now = Date.now();
        const lag = this.regions.get(r.name)!;
        const done = (table?.numRecords ?? 0) + (quarantine?.numRecords ?? 0);
        const oldest = lag.files.find((f) => f.cumulative > done);
        const ingest = oldest ? (now - oldest.at) / 1000 : 0;
        if (table) for (let v = lag.seenUpTo + 1; v <= table.version; v++) lag.seen.set(v, now);
        if (table) lag.seenUpTo = Math.max(lag.seenUpTo, table.version);
        const egressed = central?.txnVersion(egressAppIdFor(r.name)) ?? -1;
        const firstMissing = lag.seen.get(egressed + 1);
        const egress = table && egressed < table.version && firstMissing ? (now - firstMissing) / 1000 : 0;
        return { region: r.name, ingest, egress, now };
      }),
    );
    for (const l of lags) {
      const w = this.window(l.now);
      const m = this.report.max[w];
      if (l.ingest > m.ingest) Object.assign(m, { ingest: l.ingest, ingestRegion: l.region });
      if (l.egress > m.egress) Object.assign(m, { egress: l.egress, egressRegion: l.region });
    }
    this.report.samples[this.window(Date.now())]++;
  }
}

/** The summary's freshness lines. */
export function lagLines(r: LagReport, everyMs: number): string[] {
  const s = (x: number) => `${x.toFixed(1)} s`;
  const row = (w: Window) => {
    const m = r.max[w];
    return (
      `  ${w.padEnd(7)} ${String(r.samples[w]).padStart(4)} samples   max ingest lag ${s(m.ingest).padStart(7)}` +
      `${m.ingestRegion ? ` (${m.ingestRegion})` : ''}   max egress lag ${s(m.egress).padStart(7)}` +
      `${m.egressRegion ? ` (${m.egressRegion})` : ''}`
    );
  };
  const outside = Math.max(r.max.before.ingest, r.max.after.ingest, r.max.before.egress, r.max.after.egress);
  const during = Math.max(r.max.during.ingest, r.max.during.egress);
  return [
    `freshness (schedule interval ${s(everyMs / 1000)}; lag = age of the oldest data not yet in the next table):`,
    row('before'),
    row('during'),
    row('after'),
    `  fork added ${s(Math.max(0, during - outside))} to the worst lag seen outside it (${s(outside)})`,
  ];
}
