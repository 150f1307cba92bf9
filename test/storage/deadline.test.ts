/**
 * A storage service that accepts a request and never answers must not hang its caller: each cloud
 * adapter gives up on the request after its deadline and reports a transient failure, which the retry
 * layer retries and finally surfaces. No emulator can play a silent server, so this one is a TCP server
 * that reads requests and never writes a byte.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isTributaryError } from '../../lake/errors';
import { openStore, type StoreOptions } from '../../lake/storage/open';
import { AZURITE_KEY, type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';

let server: Server;
let endpoint: string;
let requests = 0;
/** A server that takes the first bytes of a request and then stops reading (and never answers). */
let deaf: Server;
let deafEndpoint: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => {
      requests += (d.toString('latin1').match(/ HTTP\/1\.1\r\n/g) ?? []).length;
    });
    s.on('close', () => sockets.delete(s));
  });
  deaf = createServer((s) => {
    sockets.add(s);
    s.once('data', () => s.pause());
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  deafEndpoint = `http://127.0.0.1:${(deaf.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  await new Promise((r) => deaf.close(r));
});

const TIMEOUT = 400;
const retry = { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 };
/** Store options for each cloud with every endpoint at `at()`. */
const cases: [string, string, (at?: string) => StoreOptions][] = [
  [
    's3',
    's3://silent/p',
    (at = endpoint) => ({
      s3: {
        endpoint: at,
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
    (at = endpoint) => ({
      azure: { endpoint: `${at}/devstoreaccount1`, accountKey: AZURITE_KEY, requestTimeoutMs: TIMEOUT },
      retry,
    }),
  ],
  [
    'gcs',
    'gs://silent/p',
    (at = endpoint) => ({ gcs: { endpoint: at, projectId: 'p', requestTimeoutMs: TIMEOUT }, retry }),
  ],
];

/** `op` fails as transient, once the deadline has passed and well before the test's timeout. */
async function expectGivesUp(name: string, op: () => Promise<unknown>): Promise<void> {
  const t0 = Date.now();
  const e = await op().then(
    () => new Error(`${name} succeeded against a server that never answers`),
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
}

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
        await expectGivesUp(name, op);
        expect(requests - before).toBeGreaterThanOrEqual(2); // the retry layer tried again
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});

/**
 * Uploads of a stream or a local file: the body is read by the SDK, so only a deadline on its progress can
 * tell a service that took the request and then stopped reading it, or read it all and never answered.
 * (The Azure SDK's own uploadStream does not pass its abort signal on to its block uploads; ours does.)
 */
describe.each(cases)('%s: an upload the service stops reading or never answers', (_kind, url, options) => {
  const BIG = 24 << 20;
  const body = () => Readable.from([Buffer.alloc(BIG, 0x61)]);

  test('fails as transient after the deadline; putFile is retried', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'upload-deadline-'));
    const file = path.join(dir, 'part.bin');
    writeFileSync(file, Buffer.alloc(1000, 0x62));
    const silent = await openStore(url, options());
    const notReading = await openStore(url, options(deafEndpoint));
    try {
      const ops: [string, () => Promise<unknown>][] = [
        [
          'putStream of 1 KB, never answered',
          () => silent.putStream('k', Readable.from([Buffer.alloc(1000)])),
        ],
        ['putStream of 24 MiB, never answered', () => silent.putStream('k', body())],
        ['putStream of 24 MiB, no longer read', () => notReading.putStream('k', body())],
        ['putFile, never answered', () => silent.putFile('k', file)],
      ];
      for (const [name, op] of ops) {
        const before = requests;
        await expectGivesUp(name, op);
        if (name.startsWith('putFile')) expect(requests - before).toBeGreaterThanOrEqual(2);
      }
      // A body that fails while the service holds its first bytes: the upload ends, with the body's error.
      async function* breaks() {
        yield Buffer.alloc(9 << 20); // more than one Azure block or S3 part: a request is out
        await new Promise((r) => setTimeout(r, 50));
        throw new Error('the source broke');
      }
      const t0 = Date.now();
      const e = await silent.putStream('k', Readable.from(breaks())).catch((x: unknown) => x);
      expect(String(e) + String((e as Error).cause)).toMatch(/the source broke/);
      expect(Date.now() - t0).toBeLessThan(30_000);
    } finally {
      await silent.close();
      await notReading.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

/** The other side: a body that is slow to come (here 12 deadlines in all) is not a stalled upload. */
describe.each(['s3', 'azure', 'gcs'] as BackendKind[])('%s: an upload whose body is slow to come', (kind) => {
  test('goes up whole with a deadline shorter than the wait for its body', async () => {
    const loc = await createTestLocation(kind);
    const o = emulatorOptions([kind]);
    for (const c of [o.s3, o.azure, o.gcs]) if (c) c.requestTimeoutMs = TIMEOUT;
    const store = await openStore(loc.url, o);
    try {
      const chunks = Array.from({ length: 12 }, (_, i) => Buffer.alloc(64 << 10, 0x30 + i));
      async function* slow() {
        for (const c of chunks) {
          await new Promise((r) => setTimeout(r, TIMEOUT));
          yield c;
        }
      }
      await store.putStream('slow.bin', Readable.from(slow()));
      expect(Buffer.from(await store.get('slow.bin')).equals(Buffer.concat(chunks))).toBe(true);
    } finally {
      await store.close();
      await loc.cleanup();
    }
  }, 60_000);
});

/**
 * A download whose body stops flowing half way fails as transient once nothing has arrived for the
 * deadline (the request itself was answered, so only a body deadline can catch it); a reader that is merely
 * slow to read (backpressure) is not cut off.
 */
describe('a download whose body stops half way', () => {
  let http: HttpServer;
  let base: string;
  const BODY = 1 << 20;
  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      if (req.method !== 'GET') return void res.writeHead(404).end();
      res.writeHead(200, {
        'Content-Length': String(BODY),
        'Content-Type': 'application/octet-stream',
        ETag: '"0x1"',
        'Last-Modified': new Date(0).toUTCString(),
        'x-ms-blob-type': 'BlockBlob',
      });
      if (req.url?.includes('stall'))
        res.write(Buffer.alloc(1000, 0x61)); // …and nothing more
      else res.end(Buffer.alloc(BODY, 0x61));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
  });

  const stores: [string, string, () => StoreOptions][] = [
    [
      's3',
      's3://bucket/p',
      () => ({
        s3: {
          endpoint: base,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: { accessKeyId: 'k', secretAccessKey: 's' },
          requestTimeoutMs: TIMEOUT,
        },
        retry,
      }),
    ],
    [
      'azure',
      'az://devstoreaccount1/bucket/p',
      () => ({
        azure: { endpoint: `${base}/devstoreaccount1`, accountKey: AZURITE_KEY, requestTimeoutMs: TIMEOUT },
        retry,
      }),
    ],
    [
      'gcs',
      'gs://bucket/p',
      () => ({ gcs: { endpoint: base, projectId: 'p', requestTimeoutMs: TIMEOUT }, retry }),
    ],
  ];

  test.each(stores)(
    '%s: a stalled body fails as transient, and a slow reader is not cut off',
    async (_kind, url, options) => {
      const store = await openStore(url, options());
      try {
        const t0 = Date.now();
        const body = await store.getStream('stall.bin');
        let got = 0;
        const e = await (async () => {
          for await (const c of body) got += (c as Buffer).length;
        })().then(
          () => new Error('a stalled download ended normally'),
          (x: unknown) => x,
        );
        const ms = Date.now() - t0;
        expect([isTributaryError(e, 'STORAGE_TRANSIENT'), String(e)]).toEqual([true, expect.any(String)]);
        expect(got).toBeLessThan(BODY);
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT);
        expect(ms).toBeLessThan(30_000);

        // Not reading for 4 deadlines (the body waits in buffers, the source paused) is not a stall.
        const slow = await store.getStream('whole.bin');
        await new Promise((r) => setTimeout(r, 4 * TIMEOUT));
        let n = 0;
        for await (const c of slow) {
          n += (c as Buffer).length;
          await new Promise((r) => setTimeout(r, 1));
        }
        expect(n).toBe(BODY);
      } finally {
        await store.close();
      }
    },
    60_000,
  );
});
