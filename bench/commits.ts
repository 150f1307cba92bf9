/**
 * Commit fairness under concurrent writers: W writers each append C times to one table, all at once, with
 * the default retry policy (aging backoff) and the one before it (growing backoff) in alternating rounds.
 * Reported per policy: commits/s, and the tries each commit took (median, p90, p99, max, histogram). The
 * aim is a worst case within a small multiple of the median without losing throughput.
 *
 * Each append is a real commit (put-if-absent of the next `_delta_log/<v>.json`, conflict check of every
 * winner) of one add of a file that is not written: the data write is not what is measured. It is stood in
 * for by a pause of up to BENCH_COMMIT_WORK_MS before each commit, after which the writer's read version
 * is stale whenever another committed meanwhile, as a real writer's is.
 *
 *   npx tsx bench/commits.ts                  (npm run bench:commits; local files, 50 writers × 20)
 *   BENCH_COMMITS_STORE=s3                    on the moto S3 emulator (started here), like central on S3
 *   BENCH_COMMIT_WRITERS=50 BENCH_COMMIT_APPENDS=20 BENCH_COMMIT_REPS=3 BENCH_COMMIT_WORK_MS=20
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import type { Action } from '../lake/delta/actions';
import { serializeSchema } from '../lake/delta/schema';
import { type CommitBackoff, agingBackoff, commit } from '../lake/delta/transaction';
import type { ObjectStore } from '../lake/storage/object-store';
import { openStore } from '../lake/storage/open';
import { defaultEngine } from '../lake/table/operations';
import { createTestLocation, emulatorOptions } from '../test/harness/stores';
import { BENCH_OUT, fmt, knob, median, startBenchServices } from './common';

/** The policy before the aging one (capped exponential, full jitter): the baseline this bench runs beside. */
const growingBackoff: CommitBackoff = (attempt) => Math.random() * Math.min(250, 10 * 2 ** attempt);

const WRITERS = knob('BENCH_COMMIT_WRITERS', 50);
const APPENDS = knob('BENCH_COMMIT_APPENDS', 20);
const REPS = knob('BENCH_COMMIT_REPS', 3);
const STORE = process.env.BENCH_COMMITS_STORE ?? 'local';
/** Each append's work before its commit (reading the source, writing Parquet): up to this many ms, uniform. */
const WORK_MS = knob('BENCH_COMMIT_WORK_MS', 20);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** One run: a new table, W writers appending C times each at once. Returns tries per commit and wall ms. */
async function race(
  open: (name: string) => Promise<ObjectStore>,
  backoff: CommitBackoff,
): Promise<{ tries: number[]; waits: number[]; ms: number }> {
  const store = await open(`commits-${randomUUID().slice(0, 8)}`);
  const create: Action[] = [
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: randomUUID(),
        format: { provider: 'parquet', options: {} },
        schemaString: serializeSchema({
          type: 'struct',
          fields: [{ name: 'x', type: 'long', nullable: true, metadata: {} }],
        }),
        partitionColumns: [],
        configuration: {},
        createdTime: Date.now(),
      },
    },
  ];
  await commit(store, defaultEngine, {
    readVersion: -1,
    operation: 'CREATE TABLE',
    isBlindAppend: false,
    actions: create,
  });
  const tries: number[] = [];
  const waits: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      let readVersion = 0;
      for (let i = 0; i < APPENDS; i++) {
        // The version read before the work: by the commit, others may have committed (a real writer's lot).
        await sleep(Math.random() * WORK_MS);
        const c0 = performance.now();
        const r = await commit(
          store,
          defaultEngine,
          {
            readVersion,
            operation: 'WRITE',
            isBlindAppend: true,
            actions: [
              {
                add: {
                  path: `part-w${w}-${i}-${randomUUID()}.parquet`,
                  partitionValues: {},
                  size: 1000,
                  modificationTime: Date.now(),
                  dataChange: true,
                },
              },
            ],
          },
          { backoff },
        );
        tries.push(r.attempts);
        waits.push(performance.now() - c0);
        readVersion = r.version;
      }
    }),
  );
  const ms = performance.now() - t0;
  if (store.kind === 'local') await fs.rm(new URL(store.url).pathname, { recursive: true, force: true });
  await store.close();
  return { tries, waits, ms };
}

async function main(): Promise<void> {
  let open: (name: string) => Promise<ObjectStore>;
  let stop = async () => {};
  if (STORE === 's3') {
    const svc = await startBenchServices(['s3']);
    const loc = await createTestLocation('s3');
    stop = async () => {
      await loc.cleanup();
      await svc.stop();
    };
    open = (name) => openStore(`${loc.url}/${name}`, emulatorOptions(['s3']));
  } else {
    const dir = path.join(BENCH_OUT, 'commit-runs');
    await fs.mkdir(dir, { recursive: true });
    open = (name) => openStore(`file://${path.join(dir, name)}`);
  }
  const policies: [string, CommitBackoff][] = [
    ['aging (default)', agingBackoff],
    ['growing (before)', growingBackoff],
  ];
  console.log(
    `bench:commits: ${WRITERS} writers × ${APPENDS} appends at once to one table on ${STORE}, up to ${WORK_MS} ms of work before each, ${REPS} rounds per policy ` +
      `(alternating); load ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
  );
  const all = new Map<string, { tries: number[]; waits: number[]; rates: number[] }>(
    policies.map(([n]) => [n, { tries: [], waits: [], rates: [] }]),
  );
  for (let rep = 0; rep < REPS; rep++)
    for (const [name, backoff] of rep % 2 ? [...policies].reverse() : policies) {
      const r = await race(open, backoff);
      const a = all.get(name)!;
      a.tries.push(...r.tries);
      a.waits.push(...r.waits);
      a.rates.push(r.tries.length / (r.ms / 1000));
      console.log(
        `  round ${rep + 1} ${name.padEnd(17)} ${fmt(r.tries.length / (r.ms / 1000), 1)} commits/s, tries median ${median(r.tries)} max ${Math.max(...r.tries)}`,
      );
    }
  console.log(
    `\n  policy             commits/s | tries: median  p90  p99  max  max/median | ms in commit: median    p90    p99    max  max/median`,
  );
  for (const [name, a] of all) {
    const m = median(a.tries);
    const w = median(a.waits);
    const col = (x: number, n: number) => fmt(x, 1).padStart(n);
    console.log(
      `  ${name.padEnd(17)} ${col(median(a.rates), 10)} | ${String(m).padStart(13)} ${String(pct(a.tries, 90)).padStart(4)} ${String(pct(a.tries, 99)).padStart(4)} ${String(Math.max(...a.tries)).padStart(4)} ${(Math.max(...a.tries) / m).toFixed(1).padStart(11)} | ` +
        `${col(w, 19)} ${col(pct(a.waits, 90), 6)} ${col(pct(a.waits, 99), 6)} ${col(Math.max(...a.waits), 6)} ${(Math.max(...a.waits) / w).toFixed(1).padStart(11)}`,
    );
  }
  const BUCKETS: [number, string][] = [
    [1, '1'],
    [2, '2'],
    [3, '3'],
    [5, '4-5'],
    [10, '6-10'],
    [20, '11-20'],
    [50, '21-50'],
    [100, '51-100'],
    [Infinity, '>100'],
  ];
  for (const [name, a] of all) {
    const h = BUCKETS.map(([hi, label]) => ({ hi, label, n: 0 }));
    for (const t of a.tries) h.find((b) => t <= b.hi)!.n++;
    console.log(
      `  ${name} tries histogram: ${h
        .filter((b) => b.n > 0)
        .map((b) => `${b.label}: ${b.n}`)
        .join(', ')}`,
    );
  }
  await stop();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
