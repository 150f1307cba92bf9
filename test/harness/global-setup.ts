import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  PROJECT_ROOT,
  PROMETHEUS_VERSION,
  type RunningService,
  type ServiceName,
  prometheusBinaries,
  startServices,
} from './services';
import { ENDPOINTS_ENV } from './env';

declare global {
  var __tributaryServices: RunningService[] | undefined;
}

/** Starts every real test service once for the whole jest run and hands endpoints to the test workers. */
export default async function globalSetup(): Promise<void> {
  const dir = path.join(PROJECT_ROOT, '.services', `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const names: ServiceName[] = ['s3', 'azure', 'gcs', 'temporal'];
  const t0 = Date.now();
  const services = await startServices(names, dir);
  globalThis.__tributaryServices = services;
  // If jest dies without running globalTeardown, still take the services down with us.
  process.once('exit', () => {
    for (const s of services)
      if (s.pid)
        try {
          process.kill(-s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
  });
  const info = services.map(({ stop: _stop, ...rest }) => rest);
  const file = path.join(dir, 'endpoints.json');
  writeFileSync(file, JSON.stringify(info, null, 2));
  process.env[ENDPOINTS_ENV] = file;
  // We pin an AWS SDK that supports Node 20; its notice about future releases is noise in test output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const lines = info.map((s) =>
    s.error
      ? `  ${s.name.padEnd(8)} ${s.product}: NOT RUNNING: ${s.error}`
      : `  ${s.name.padEnd(8)} ${s.product} at ${s.endpoint} (ready in ${s.startupMs} ms)`,
  );
  // Prometheus is started by the metrics tests themselves (their scrape config names their worker).
  const prom = prometheusBinaries();
  lines.push(
    prom
      ? `  ${'prom'.padEnd(8)} prometheus ${PROMETHEUS_VERSION} installed (${path.dirname(prom.prometheus)})`
      : `  ${'prom'.padEnd(8)} prometheus ${PROMETHEUS_VERSION}: NOT INSTALLED (run npm run services:install)`,
  );
  process.stdout.write(
    `\ntest services (started in ${Date.now() - t0} ms, logs in ${dir}):\n${lines.join('\n')}\n`,
  );
}
