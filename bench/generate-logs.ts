/**
 * Deterministic corpus of realistic service logs for bench/ingest.ts: JSON Lines files of 32–64 MiB (the
 * last one takes the remainder), optionally some of them gzipped, written under bench/out/ (git-ignored)
 * and reused by later runs with the same parameters.
 *
 *   npx tsx bench/generate-logs.ts                      1024 MiB, plain JSON Lines, seed 1
 *   npx tsx bench/generate-logs.ts --mb 256 --gzip      256 MiB, one file in four gzipped
 *   npx tsx bench/generate-logs.ts --gzip 0.5 --seed 7  half the files gzipped (deterministic choice)
 *   (or BENCH_INGEST_MB / BENCH_INGEST_GZIP / BENCH_INGEST_SEED)
 *
 * Sizes are of the uncompressed JSON text (MiB = 2^20 bytes). Each line is one record from one of 300
 * services (Zipf-like popularity), e.g.
 *
 *   {"ts":"2025-03-14T06:00:00.123456Z","level":"INFO","service":"checkout-api","host":"ip-10-0-3-17",
 *    "msg":"request completed in 12.3 ms","trace_id":"…32 hex…","span_id":"…16 hex…",
 *    "http":{"method":"GET","path":"/api/v2/orders/123","status":200,"latency_ms":12.345},
 *    "k8s":{"namespace":"checkout","pod":"checkout-api-6f7c9d8b5-x2k4p","node":"ip-10-0-3-17.eu-west-1.compute.internal"},
 *    "user":{"id":1234567,"tenant":"acme-corp"},"egress_approved":true}
 *
 * http (request-serving roles only) and user are present on most lines, egress_approved is true/false/null,
 * and a few percent of lines carry extra fields (error {type, message, stack} on errors, db {system,
 * statement, rows, duration_ms}, retry_count, feature_flags [...], cache_hit, bytes_out). Messages range
 * from ~20 characters to multi-KB stack traces and SQL. Timestamps (microseconds, Z) advance through the
 * corpus over 24 h from 2025-03-14T06:00Z (so rows fall on two dates), with a few ms of jitter.
 *
 * Every file has its own PRNG stream (seed, file index), so files are generated in parallel on
 * worker_threads (one per core) and the output does not depend on the number of workers.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  createWriteStream,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createGzip } from 'node:zlib';

/** Change whenever the output of the generator changes, so cached corpora are not reused. */
const GENERATOR_VERSION = 2;
const MiB = 1024 * 1024;
const DEFAULT_OUT = path.join(__dirname, 'out', 'ingest-corpus');

export interface CorpusParams {
  /** Total uncompressed JSON size in MiB. */
  mb: number;
  /** Fraction of files gzipped, spread evenly (0 = none; 0.25 = one in four). */
  gzip: number;
  seed: number;
}

export interface CorpusFile {
  /** Path relative to the corpus's raw/ directory. */
  name: string;
  /** Uncompressed JSON bytes. */
  bytes: number;
  /** Bytes on disk (= bytes unless gzipped). */
  size: number;
  rows: number;
  gzip: boolean;
}

export interface Corpus {
  params: CorpusParams;
  generator: number;
  dir: string;
  /** The directory holding the log files (the raw location to ingest). */
  raw: string;
  files: CorpusFile[];
  rows: number;
  bytes: number;
  size: number;
  /** Seconds spent generating (when this corpus was first written). */
  generatedSeconds: number;
  workers: number;
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness

/** sfc32: small, fast, good enough for synthetic data; seeded from (seed, stream) through splitmix32. */
function prng(seed: number, stream: number): () => number {
  let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  const mix = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let d = 1;
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
}

// ---------------------------------------------------------------------------------------------------------
// Vocabulary (fixed, independent of the seed)

const DOMAINS = [
  'checkout',
  'payments',
  'orders',
  'cart',
  'catalog',
  'search',
  'auth',
  'identity',
  'billing',
  'invoicing',
  'shipping',
  'inventory',
  'pricing',
  'promotions',
  'reviews',
  'recommendations',
  'notifications',
  'email',
  'sms',
  'media',
  'uploads',
  'reports',
  'analytics',
  'fraud',
  'risk',
  'ledger',
  'accounts',
  'profiles',
  'sessions',
  'gateway',
];
const ROLES = ['api', 'worker', 'consumer', 'scheduler', 'grpc', 'web', 'admin', 'sync', 'indexer', 'proxy'];
/** Roles that serve HTTP (their lines usually carry an http block). */
const HTTP_ROLES = new Set(['api', 'grpc', 'web', 'admin', 'proxy']);
const SERVICES = DOMAINS.flatMap((d) =>
  ROLES.map((r) => ({ name: `${d}-${r}`, ns: d, http: HTTP_ROLES.has(r) })),
);
const LEVELS: [string, number][] = [
  ['DEBUG', 0.14],
  ['INFO', 0.66],
  ['WARN', 0.12],
  ['ERROR', 0.07],
  ['FATAL', 0.01],
];
const METHODS = [
  'GET',
  'GET',
  'GET',
  'GET',
  'GET',
  'POST',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
];
const RESOURCES = [
  'orders',
  'users',
  'carts',
  'items',
  'products',
  'sessions',
  'invoices',
  'payments',
  'shipments',
  'search',
  'tokens',
  'reports',
  'webhooks',
  'files',
  'accounts',
];
const STATUS_OK = [200, 200, 200, 200, 200, 200, 201, 202, 204, 204, 301, 302, 304];
const STATUS_WARN = [400, 401, 403, 404, 404, 404, 409, 422, 429];
const STATUS_ERR = [500, 502, 503, 504];
const TENANTS = Array.from(
  { length: 200 },
  (_, i) =>
    `${['acme', 'globex', 'initech', 'umbrella', 'hooli', 'stark', 'wayne', 'wonka', 'tyrell', 'cyberdyne'][i % 10]}-${['corp', 'labs', 'eu', 'us', 'apac', 'retail', 'bank', 'health', 'media', 'gov', 'dev', 'prod', 'test', 'edu', 'ops', 'cloud', 'data', 'net', 'io', 'ai'][Math.floor(i / 10)]}`,
);
const NODES = Array.from({ length: 64 }, (_, i) => `ip-10-0-${(i * 7) % 32}-${(i * 37) % 250}`);
const EXCEPTIONS = [
  'TimeoutError',
  'ConnectionResetError',
  'NullPointerException',
  'IllegalStateException',
  'KeyError',
  'ValidationError',
  'DeadlineExceeded',
  'SQLIntegrityConstraintViolationException',
];
const FLAGS = [
  'new_checkout',
  'fast_search',
  'dark_mode',
  'beta_pricing',
  'async_invoices',
  'v2_auth',
  'edge_cache',
  'recs_model_b',
];
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const ALNUM = 'bcdfghjklmnpqrstvwxz2456789';

// ---------------------------------------------------------------------------------------------------------
// One file

const T0_US = Date.UTC(2025, 2, 14, 6, 0, 0) * 1000;
const SPAN_US = 24 * 3600 * 1e6;

interface FileJob {
  index: number;
  file: string;
  bytes: number;
  /** Uncompressed bytes of all files before this one, and of the whole corpus (for the timeline). */
  offset: number;
  total: number;
  gzip: boolean;
  seed: number;
}

/** Writes one file; returns the number of rows and the exact number of uncompressed bytes. */
export async function generateFile(job: FileJob): Promise<{ rows: number; bytes: number }> {
  const r = prng(job.seed, job.index);
  const u = () => r() / 4294967296;
  const pick = <T>(xs: readonly T[]): T => xs[r() % xs.length]!;
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i += 4) {
      const x = r();
      s += HEX[x & 255]! + HEX[(x >>> 8) & 255]! + HEX[(x >>> 16) & 255]! + HEX[x >>> 24]!;
    }
    return s;
  };
  const word = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += ALNUM[r() % ALNUM.length];
    return s;
  };
  // Per-service deployment: a few pods each (pod names stable for the corpus: seeded by the service only).
  const pods = SERVICES.map((s, i) => {
    const pr = prng(job.seed, 1_000_000 + i);
    const rs = Array.from({ length: 10 }, () => ALNUM[pr() % ALNUM.length]).join('');
    return Array.from({ length: 2 + (pr() % 7) }, () => ({
      pod: `${s.name}-${rs.slice(0, 9)}-${Array.from({ length: 5 }, () => ALNUM[pr() % ALNUM.length]).join('')}`,
      node: NODES[pr() % NODES.length]!,
    }));
  });
  const level = () => {
    let x = u();
    for (const [l, p] of LEVELS) if ((x -= p) < 0) return l;
    return 'INFO';
  };
  // Timestamps: position in the 24 h span follows the byte position in the corpus; ISO prefix cached per second.
  const tStart = T0_US + (SPAN_US * job.offset) / job.total;
  const tScale = SPAN_US / job.total;
  let lastSec = -1;
  let secPrefix = '';
  const ts = (bytePos: number) => {
    const us = Math.floor(tStart + tScale * bytePos + (u() - 0.5) * 4000);
    const sec = Math.floor(us / 1e6);
    if (sec !== lastSec) {
      lastSec = sec;
      secPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
    }
    return `${secPrefix}.${String(1_000_000 + (us - sec * 1e6)).slice(1)}Z`;
  };
  /**
   * Milliseconds with 1–3 decimals and a non-zero fractional part (so every reader infers a floating type
   * from any value); k / 1000 prints as exactly those decimals.
   */
  const millis = (scale: number) => {
    const k = Math.floor(Math.exp(u() * scale) * 1000);
    return (k % 1000 === 0 ? k + 1 : k) / 1000;
  };

  const message = (svc: string, lvl: string, http: boolean, ms: number, status: number): string => {
    const x = r() % 100;
    if (lvl === 'ERROR' || lvl === 'FATAL') {
      if (x < 30)
        return `unhandled ${pick(EXCEPTIONS)} while processing request: ${pick(['upstream closed the connection', 'deadline exceeded after 30s', 'invalid state transition PENDING -> SHIPPED', 'missing required field \\"customer_id\\"', 'pool exhausted (max=50)'])}`;
      if (x < 60)
        return `failed to call ${pick(SERVICES).name}: ${pick(['503 Service Unavailable', 'context deadline exceeded', 'connection refused', 'TLS handshake timeout'])} (attempt ${1 + (r() % 5)}/5)`;
      return `job ${word(8)} failed after ${ms} ms`;
    }
    if (http && x < 55) return `${pick(METHODS)} request completed with ${status} in ${ms} ms`;
    if (x < 65) return `cache ${r() % 3 ? 'hit' : 'miss'} for key ${pick(RESOURCES)}:${r() % 100000}`;
    if (x < 72)
      return `user ${r() % 5_000_000} ${pick(['logged in', 'logged out', 'updated profile', 'added item to cart', 'started checkout', 'requested password reset'])}`;
    if (x < 78)
      return `published ${1 + (r() % 500)} events to topic ${svc}.${pick(RESOURCES)}.v${1 + (r() % 3)}`;
    if (x < 83) return `consumer lag for partition ${r() % 64} is ${r() % 20000} messages`;
    if (x < 88)
      return `scheduled task ${word(6)} finished in ${ms} ms, next run at ${new Date(T0_US / 1000 + (r() % 86_400_000)).toISOString()}`;
    if (x < 92) return `config reloaded: ${1 + (r() % 40)} keys changed`;
    if (x < 95) return `health check ok`;
    if (x < 98)
      return `slow query (${ms} ms): SELECT o.id, o.status, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.tenant_id = $1 AND o.created_at > $2 ORDER BY o.created_at DESC LIMIT ${r() % 500}`;
    // Occasionally a long diagnostic dump (1–4 KB).
    let s = `request dump ${word(12)}:`;
    const n = 10 + (r() % 40);
    for (let i = 0; i < n; i++) s += ` header_${i}=${word(8 + (r() % 40))};`;
    return s;
  };

  const stack = (exc: string) => {
    let s = `${exc}: ${pick(['timeout', 'unexpected EOF', 'bad state'])}\\n`;
    const n = 5 + (r() % 25);
    for (let i = 0; i < n; i++)
      s += `\\tat com.example.${pick(DOMAINS)}.${pick(['Service', 'Handler', 'Repository', 'Client', 'Controller'])}.${pick(['handle', 'process', 'call', 'execute', 'apply'])}(${pick(['Service', 'Handler', 'Client'])}.java:${10 + (r() % 900)})\\n`;
    return s;
  };

  const record = (bytePos: number): string => {
    // Zipf-like: a few services log most of the lines.
    const si = Math.floor(Math.pow(u(), 2.2) * SERVICES.length);
    const svc = SERVICES[si]!;
    const pod = pods[si]![r() % pods[si]!.length]!;
    const lvl = level();
    const hasHttp = svc.http && r() % 10 < 8;
    const ms = millis(hasHttp ? 7 : 9);
    const status =
      lvl === 'ERROR' || lvl === 'FATAL'
        ? pick(STATUS_ERR)
        : lvl === 'WARN'
          ? pick(STATUS_WARN)
          : pick(STATUS_OK);
    let s = `{"ts":"${ts(bytePos)}","level":"${lvl}","service":"${svc.name}","host":"${pod.node}","msg":"${message(svc.name, lvl, hasHttp, ms, status)}","trace_id":"${hex(16)}","span_id":"${hex(8)}"`;
    if (hasHttp) {
      const res = pick(RESOURCES);
      const q = r() % 10 === 0 ? `?page=${r() % 50}&limit=${pick([10, 20, 50, 100])}` : '';
      s += `,"http":{"method":"${pick(METHODS)}","path":"/api/v${1 + (r() % 3)}/${res}/${r() % 1_000_000}${q}","status":${status},"latency_ms":${ms}}`;
    }
    s += `,"k8s":{"namespace":"${svc.ns}","pod":"${pod.pod}","node":"${pod.node}.eu-west-1.compute.internal"}`;
    if (r() % 10 < 7) s += `,"user":{"id":${1 + (r() % 5_000_000)},"tenant":"${pick(TENANTS)}"}`;
    const e = r() % 10;
    s += `,"egress_approved":${e < 6 ? 'true' : e < 9 ? 'false' : 'null'}`;
    // Occasional extra fields.
    const x = r() % 1000;
    if ((lvl === 'ERROR' || lvl === 'FATAL') && x < 400) {
      const exc = pick(EXCEPTIONS);
      s += `,"error":{"type":"${exc}","message":"${pick(['operation timed out', 'connection reset by peer', 'constraint violated'])}","stack":"${stack(exc)}"}`;
    } else if (x < 30)
      s += `,"db":{"system":"${pick(['postgresql', 'mysql', 'redis', 'dynamodb'])}","statement":"SELECT * FROM ${pick(RESOURCES)} WHERE id = $1","rows":${r() % 1000},"duration_ms":${millis(6)}}`;
    else if (x < 50) s += `,"retry_count":${1 + (r() % 5)}`;
    else if (x < 65) s += `,"feature_flags":["${pick(FLAGS)}","${pick(FLAGS)}"]`;
    else if (x < 85) s += `,"cache_hit":${r() % 2 ? 'true' : 'false'},"bytes_out":${r() % 10_000_000}`;
    return `${s}}\n`;
  };

  // Each line goes straight into a ~4 MiB buffer (short-lived strings: little GC work), written out
  // synchronously (plain) or through a gzip stream.
  const CHUNK = 4 * MiB;
  const MAX_LINE = 64 * 1024;
  let rows = 0;
  let written = 0;
  const target = job.bytes;
  const fd = job.gzip ? undefined : openSync(job.file, 'w');
  const gz = job.gzip ? createGzip({ level: 1, chunkSize: 1 * MiB }) : undefined;
  const gzOut = gz ? gz.pipe(createWriteStream(job.file, { highWaterMark: 4 * MiB })) : undefined;
  try {
    while (written < target) {
      const buf = Buffer.allocUnsafe(CHUNK + MAX_LINE);
      let len = 0;
      while (len < CHUNK && written + len < target) {
        const line = record(written + len);
        if (line.length > MAX_LINE) throw new Error('generated line too long');
        len += buf.write(line, len, 'latin1'); // ASCII only: characters = bytes
        rows++;
      }
      written += len;
      if (fd !== undefined) writeSync(fd, buf, 0, len);
      else if (!gz!.write(buf.subarray(0, len))) await once(gz!, 'drain');
    }
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (gz) {
    gz.end();
    await once(gzOut!, 'finish');
  }
  return { rows, bytes: written };
}

// ---------------------------------------------------------------------------------------------------------
// The corpus

const corpusKey = (p: CorpusParams) => `g${GENERATOR_VERSION}-seed${p.seed}-${p.mb}mib-gz${p.gzip}`;

/** File names and sizes: 32–64 MiB each, drawn from the seed; the last file takes what is left. */
function layout(p: CorpusParams): { name: string; bytes: number; gzip: boolean }[] {
  const r = prng(p.seed, 0x7fffffff);
  const total = Math.round(p.mb * MiB);
  const out: { name: string; bytes: number; gzip: boolean }[] = [];
  for (let done = 0, i = 0; done < total; i++) {
    let n = (32 + (r() % 33)) * MiB;
    if (total - done - n < 16 * MiB) n = total - done; // never leave a tiny last file when it can be avoided
    const gzip = Math.round((i + 1) * p.gzip) > Math.round(i * p.gzip); // a fraction p.gzip of files, spread evenly
    out.push({
      name: `part-${String(i).padStart(5, '0')}.jsonl${gzip ? '.gz' : ''}`,
      bytes: Math.min(n, total - done),
      gzip,
    });
    done += Math.min(n, total - done);
  }
  return out;
}

function readCached(dir: string, p: CorpusParams): Corpus | undefined {
  const meta = path.join(dir, 'corpus.json');
  if (!existsSync(meta)) return undefined;
  try {
    const c = JSON.parse(readFileSync(meta, 'utf8')) as Corpus;
    if (c.generator !== GENERATOR_VERSION || JSON.stringify(c.params) !== JSON.stringify(p)) return undefined;
    for (const f of c.files) if (statSync(path.join(dir, 'raw', f.name)).size !== f.size) return undefined;
    return { ...c, dir, raw: path.join(dir, 'raw') };
  } catch {
    return undefined;
  }
}

/**
 * The corpus for these parameters: reused from `root` when a complete one is there (corpus.json is
 * written last), else generated (other corpora under `root` are removed first to bound disk use).
 */
export async function ensureCorpus(
  p: CorpusParams,
  opts: { root?: string; log?: (s: string) => void } = {},
): Promise<Corpus & { reused: boolean }> {
  const root = opts.root ?? DEFAULT_OUT;
  const dir = path.join(root, corpusKey(p));
  const cached = readCached(dir, p);
  if (cached) return { ...cached, reused: true };
  if (existsSync(root))
    for (const d of readdirSync(root)) {
      opts.log?.(`removing stale corpus ${path.join(root, d)}`);
      rmSync(path.join(root, d), { recursive: true, force: true });
    }
  const raw = path.join(dir, 'raw');
  mkdirSync(raw, { recursive: true });
  const plan = layout(p);
  const total = plan.reduce((n, f) => n + f.bytes, 0);
  let offset = 0;
  const jobs: FileJob[] = plan.map((f, index) => {
    const j = {
      index,
      file: path.join(raw, f.name),
      bytes: f.bytes,
      offset,
      total,
      gzip: f.gzip,
      seed: p.seed,
    };
    offset += f.bytes;
    return j;
  });
  const workers = Math.max(1, Math.min(jobs.length, availableParallelism()));
  opts.log?.(
    `generating ${plan.length} files, ${(total / MiB).toFixed(0)} MiB, on ${workers} worker threads into ${raw}`,
  );
  const t0 = performance.now();
  const results: { rows: number; bytes: number }[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      // tsx registers its loader for the main thread only; the worker registers it itself.
      const w = new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, {
        eval: true,
        workerData: { generateLogsWorker: true },
      });
      try {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          w.postMessage(job);
          const [res] = (await once(w, 'message')) as [{ rows: number; bytes: number } | { error: string }];
          if ('error' in res) throw new Error(`generating ${job.file}: ${res.error}`);
          results[job.index] = res;
        }
      } finally {
        await w.terminate();
      }
    }),
  );
  const generatedSeconds = (performance.now() - t0) / 1000;
  const files: CorpusFile[] = plan.map((f, i) => ({
    name: f.name,
    bytes: results[i]!.bytes,
    size: statSync(jobs[i]!.file).size,
    rows: results[i]!.rows,
    gzip: f.gzip,
  }));
  const corpus: Corpus = {
    params: p,
    generator: GENERATOR_VERSION,
    dir,
    raw,
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    size: files.reduce((n, f) => n + f.size, 0),
    generatedSeconds,
    workers,
  };
  writeFileSync(path.join(dir, 'corpus.json'), JSON.stringify(corpus, null, 1));
  return { ...corpus, reused: false };
}

/** Parameters from argv (--mb N, --gzip [FRACTION], --seed N), else BENCH_INGEST_* env, else defaults. */
export function corpusParams(
  argv: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): CorpusParams {
  const num = (name: string, raw: string | undefined, dflt: number, min: number, max: number) => {
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`${name} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    return n;
  };
  const flag = (name: string): string | undefined => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    const a = argv[i]!;
    if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
    const v = argv[i + 1];
    return v !== undefined && !v.startsWith('--') ? v : '';
  };
  const gz = flag('gzip');
  return {
    mb: num('BENCH_INGEST_MB', flag('mb') ?? env.BENCH_INGEST_MB, 1024, 1, 1 << 20),
    gzip: gz === '' ? 0.25 : num('BENCH_INGEST_GZIP', gz ?? env.BENCH_INGEST_GZIP, 0, 0, 1),
    seed: Math.floor(num('BENCH_INGEST_SEED', flag('seed') ?? env.BENCH_INGEST_SEED, 1, 0, 2 ** 31)),
  };
}

if (!isMainThread && (workerData as { generateLogsWorker?: boolean } | null)?.generateLogsWorker) {
  parentPort!.on('message', (job: FileJob) => {
    generateFile(job).then(
      (res) => parentPort!.postMessage(res),
      (e: unknown) => parentPort!.postMessage({ error: String((e as Error)?.stack ?? e) }),
    );
  });
} else if (isMainThread && require.main === module) {
  const p = corpusParams(process.argv.slice(2));
  ensureCorpus(p, { log: (s) => console.log(s) }).then(
    (c) => {
      console.log(
        `${c.reused ? 'reused' : 'generated'} ${c.dir}: ${c.files.length} files (${c.files.filter((f) => f.gzip).length} gzipped), ` +
          `${c.rows.toLocaleString('en-US')} rows, ${(c.bytes / MiB).toFixed(1)} MiB JSON, ${(c.size / MiB).toFixed(1)} MiB on disk` +
          (c.reused
            ? ''
            : `, in ${c.generatedSeconds.toFixed(1)} s (${(c.bytes / MiB / c.generatedSeconds).toFixed(0)} MiB/s, ${c.workers} workers)`),
      );
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
