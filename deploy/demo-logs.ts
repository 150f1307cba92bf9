/**
 * Realistic service logs for the demo: JSON Lines as a log daemon writes them (some files gzipped), with
 * nested fields, `egress_approved` true/false/null, a field that appears only in later cycles (schema
 * evolution) and a few unreadable lines (bad JSON, invalid UTF-8) that must end up in quarantine.
 * Deterministic for a (seed, region, cycle, file) so a run can be reproduced.
 */
import { gzipSync } from 'node:zlib';

const SERVICES = [
  'checkout-api',
  'payments',
  'search',
  'auth',
  'inventory',
  'recommendations',
  'notifications',
  'gateway',
  'orders',
  'profile',
];
const LEVELS = ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'ERROR'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const TENANTS = ['acme-corp', 'globex', 'initech', 'umbrella', 'hooli'];

/** xorshift32 seeded from a string: small, fast and reproducible. */
function rng(seed: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  let x = h >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

export interface DemoLogFile {
  /** Object key under the region's raw prefix, e.g. `2026/11/26/cycle-01-file-02.jsonl.gz`. */
  key: string;
  body: Buffer;
  /** Non-blank lines in the file (good + bad). */
  lines: number;
  /** Lines that cannot be read (they belong in quarantine). */
  bad: number;
  /** Good lines whose egress_approved is true. */
  approved: number;
}

export function demoLogFile(opts: {
  seed: number;
  region: string;
  cycle: number;
  file: number;
  lines: number;
  /** Event time of the first line; later lines advance by a few ms. */
  start: Date;
  /** One line in this many is unreadable (0: none). */
  badEvery: number;
}): DemoLogFile {
  const r = rng(`${opts.seed}/${opts.region}/${opts.cycle}/${opts.file}`);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const parts: Buffer[] = [];
  let t = opts.start.getTime();
  let bad = 0;
  let approved = 0;
  for (let i = 0; i < opts.lines; i++) {
    t += 1 + Math.floor(r() * 20);
    if (opts.badEvery > 0 && i % opts.badEvery === opts.badEvery - 1) {
      bad++;
      // Alternate: a line cut short by a crashed daemon, and bytes that are not UTF-8.
      parts.push(
        i % 2
          ? Buffer.from(`{"ts":"${new Date(t).toISOString()}","level":"INFO","msg":"trunc\n`)
          : Buffer.concat([Buffer.from('{"msg":"'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"}\n')]),
      );
      continue;
    }
    const service = pick(SERVICES);
    const level = pick(LEVELS);
    const status = level === 'ERROR' ? 500 + Math.floor(r() * 4) : pick([200, 200, 200, 201, 204, 404]);
    const e = r();
    const approval = e < 0.6 ? true : e < 0.9 ? false : null;
    if (approval === true) approved++;
    const row: Record<string, unknown> = {
      ts: new Date(t).toISOString(),
      level,
      service,
      host: `ip-10-0-${Math.floor(r() * 8)}-${Math.floor(r() * 250)}`,
      msg: `${pick(METHODS)} /api/v2/${service}/${Math.floor(r() * 10000)} -> ${status}`,
      trace_id: hex(32),
      http: { method: pick(METHODS), status, latency_ms: Math.round(r() * 50000) / 100 },
      user: { id: Math.floor(r() * 1e7), tenant: pick(TENANTS) },
      region: opts.region,
      egress_approved: approval,
    };
    // From the second cycle on, daemons send a new field: the table gains a column (schema evolution).
    if (opts.cycle > 1 && r() < 0.3) row.feature_flags = ['new-checkout', pick(['a', 'b'])];
    parts.push(Buffer.from(`${JSON.stringify(row)}\n`));
  }
  const gz = opts.file % 3 === 2;
  const text = Buffer.concat(parts);
  const day = opts.start.toISOString().slice(0, 10).replace(/-/g, '/');
  const name = `cycle-${String(opts.cycle).padStart(2, '0')}-file-${String(opts.file).padStart(2, '0')}`;
  return {
    key: `${day}/${name}.jsonl${gz ? '.gz' : ''}`,
    body: gz ? gzipSync(text) : text,
    lines: opts.lines,
    bad,
    approved,
  };
}
