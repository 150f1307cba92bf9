import { readFileSync } from 'node:fs';
import type { ServiceInfo, ServiceName } from './services';

export const ENDPOINTS_ENV = 'TRIBUTARY_TEST_SERVICES';

let cache: ServiceInfo[] | undefined;

function all(): ServiceInfo[] {
  if (cache) return cache;
  const file = process.env[ENDPOINTS_ENV];
  if (!file)
    throw new Error(
      `${ENDPOINTS_ENV} is not set: run the tests with \`npm test\` so the test services start`,
    );
  cache = JSON.parse(readFileSync(file, 'utf8')) as ServiceInfo[];
  return cache;
}

/** The endpoint of a running test service; throws (failing the test) with the reason when it is not running. */
export function requireService(name: ServiceName): ServiceInfo & { endpoint: string } {
  const s = all().find((x) => x.name === name);
  if (!s) throw new Error(`test service ${name} was not started by the harness`);
  if (s.error || !s.endpoint)
    throw new Error(`test service ${name} (${s.product}) is not running: ${s.error}`);
  return s as ServiceInfo & { endpoint: string };
}
