/**
 * No credential, query string or whole response body reaches the CLI, a log or Temporal: the one redaction
 * (lake/redact.ts) applied to TributaryError messages, to every adapter's SDK error text, to the CLI's error line
 * and to activity failures and their causes. Tested through the CLI for each cloud, with endpoints that carry
 * userinfo and a query string, against a closed port and against a server that answers with a huge body.
 */
import { type AddressInfo } from 'node:net';
import { type Server, createServer } from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import { toFailure, asUnexpected } from '../../activities/failures';
import { TributaryError } from '../../lake/errors';
import { excerpt, redact } from '../../lake/redact';
import { cliEnv } from '../harness/cli';

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
/** What must never appear: the endpoint's user, password and query, the body's secret and its tail. */
const LEAKS = [/PW/, /k=Q/, /user/i, /SECRETKEY/, /TAIL-MARKER/, /hunter2/];

function expectNoLeak(out: string): void {
  for (const re of LEAKS) expect([re.source, out]).toEqual([re.source, expect.not.stringMatching(re)]);
}

describe('redact', () => {
  test.each([
    [
      'http://user:PW@127.0.0.1:1/storage/v1/b/b/o?k=Q&alt=media',
      'http://***@127.0.0.1:1/storage/v1/b/b/o?***',
    ],
    [
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRETKEY+/abc==;EndpointSuffix=core.windows.net',
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net',
    ],
    [
      'https://acct.blob.core.windows.net/c/b?sv=2024-01-01&sig=abc%2Fdef',
      'https://acct.blob.core.windows.net/c/b?***',
    ],
    ['{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE", "x": 1}', '{"private_key": "***", "x": 1}'],
    ['Authorization: Bearer ya29.a0AfH6', 'Authorization: ***'],
    [
      'headers {"authorization":"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x"}',
      'headers {"authorization":"***"}',
    ],
    ['login with password=hunter2 failed', 'login with password=*** failed'],
    ['key AKIAIOSFODNN7EXAMPLE', 'key ***'],
    // Messages that carry nothing secret stay as they are.
    [
      'invalid object key "a/../b": it has a \'..\' segment',
      'invalid object key "a/../b": it has a \'..\' segment',
    ],
    [
      'S3 denied access to s3://bucket/t/_delta_log: AccessDenied (HTTP 403)',
      'S3 denied access to s3://bucket/t/_delta_log: AccessDenied (HTTP 403)',
    ],
  ])('%s', (input, output) => {
    expect(redact(input)).toBe(output);
  });

  test('excerpt bounds and flattens a body', () => {
    const body = `<html>\n<body>${'x '.repeat(50_000)}TAIL-MARKER</body>`;
    const e = excerpt(body);
    expect(e.length).toBeLessThan(400);
    expect(e).toMatch(/^<html> <body>x x/);
    expect(e).toMatch(/more characters\]$/);
    expect(e).not.toMatch(/TAIL-MARKER|\n/);
  });

  test('TributaryError messages, activity failures and their causes are redacted', () => {
    const sdk = new Error('request to http://user:PW@127.0.0.1:1/x?k=Q failed, reason: ECONNREFUSED');
    const te = new TributaryError('STORAGE_TRANSIENT', `transient GCS error: ${sdk.message}`, { cause: sdk });
    expectNoLeak(te.message);
    expectNoLeak(te.stack ?? '');
    const f = toFailure(te) as ApplicationFailure;
    expectNoLeak(f.message);
    expectNoLeak(f.stack ?? '');
    expectNoLeak((f.cause as Error).message);
    expectNoLeak((f.cause as Error).stack ?? '');
    // A plain error (retried by Temporal as it is) and an unexpected one (made INTERNAL).
    expectNoLeak((toFailure(sdk) as Error).message);
    expectNoLeak((toFailure(sdk) as Error).stack ?? '');
    expectNoLeak((asUnexpected(sdk) as Error).message);
    // Unchanged when there is nothing to redact.
    const clean = new Error('plain');
    expect(toFailure(clean)).toBe(clean);
  });
});

describe('CLI errors never show endpoint credentials, query strings or whole bodies', () => {
  let server: Server;
  let port: number;
  let requests = 0;

  beforeAll(async () => {
    // Answers everything with 400 and a 200 KB body that starts with a secret and ends with a marker.
    server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`AccountKey=SECRETKEY; password=hunter2 <pre>${'junk '.repeat(40_000)}</pre> TAIL-MARKER`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const clouds: [string, string, string, Record<string, string>][] = [
    ['gcs', 'TRIBUTARY_GCS_ENDPOINT', 'gs://b/t', {}],
    ['s3', 'TRIBUTARY_S3_ENDPOINT', 's3://b/t', AWS_ENV],
    ['azure', 'TRIBUTARY_AZURE_ENDPOINT', 'az://devstoreaccount1/cont/t', {}],
  ];

  describe.each(clouds)('%s', (cloud, variable, url, extra) => {
    const endpoint = (p: number) =>
      cloud === 'azure'
        ? `http://user:PW@127.0.0.1:${p}/devstoreaccount1?k=Q`
        : `http://user:PW@127.0.0.1:${p}/?k=Q`;

    test('endpoint with userinfo and query, nothing listening (issue 13)', async () => {
      for (const debug of ['0', '1']) {
        const r = await cliEnv(
          { [variable]: endpoint(1), TRIBUTARY_DEBUG: debug, ...extra },
          'table',
          'read',
          url,
        );
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^error \(STORAGE_TRANSIENT\)/);
        expectNoLeak(r.stdout + r.stderr);
      }
    });

    test('a server that answers with a huge body: a bounded excerpt, redacted', async () => {
      const before = requests;
      const r = await cliEnv({ [variable]: endpoint(port), ...extra }, 'table', 'read', url);
      expect(requests).toBeGreaterThan(before);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error \(/);
      expect(r.stderr.length).toBeLessThan(1500);
      expectNoLeak(r.stdout + r.stderr);
    });
  });
});
