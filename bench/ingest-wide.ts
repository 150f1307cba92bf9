/**
 * Peak memory of one ingest batch whose lines are built to be wide, against a batch of ordinary log lines
 * of about the same size run side by side (the baseline). Each scenario runs in a child process of its own
 * (planBatches + ingestBatch on the local filesystem, as bench/ingest.ts does), so its peak RSS
 * (`process.resourceUsage().maxRSS`) is its own:
 *
 *   narrow       ~1.4 MB of ordinary log lines in 13 files (the baseline)
 *   wide-line    a 79 KB file whose middle line has 5,000 keys, and 12 small ordinary files
 *   key-per-line the batch: the wide-line file, a 30,000-line file adding a new key on every line,
 *                and 11 small files (1.4 MB in all; it grew a worker to 14 GB before the column limits)
 *   long-arrays  lines holding arrays of 100,000 numbers (1.4 MB)
 *   nested-wide  a struct that gains 3,000 nested keys over 3,000 lines
 *
 *   npx tsx bench/ingest-wide.ts            (npm run bench:ingest-wide)
 *   BENCH_WIDE_SCENARIOS=narrow,key-per-line npx tsx bench/ingest-wide.ts
 *
 * Prints per scenario: wall time, peak RSS, RSS over the baseline's, the columns the batch added, rows,
 * rescued and quarantined lines. The column limits (500 new columns per batch, 2,000 per table) are what
 * bound the schema, and so the memory, whatever the shapes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ingestBatch } from '../activities/ingest/batch';
import { planBatches } from '../activities/ingest/plan';
import type { IngestTarget } from '../shapes/targets';
import { openStore } from '../lake/storage/open';

const SCENARIOS = ['narrow', 'wide-line', 'key-per-line', 'long-arrays', 'nested-wide'] as const;
type Scenario = (typeof SCENARIOS)[number];

const logLine = (k: number) =>
  JSON.stringify({
    ts: new Date(Date.UTC(2024, 4, 1, 0, 0, k % 60)).toISOString(),
    service: `svc-${k % 7}`,
    level: ['INFO', 'WARN', 'ERROR'][k % 3],
    msg: `request ${k} handled in the usual way`,
    latency_ms: (k * 37) % 1000,
    http: { method: k % 2 ? 'GET' : 'POST', status: 200 + (k % 5) * 100, path: `/v1/items/${k % 300}` },
  });
const lines = (from: number, n: number) => Array.from({ length: n }, (_, i) => logLine(from + i));
const text = (ls: string[]) => Buffer.from(ls.join('\n') + '\n');

function files(s: Scenario): [string, Buffer][] {
  const small = (n: number) =>
    Array.from({ length: n }, (_, i) => [`small-${i}.jsonl`, text(lines(i * 1000, 200))] as [string, Buffer]);
  const wideFile = (): [string, Buffer] => {
    const ls = lines(90_000, 200);
    ls.splice(
      100,
      0,
      JSON.stringify(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key_${i}`, i]))),
    );
    return ['wide.jsonl', text(ls)];
  };
  switch (s) {
    case 'narrow':
      return [...small(12), ['more.jsonl', text(lines(50_000, 1500))]];
    case 'wide-line':
      return [wideFile(), ...small(12)];
    case 'key-per-line':
      return [
        wideFile(),
        ['per-line.jsonl', text(Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ [`k${i}`]: i })))],
        ...small(11),
      ];
    case 'long-arrays':
      return [
        [
          'arrays.jsonl',
          text(
            Array.from({ length: 3 }, (_, j) =>
              JSON.stringify({
                ts: '2024-05-01T00:00:00Z',
                xs: Array.from({ length: 100_000 }, (_, i) => i + j),
              }),
            ),
          ),
        ],
        ...small(3),
      ];
    case 'nested-wide':
      return [
        [
          'nested.jsonl',
          text(
            Array.from({ length: 3000 }, (_, i) =>
              JSON.stringify({ ts: '2024-05-01T00:00:00Z', attrs: { [`a${i}`]: i, common: 'x' } }),
            ),
          ),
        ],
        ...small(12),
      ];
  }
}

interface Measured {
  scenario: Scenario;
  bytes: number;
  ms: number;
  maxRssMB: number;
  addedColumns: number;
  rows: number;
  rescued: number;
  quarantined: number;
}

async function child(s: Scenario): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wide-${s}-`));
  try {
    const base = pathToFileURL(dir).href;
    const raw = await openStore(`${base}/raw`);
    let bytes = 0;
    for (const [k, b] of files(s)) {
      await raw.put(`in/${k}`, b);
      bytes += b.length;
    }
    const target: IngestTarget = {
      region: 'wide',
      raw: `${base}/raw`,
      table: `${base}/table`,
      quarantine: `${base}/table_quarantine`,
      maxFilesPerBatch: 1000,
      maxBytesPerBatch: 1 << 30,
      maxLineBytes: 1 << 20,
      eventTimeColumn: 'ts',
    };
    const deps = { open: openStore };
    const t0 = performance.now();
    const plan = await planBatches(deps, { target, maxBatches: 8 });
    let m = { addedColumns: 0, rows: 0, rescued: 0, quarantined: 0 };
    for (const seq of plan.pending) {
      const r = await ingestBatch(deps, { target, seq });
      m = {
        addedColumns: m.addedColumns + r.addedColumns.length,
        rows: m.rows + r.rows,
        rescued: m.rescued + r.rescued,
        quarantined: m.quarantined + r.quarantined,
      };
    }
    const out: Measured = {
      scenario: s,
      bytes,
      ms: Math.round(performance.now() - t0),
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      ...m,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function parent(): void {
  const want = (process.env.BENCH_WIDE_SCENARIOS ?? SCENARIOS.join(',')).split(',') as Scenario[];
  const order: Scenario[] = want.includes('narrow') ? want : ['narrow', ...want];
  const results: Measured[] = [];
  for (const s of order) {
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', s], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      timeout: 10 * 60_000,
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      process.stderr.write(`${s}: failed (exit ${r.status ?? r.signal})\n${r.stderr.slice(-2000)}\n`);
      process.exitCode = 1;
      continue;
    }
    results.push(JSON.parse(line) as Measured);
  }
  const base = results.find((r) => r.scenario === 'narrow');
  const rows = results.map((r) => [
    r.scenario,
    `${(r.bytes / 1e6).toFixed(2)} MB`,
    `${(r.ms / 1000).toFixed(1)} s`,
    `${r.maxRssMB} MB`,
    base ? `${(r.maxRssMB / base.maxRssMB).toFixed(2)}x` : '-',
    String(r.addedColumns),
    String(r.rows),
    String(r.rescued),
    String(r.quarantined),
  ]);
  const head = [
    'scenario',
    'input',
    'wall',
    'peak RSS',
    'vs narrow',
    'columns added',
    'rows',
    'rescued',
    'quarantined',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows])
    process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
}

if (process.argv[2] === '--child')
  void child(process.argv[3] as Scenario).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
else parent();
