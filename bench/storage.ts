/**
 * Storage throughput: our ObjectStore (openStore, retries included) against the raw SDK call that does the
 * same thing, in the same process and run, on every backend: local files, S3 (moto), Azure (Azurite),
 * GCS (fake-gcs-server). The emulators are started here and stopped at the end.
 *
 *   npx tsx bench/storage.ts            (npm run bench:storage)
 *   BENCH_MB=16 BENCH_REPS=3 BENCH_BACKENDS=local,azure npx tsx bench/storage.ts
 *
 * Each (backend, operation) runs one untimed warm-up per contender, then BENCH_REPS timed rounds that rotate
 * which contender goes first; the median is reported with the half-range of the rounds (±%), which shows how
 * noisy the machine was. Target: ours/raw ≥ 0.95.
 *
 * Baselines mirror the request shape our adapter sends, so the ratio is the cost of the abstraction rather
 * than of a different upload strategy: S3 multipart via lib-storage Upload with our part size and queue;
 * Azure uploadStream with our block size and concurrency; a single-request (non-resumable) GCS upload for a
 * Buffer. Where the brief names a different SDK call (Azure downloadToBuffer), that call is the baseline.
 */
import { promises as fs, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import type { ObjectStore } from '../lake/storage/object-store';
import { openStore } from '../lake/storage/open';
import { parseStoreUrl } from '../lake/storage/url';
import {
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  type BackendKind,
  createTestLocation,
  emulatorOptions,
} from '../test/harness/stores';
import { requireService } from '../test/harness/env';
import type { ServiceName } from '../deploy/local-services';
import { MiB, fmt, knob, median, ratio, rounds, startBenchServices, timeMs } from './common';

const SIZE_MB = knob('BENCH_MB', 64);
const REPS = knob('BENCH_REPS', 5);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'local,s3,azure,gcs')
  .split(',')
  .map((s) => s.trim()) as BackendKind[];
/** Chunk size of the streamed body: what fs.createReadStream hands out (uploadFile streams local files). */
const STREAM_CHUNK = 64 * 1024;
/** Kept equal to lake/storage/s3.ts and azure.ts (PART_SIZE/QUEUE_SIZE, STREAM_BLOCK_BYTES/STREAM_CONCURRENCY). */
const PART_SIZE = 8 * MiB;
const PART_QUEUE = 4;

const SRC_KEY = 'bench/src.bin';
const OURS_KEY = 'bench/ours.bin';
const RAW_KEY = 'bench/raw.bin';

const streamOf = (buf: Buffer): Readable => {
  const chunks: Buffer[] = [];
  for (let off = 0; off < buf.length; off += STREAM_CHUNK) chunks.push(buf.subarray(off, off + STREAM_CHUNK));
  return Readable.from(chunks, { objectMode: false });
};

/** The raw SDK side: the same three operations on the same bucket/container/directory. */
interface RawSide {
  putLabel: string;
  putStreamLabel: string;
  getLabel: string;
  put(key: string, buf: Buffer): Promise<unknown>;
  putStream(key: string, body: Readable): Promise<unknown>;
  get(key: string): Promise<Uint8Array>;
  /** Extra baselines that explain a gap (printed, not used for the ratio). */
  extras?: { op: Op; label: string; run(key: string, buf: Buffer): Promise<unknown> }[];
  close(): Promise<void>;
}

type Op = 'put' | 'putStream' | 'get';

function localRaw(root: string): RawSide {
  const file = (key: string) => path.join(root, ...key.split('/'));
  return {
    putLabel: 'fs.writeFile',
    putStreamLabel: 'pipeline → fs.createWriteStream',
    getLabel: 'fs.readFile',
    put: (key, buf) => fs.writeFile(file(key), buf),
    putStream: (key, body) => pipeline(body, createWriteStream(file(key))),
    get: (key) => fs.readFile(file(key)),
    extras: [
      {
        op: 'put',
        // What LocalStore.put does for atomicity and durability: temp file, fsync, rename.
        label: 'fs write+fsync+rename',
        run: async (key, buf) => {
          const tmp = `${file(key)}.tmp`;
          const fh = await fs.open(tmp, 'w');
          try {
            await fh.writeFile(buf);
            await fh.sync();
          } finally {
            await fh.close();
          }
          await fs.rename(tmp, file(key));
        },
      },
    ],
    close: async () => {},
  };
}

function s3Raw(bucket: string): RawSide {
  const client = new S3Client({
    endpoint: requireService('s3').endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  return {
    putLabel: 'PutObject',
    putStreamLabel: 'lib-storage Upload',
    getLabel: 'GetObject+transformToByteArray',
    put: (Key, Body) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body })),
    putStream: (Key, Body) =>
      new Upload({
        client,
        params: { Bucket: bucket, Key, Body },
        partSize: PART_SIZE,
        queueSize: PART_QUEUE,
      }).done(),
    get: async (Key) => {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
      return res.Body!.transformToByteArray();
    },
    close: async () => client.destroy(),
  };
}

function azureRaw(container: string): RawSide {
  const svc = new BlobServiceClient(
    requireService('azure').endpoint,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  );
  const c = svc.getContainerClient(container);
  return {
    putLabel: 'BlockBlobClient.upload',
    putStreamLabel: 'BlockBlobClient.uploadStream',
    getLabel: 'BlobClient.downloadToBuffer',
    put: (key, buf) => c.getBlockBlobClient(key).upload(buf, buf.length),
    putStream: (key, body) => c.getBlockBlobClient(key).uploadStream(body, PART_SIZE, PART_QUEUE),
    get: (key) => c.getBlobClient(key).downloadToBuffer(),
    extras: [
      {
        op: 'get',
        // The call our adapter makes: one download() whose body is concatenated.
        label: 'BlobClient.download+concat',
        run: async (key) => {
          const res = await c.getBlobClient(key).download();
          const chunks: Buffer[] = [];
          for await (const ch of res.readableStreamBody as Readable) chunks.push(ch as Buffer);
          return Buffer.concat(chunks);
        },
      },
    ],
    close: async () => {},
  };
}

function gcsRaw(bucket: string): RawSide {
  const storage = new Storage({
    apiEndpoint: requireService('gcs').endpoint,
    projectId: 'tributary-test',
    useAuthWithCustomEndpoint: false,
  });
  const b = storage.bucket(bucket);
  return {
    putLabel: 'file.save(Buffer, resumable:false)',
    putStreamLabel: 'file.save(stream) (resumable)',
    getLabel: 'file.download',
    put: (key, buf) => b.file(key).save(buf, { resumable: false }),
    putStream: (key, body) => b.file(key).save(body),
    get: async (key) => (await b.file(key).download())[0],
    extras: [
      { op: 'put', label: 'file.save(Buffer) SDK defaults', run: (key, buf) => b.file(key).save(buf) },
    ],
    close: async () => {},
  };
}

function rawFor(kind: BackendKind, url: string): RawSide {
  const loc = parseStoreUrl(url);
  switch (loc.kind) {
    case 'local':
      return localRaw(fileURLToPath(new URL(url)));
    case 's3':
      return s3Raw(loc.bucket);
    case 'azure':
      return azureRaw(loc.container);
    case 'gcs':
      return gcsRaw(loc.bucket);
  }
  throw new Error(`no raw side for ${kind}`);
}

/** Median throughput and the half-range of the repetitions around it, in percent. */
interface Rate {
  mbps: number;
  spreadPct: number;
}

const rateOf = (bytes: number, ms: readonly number[]): Rate => {
  const m = median(ms);
  return { mbps: bytes / MiB / (m / 1000), spreadPct: ((Math.max(...ms) - Math.min(...ms)) / m / 2) * 100 };
};

interface Row {
  backend: string;
  op: string;
  ours?: Rate;
  raw?: Rate;
  rawLabel: string;
  extras: { label: string; rate: Rate }[];
  error?: string;
}

async function benchBackend(kind: BackendKind, buf: Buffer, rows: Row[]): Promise<void> {
  const loc = await createTestLocation(kind);
  let store: ObjectStore | undefined;
  let raw: RawSide | undefined;
  const opLabel: Record<Op, string> = {
    put: `put ${SIZE_MB} MiB (Buffer)`,
    putStream: `putStream ${SIZE_MB} MiB`,
    get: `get ${SIZE_MB} MiB`,
  };
  const check = (got: Uint8Array) => {
    if (got.byteLength !== buf.length)
      throw new Error(`read ${got.byteLength} bytes, expected ${buf.length}`);
  };
  try {
    store = await openStore(loc.url, emulatorOptions([kind]));
    raw = rawFor(kind, loc.url);
    const s = store;
    const r = raw;
    const ops: { op: Op; rawLabel: string; ours: () => Promise<unknown>; raw: () => Promise<unknown> }[] = [
      { op: 'put', rawLabel: r.putLabel, ours: () => s.put(OURS_KEY, buf), raw: () => r.put(RAW_KEY, buf) },
      {
        op: 'putStream',
        rawLabel: r.putStreamLabel,
        ours: () => s.putStream(OURS_KEY, streamOf(buf)),
        raw: () => r.putStream(RAW_KEY, streamOf(buf)),
      },
      {
        op: 'get',
        rawLabel: r.getLabel,
        ours: async () => check(await s.get(SRC_KEY)),
        raw: async () => check(await r.get(SRC_KEY)),
      },
    ];
    for (const o of ops) {
      const row: Row = { backend: kind, op: opLabel[o.op], rawLabel: o.rawLabel, extras: [] };
      rows.push(row);
      try {
        // Written with the raw SDK so that a broken adapter put cannot spoil the get numbers.
        if (o.op === 'get') await r.put(SRC_KEY, buf);
        const extras = r.extras?.filter((x) => x.op === o.op) ?? [];
        const runs = [
          o.ours,
          o.raw,
          ...extras.map((x, i) => () => x.run(o.op === 'get' ? SRC_KEY : `bench/extra-${i}.bin`, buf)),
        ];
        const { times } = await rounds(
          runs.map((f) => () => timeMs(f)),
          REPS,
        );
        row.ours = rateOf(buf.length, times[0]!);
        row.raw = rateOf(buf.length, times[1]!);
        row.extras = extras.map((x, i) => ({ label: x.label, rate: rateOf(buf.length, times[i + 2]!) }));
      } catch (e) {
        row.error = errorText(e);
      }
      printRow(row);
    }
  } catch (e) {
    const row: Row = { backend: kind, op: '(setup)', rawLabel: '', extras: [], error: errorText(e) };
    rows.push(row);
    printRow(row);
  } finally {
    await store?.close().catch(() => {});
    await raw?.close().catch(() => {});
    await loc.cleanup();
  }
}

function errorText(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err?.cause instanceof Error ? ` (cause: ${err.cause.name}: ${err.cause.message})` : '';
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}${cause}`.replace(/\s+/g, ' ').slice(0, 400);
}

const rate = (r: Rate) => `${fmt(r.mbps)} MB/s (±${Math.round(r.spreadPct)}%)`;

function printRow(r: Row): void {
  const head = `${r.backend.padEnd(7)} ${r.op.padEnd(24)}`;
  if (r.error) return console.log(`${head} FAILED: ${r.error}`);
  console.log(
    `${head} tributary ${rate(r.ours!)}, raw ${r.rawLabel} ${rate(r.raw!)}, ratio ${ratio(r.ours!.mbps, r.raw!.mbps)}`,
  );
  for (const x of r.extras)
    console.log(
      `${''.padEnd(head.length)} for reference: raw ${x.label} ${rate(x.rate)}; tributary/this ${ratio(r.ours!.mbps, x.rate.mbps)}`,
    );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log(
    `bench:storage: ${SIZE_MB} MiB objects (random bytes), ${REPS} reps + 1 warm-up, median; MB = 2^20 bytes; ratio = tributary/raw (higher is better)`,
  );
  const cloud = BACKENDS.filter((b) => b !== 'local');
  const svc = await startBenchServices(cloud as ServiceName[]);
  const rows: Row[] = [];
  try {
    const buf = randomBytes(SIZE_MB * MiB);
    for (const kind of BACKENDS) {
      const s = svc.services.find((x) => x.name === kind);
      if (s?.error) {
        const row: Row = { backend: kind, op: '(service)', rawLabel: '', extras: [], error: s.error };
        rows.push(row);
        printRow(row);
        continue;
      }
      await benchBackend(kind, buf, rows);
    }
  } finally {
    await svc.stop();
  }
  const ok = rows.filter((r) => !r.error);
  const worst = ok.length
    ? ok.reduce((a, b) => (a.ours!.mbps / a.raw!.mbps <= b.ours!.mbps / b.raw!.mbps ? a : b))
    : undefined;
  if (worst)
    console.log(
      `lowest ratio: ${worst.backend} ${worst.op} ${ratio(worst.ours!.mbps, worst.raw!.mbps)}; ${rows.length - ok.length} of ${rows.length} rows failed`,
    );
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
