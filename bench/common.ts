/**
 * Shared bench plumbing: knobs from env, timing with median, the emulators started for the run, and
 * ratio lines. Benches print results; they never assert on timing (that belongs nowhere in jest).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ingestBatch } from '../activities/ingest/batch';
import { planBatches } from '../activities/ingest/plan';
import { openStore } from '../lake/storage/open';
import type { IngestTarget } from '../shapes/targets';
import { ENDPOINTS_ENV } from '../test/harness/env';
import { PROJECT_ROOT, type RunningService, type ServiceName, startServices } from '../deploy/local-services';

/** Scratch space for bench artefacts (git-ignored). */
export const BENCH_OUT = path.join(PROJECT_ROOT, 'bench', 'out');
export const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const DELTARS_BENCH = path.join(__dirname, 'deltars_bench.py');

export const MiB = 1024 * 1024;

/** A positive number from the environment, else the default. */
export function knob(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Runs each contender once untimed (its warm-up, unless `warmup: false`; the time is returned as `first`), then `reps` rounds in which
 * the contender that goes first rotates, so drift on a shared machine (page cache, emulator GC, JIT, other
 * load) does not always favour the same side. A contender returns its own duration in ms, so a peer
 * process can time itself and leave out the round trip.
 */
export async function rounds(
  contenders: readonly (() => Promise<number>)[],
  reps: number,
  opts: { warmup?: boolean } = {},
): Promise<{ first: number[]; times: number[][] }> {
  const first: number[] = [];
  if (opts.warmup !== false) for (const c of contenders) first.push(await c());
  const times = contenders.map(() => [] as number[]);
  for (let i = 0; i < reps; i++)
    for (let j = 0; j < contenders.length; j++) {
      const k = (i + j) % contenders.length;
      times[k]!.push(await contenders[k]!());
    }
  return { first, times };
}

export const fmt = (x: number, digits = 0): string =>
  x >= 100 || digits === 0 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);

export const ratio = (ours: number, base: number): string => (base > 0 ? (ours / base).toFixed(2) : 'n/a');

export interface BenchServices {
  services: RunningService[];
  stop(): Promise<void>;
}

/**
 * Starts the emulators for this run and publishes their endpoints the way jest's globalSetup does, so
 * test/harness/stores.ts (bucket creation, emulator StoreOptions) works unchanged. The services are stopped
 * by `stop()`, on SIGINT/SIGTERM, and (SIGKILL to their process groups) if the process exits without it.
 */
export async function startBenchServices(names: readonly ServiceName[]): Promise<BenchServices> {
  const dir = path.join(BENCH_OUT, 'services');
  mkdirSync(dir, { recursive: true });
  const services = await startServices(names, dir);
  const file = path.join(dir, 'endpoints.json');
  writeFileSync(
    file,
    JSON.stringify(
      services.map(({ stop: _s, ...rest }) => rest),
      null,
      2,
    ),
  );
  process.env[ENDPOINTS_ENV] = file;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(services.map((s) => s.stop()));
  };
  const killNow = () => {
    if (stopped) return;
    for (const s of services)
      if (s.pid)
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
  };
  process.once('exit', killNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void stop().finally(() => process.exit(130));
    });
  for (const s of services)
    console.log(
      s.error
        ? `  ${s.name}: ${s.product} NOT RUNNING: ${s.error}`
        : `  ${s.name}: ${s.product} at ${s.endpoint} (ready in ${s.startupMs} ms)`,
    );
  return { services, stop };
}

// ---------------------------------------------------------------------------------------------------------
// delta-rs side (bench:delta, bench:ingest)

export type DeltaRsReply = Record<string, unknown> & { ms: number };

/** bench/deltars_bench.py as a long-lived worker: one JSON request/reply per line. */
export class DeltaRs {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly replies: AsyncIterator<string>;
  private stderr = '';

  constructor() {
    this.child = spawn(PYTHON, [DELTARS_BENCH], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d) => (this.stderr = (this.stderr + String(d)).slice(-4000)));
    this.child.on('error', () => {});
    process.once('exit', () => this.child.kill('SIGKILL'));
    this.replies = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async call(req: Record<string, unknown>): Promise<DeltaRsReply> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await this.replies.next();
    if (next.done)
      throw new Error(`deltars_bench.py exited (code ${this.child.exitCode}): ${this.stderr.trim()}`);
    const res = JSON.parse(next.value) as DeltaRsReply & { error?: string };
    if (res.error) throw new Error(`delta-rs ${String(req.op)} failed: ${res.error}`);
    return res;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    await exited;
  }
}

/**
 * A table built by real ingestion (untimed set-up of bench:egress and bench:optimize): every raw file of
 * `raw` ingested as a batch (one commit) of its own, as scheduled ingestion of one file per run would.
 */
export async function ingestPerFile(raw: string, table: string): Promise<void> {
  const target: IngestTarget = {
    region: 'bench-1',
    raw,
    table,
    quarantine: `${table}_quarantine`,
    maxFilesPerBatch: 1,
    maxBytesPerBatch: 1 << 30,
    maxLineBytes: 1 << 20,
    eventTimeColumn: 'ts',
  };
  const deps = { open: (url: string) => openStore(url) };
  for (;;) {
    const plan = await planBatches(deps, { target, maxBatches: 64 });
    if (!plan.pending.length) break;
    for (const seq of plan.pending) await ingestBatch(deps, { target, seq });
  }
}
