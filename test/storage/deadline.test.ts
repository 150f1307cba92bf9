/**
 * A storage service that accepts a request and never answers must not hang its caller: each cloud
 * adapter gives up on the request after its deadline and reports a transient failure, which the retry
 * layer retries and finally surfaces. No emulator can play a silent server, so this one is a TCP server
 * that reads requests and never writes a byte.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { isTributaryError } from '../../lake/errors';
import { openStore, type StoreOptions } from '../../lake/storage/open';
import { AZURITE_KEY } from '../harness/stores';

let server: Server;
let endpoint: string;
let requests = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => {
      requests += (d.toString('latin1').match(/ HTTP\/1\.1\r\n/g) ?? []).length;
    });
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const TIMEOUT = 400;
const retry = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 };
const cases: [string, string, () => StoreOptions][] = [
  [
    's3',
    's3://silent/p',
    () => ({
      s3: {
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
        requestTimeoutMs: TIMEOUT,
      },
      retry,
    }),
  ],
  [
    'azure',
    'az://devstoreaccount1/silent/p',
    () => ({
      azure: { endpoint: `${endpoint}/devstoreaccount1`, accountKey: AZURITE_KEY, requestTimeoutMs: TIMEOUT },
      retry,
    }),
  ],
  ['gcs', 'gs://silent/p', () => ({ gcs: { endpoint, projectId: 'p', requestTimeoutMs: TIMEOUT }, retry })],
];

describe.each(cases)('%s: a request that is never answered', (_kind, url, options) => {
  test('fails as transient after the deadline, retried, for reads, writes and listings', async () => {
    const store = await openStore(url, options());
    try {
      const ops: [string, () => Promise<unknown>][] = [
        ['head', () => store.head('k')],
        ['get', () => store.get('k')],
        ['put', () => store.put('k', 'v')],
        ['putIfAbsent', () => store.putIfAbsent('k', 'v')],
        [
          'list',
          async () => {
            for await (const _ of store.list('')) void _;
          },
        ],
        ['delete', () => store.delete('k')],
      ];
      for (const [name, op] of ops) {
        const before = requests;
        const t0 = Date.now();
        const e = await op().then(
          () => new Error(`${name} succeeded against a silent server`),
          (x: unknown) => x,
        );
        const ms = Date.now() - t0;
        expect([name, isTributaryError(e, 'STORAGE_TRANSIENT'), String(e)]).toEqual([
          name,
          true,
          expect.any(String),
        ]);
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT);
        expect(ms).toBeLessThan(30_000);
        expect(requests - before).toBeGreaterThanOrEqual(2); // the retry layer tried again
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
