/**
 * Temporal beyond the dev server: TLS (CA + server name), mTLS and API keys, through a real TLS-terminating
 * proxy (test/harness/tls-proxy.ts) in front of the real dev server, with a real worker and the real CLI.
 * The API key must appear in no error message and no CLI output.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import {
  DefaultLogger,
  Runtime,
  bundleWorkflowCode,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createHealthActivities } from '../../activities/health';
import { type TemporalSettings, temporalSettingsOf } from '../../config/temporal';
import { taskQueueFor, workflowIds } from '../../shapes/queues';
import { connectClient, connectNative } from '../../workers/connection';
import { createWorker } from '../../workers/worker';
import { healthCheckWorkflow } from '../../workflows';
import { cliEnv } from '../harness/cli';
import { requireService } from '../harness/env';
import { type TestCertificates, type TlsProxy, startTlsProxy, testCertificates } from '../harness/tls-proxy';

const API_KEY = `tk-${randomUUID()}`;
const WRONG_KEY = `wrong-${randomUUID()}`;

let certs: TestCertificates;
let bundle: WorkflowBundleWithSourceMap;
const proxies: TlsProxy[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  certs = testCertificates();
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
});

afterAll(async () => {
  for (const p of proxies) await p.close();
});

async function proxy(opts: { requireClientCert?: boolean; apiKey?: string } = {}): Promise<TlsProxy> {
  const p = await startTlsProxy({ target: requireService('temporal').endpoint, certs, ...opts });
  proxies.push(p);
  return p;
}

/** Settings as an operator writes them: config with file paths, plus an environment. */
const settings = (address: string, tls: object, env: NodeJS.ProcessEnv = {}, extra: object = {}) =>
  temporalSettingsOf({ address, namespace: 'default', tls, ...extra }, env);

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x as Error,
  );
  if (!e) throw new Error('expected a failure');
  return e;
}

/** A client and a worker on `s` run the health-check workflow to completion. */
async function roundTrip(s: TemporalSettings): Promise<void> {
  const connection = await connectClient(s);
  try {
    const taskQueue = taskQueueFor(`tls-${randomUUID()}`);
    const { worker, close } = await createWorker({
      address: s,
      taskQueue,
      workflowBundle: bundle,
      activities: createHealthActivities({ now: () => new Date(0) }),
    });
    const result = await worker
      .runUntil(
        new Client({ connection, namespace: s.namespace }).workflow.execute(healthCheckWorkflow, {
          taskQueue,
          workflowId: workflowIds.healthCheck(randomUUID()),
          args: [{ message: 'over TLS' }],
        }),
      )
      .finally(close);
    expect(result).toMatchObject({ message: 'over TLS' });
  } finally {
    await connection.close();
  }
}

test('a client and a worker connect through TLS with the CA and a server name, and run a workflow', async () => {
  const p = await proxy();
  await roundTrip(settings(p.address, { caFile: certs.ca, serverName: certs.serverName }));
  expect(p.requests).toBeGreaterThan(0);
});

test('the same from the environment (Temporal CLI names) alone', async () => {
  const p = await proxy();
  await roundTrip(
    temporalSettingsOf(
      { address: '127.0.0.1:1', namespace: 'default' },
      {
        TEMPORAL_ADDRESS: p.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
        TEMPORAL_TLS_SERVER_NAME: certs.serverName,
      },
    ),
  );
});

test('without the server name the certificate does not match: a TLS error naming the address', async () => {
  const p = await proxy();
  const e = await failure(connectClient(settings(p.address, { caFile: certs.ca })));
  expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
  expect(e.message).toMatch(`cannot reach Temporal at ${p.address} (TLS), or TLS with it failed`);
  expect(e.message).toMatch('server name');
});

test('mTLS: without a client certificate the connection fails clearly; with one, a workflow runs', async () => {
  const p = await proxy({ requireClientCert: true });
  const noCert = settings(p.address, { caFile: certs.ca, serverName: certs.serverName });
  for (const connect of [connectClient, connectNative]) {
    const e = await failure(connect(noCert));
    expect(e).toMatchObject({ code: expect.stringMatching(/^(CONFIG_INVALID|AUTH)$/) });
    expect(e.message).toMatch(`Temporal at ${p.address} (TLS)`);
  }
  await roundTrip(
    settings(p.address, {
      caFile: certs.ca,
      serverName: certs.serverName,
      certFile: certs.clientCert,
      keyFile: certs.clientKey,
    }),
  );
});

test('API key: the right key works, a wrong one fails with AUTH, and no error shows either key', async () => {
  const p = await proxy({ apiKey: API_KEY });
  const tls = { caFile: certs.ca, serverName: certs.serverName };
  await roundTrip(settings(p.address, tls, { MY_KEY: API_KEY }, { apiKeyEnv: 'MY_KEY' }));

  const keyFile = path.join(certs.dir, 'api-key');
  writeFileSync(keyFile, `${WRONG_KEY}\n`);
  const wrong = settings(p.address, tls, {}, { apiKeyFile: keyFile });
  for (const connect of [connectClient, connectNative]) {
    const e = await failure(connect(wrong));
    expect(e).toMatchObject({ code: 'AUTH' });
    expect(e.message).toMatch(`Temporal at ${p.address} (TLS, API key from temporal.apiKeyFile) refused`);
    expect(`${e.message}\n${e.stack}\n${String(e.cause)}`).not.toContain(WRONG_KEY);
  }
  const none = await failure(connectClient(settings(p.address, tls)));
  expect(none).toMatchObject({ code: 'AUTH' });
});

test('the CLI with a wrong TEMPORAL_API_KEY says the credentials were refused and never prints the key', async () => {
  const p = await proxy({ apiKey: API_KEY });
  const config = path.join(certs.dir, 'tributary.yaml');
  writeFileSync(
    config,
    `temporal: { address: 127.0.0.1:1 }\nregions:\n  - { name: eu-1, cloud: local, raw: "file:///tmp/r", table: "file:///tmp/t" }\n`,
  );
  const env = {
    TEMPORAL_ADDRESS: p.address,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
    TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    TRIBUTARY_DEBUG: '1',
  };
  const bad = await cliEnv(
    { ...env, TEMPORAL_API_KEY: WRONG_KEY },
    'schedules',
    'status',
    '--config',
    config,
  );
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(
    /^error \(AUTH\): Temporal at 127\.0\.0\.1:\d+ \(TLS, API key from TEMPORAL_API_KEY\) refused the credentials/,
  );
  expect(bad.stdout + bad.stderr).not.toContain(WRONG_KEY);

  const good = await cliEnv({ ...env, TEMPORAL_API_KEY: API_KEY }, 'schedules', 'status', '--config', config);
  expect(good.stderr).not.toMatch(/refused|cannot reach/);
  expect(good.stdout + good.stderr).not.toContain(API_KEY);

  const help = await cliEnv({ ...env, TEMPORAL_API_KEY: API_KEY }, 'worker', '--help');
  expect(help.stdout + help.stderr).not.toContain(API_KEY);
});
