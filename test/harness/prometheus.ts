/**
 * A real Prometheus for the metrics tests, started by the test itself (its scrape config names the
 * worker the test started, so it cannot be one of globalSetup's services), and promtool to lint an
 * exposition. The binaries come from scripts/install-services.sh; when they are missing the test fails
 * saying how to install them, never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROMETHEUS_DIR, PROMETHEUS_VERSION, freePort, prometheusBinaries, stopChild } from './services';

export function requirePrometheus(): { prometheus: string; promtool: string } {
  const b = prometheusBinaries();
  if (!b)
    throw new Error(
      `prometheus ${PROMETHEUS_VERSION} is not installed (${path.join(PROMETHEUS_DIR, 'usr/bin')}/{prometheus,promtool} missing, or another version). ` +
        'Run: npm run services:install (it needs apt-get and dpkg-deb)',
    );
  return b;
}

/** `promtool check metrics` on an exposition: its exit code and everything it printed (its findings). */
export function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  const { promtool } = requirePrometheus();
  return new Promise((resolve, reject) => {
    const p = spawn(promtool, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
    p.stdin.end(text);
  });
}

export interface RunningPrometheus {
  /** Base URL of its HTTP API, e.g. http://127.0.0.1:9090 */
  url: string;
  log: string;
  /** An instant query's vector result: each series' labels and value. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (host:port) every `intervalSeconds` as job `job`; waits until ready. */
export async function startPrometheus(
  dir: string,
  job: string,
  targets: string[],
  intervalSeconds = 1,
): Promise<RunningPrometheus> {
  const { prometheus } = requirePrometheus();
  mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${intervalSeconds}s`,
      `  scrape_timeout: ${intervalSeconds}s`,
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(job)}`,
      '    static_configs:',
      `      - targets: ${JSON.stringify(targets)}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dir, 'prometheus.log');
  const fd = openSync(log, 'w');
  const child: ChildProcess = spawn(
    prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', fd, fd], detached: true },
  );
  child.on('error', () => {});
  const stop = () => stopChild(child);
  const get = async (p: string) =>
    fetch(`${url}${p}`, { signal: AbortSignal.timeout(2000), headers: { connection: 'close' } });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`prometheus exited during startup (${child.exitCode ?? child.signalCode}); see ${log}`);
    const ready = await get('/-/ready')
      .then(async (r) => (await r.arrayBuffer(), r.ok))
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready within 30 s; see ${log}`);
    }
    await sleep(100);
  }
  return {
    url,
    log,
    stop,
    async query(promql) {
      const r = await get(`/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await r.json()) as {
        status: string;
        error?: string;
        data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success' || body.data?.resultType !== 'vector')
        throw new Error(`prometheus query ${promql} failed: ${body.error ?? JSON.stringify(body)}`);
      return body.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
    },
  };
}
