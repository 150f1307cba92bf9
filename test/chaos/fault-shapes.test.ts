/**
 * The faults the chaos tests inject (lake/storage/faults.ts cloudFaultError) are the errors the real
 * adapters raise: the real S3, Azure and GCS adapters talk to a local HTTP server that throttles (503 SlowDown /
 * ServerBusy), fails (500), resets the connection or never answers, and each error must get the same code,
 * the same retryability and the same Temporal failure type as the injected one. (GCS too, answering JSON.)
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toFailure } from '../../activities/failures';
import { TributaryError } from '../../lake/errors';
import { AzureStore } from '../../lake/storage/azure';
import { CLOUD_FAULTS, type CloudFault, cloudFaultError } from '../../lake/storage/faults';
import type { ObjectStore } from '../../lake/storage/object-store';
import { GcsStore } from '../../lake/storage/gcs';
import { S3Store } from '../../lake/storage/s3';
import { AZURITE_KEY } from '../harness/stores';

jest.setTimeout(60_000);

let mode: CloudFault | 'reset-mid-body' = 'throttle';
let server: Server;
let port = 0;

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const azure = req.url?.startsWith('/devstoreaccount1') ?? false;
    switch (mode) {
      case 'throttle':
        res.writeHead(503, {
          'content-type': 'application/xml',
          ...(azure ? { 'x-ms-error-code': 'ServerBusy' } : {}),
        });
        res.end(
          req.url?.startsWith('/storage/') || req.url?.startsWith('/upload/')
            ? JSON.stringify({
                error: { code: 503, message: 'rateLimitExceeded', errors: [{ reason: 'rateLimitExceeded' }] },
              })
            : azure
              ? errorXml('ServerBusy', 'The server is busy.')
              : errorXml('SlowDown', 'Please reduce your request rate.'),
        );
        return;
      case 'server':
        res.writeHead(500, {
          'content-type': 'application/xml',
          ...(azure ? { 'x-ms-error-code': 'InternalError' } : {}),
        });
        res.end(errorXml('InternalError', 'We encountered an internal error. Please try again.'));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'timeout':
        return; // never answers
      case 'reset-mid-body':
        // A download that starts, then loses its connection.
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': '100000',
          etag: '"0123456789abcdef0123456789abcdef"',
          'last-modified': new Date(0).toUTCString(),
        });
        res.write(Buffer.alloc(1000, 7), () => setTimeout(() => req.socket.destroy(), 20));
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const stores: Record<'s3' | 'azure' | 'gcs', () => ObjectStore> = {
  s3: () =>
    new S3Store({
      bucket: 'b',
      prefix: '',
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      requestTimeoutMs: 300,
    }),
  azure: () =>
    new AzureStore({
      account: 'devstoreaccount1',
      container: 'chaos',
      prefix: '',
      endpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
      accountKey: AZURITE_KEY,
      requestTimeoutMs: 300,
    }),
  gcs: () =>
    new GcsStore({
      bucket: 'b',
      prefix: '',
      endpoint: `http://127.0.0.1:${port}`,
      projectId: 'chaos',
      requestTimeoutMs: 300,
    }),
};

/** What retries and Temporal look at: the code, its retryability, the failure type and nonRetryable. */
function classify(e: unknown) {
  expect(e).toBeInstanceOf(TributaryError);
  const t = e as TributaryError;
  const f = toFailure(t) as { type?: string; nonRetryable?: boolean };
  return { code: t.code, retryable: t.retryable, type: f.type, nonRetryable: f.nonRetryable };
}

describe.each(['s3', 'azure', 'gcs'] as const)('%s adapter', (kind) => {
  test.each(CLOUD_FAULTS.map((f) => [f]))('%s: real error classified as the injected one', async (fault) => {
    mode = fault;
    const store = stores[kind]();
    try {
      for (const call of [() => store.get('k/part-0.parquet'), () => store.put('k/x.json', '{}')]) {
        const real = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(classify(real)).toEqual(classify(cloudFaultError(fault, `${kind}://b/k`)));
        expect(classify(real)).toEqual({
          code: 'STORAGE_TRANSIENT',
          retryable: true,
          type: 'STORAGE_TRANSIENT',
          nonRetryable: false,
        });
      }
    } finally {
      await store.close();
    }
  });

  test('a download reset part-way: transient, as injected (faults.ts breakBodyAfterBytes)', async () => {
    mode = 'reset-mid-body';
    const store = stores[kind]();
    try {
      const real = await (async () => {
        for await (const _ of await store.getStream('k/part-0.parquet'));
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(classify(real)).toEqual(classify(cloudFaultError('reset', `${kind}://b/k`)));
    } finally {
      await store.close();
    }
  });
});
