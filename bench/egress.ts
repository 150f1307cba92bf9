/**
 * Egress throughput: a regional table (built by real ingestion of the bench/generate-logs.ts corpus, one
 * commit per file) → a fresh central table, two ways in the same run on the same Parquet files:
 *
 *   1. tributary: egressBatch (activities/egress) called directly, no Temporal: reads the source commits as a
 *      change stream, keeps rows where `egress_approved = true` (the parsed predicate), appends them to the
 *      central table in one commit with txn(appId, source version), stats and all.
 *   2. duckdb: a bare COPY (SELECT * FROM read_parquet([the regional table's data files]) WHERE
 *      egress_approved) TO one Parquet file (zstd), on the same DuckDB instance (same threads).
 *
 * MB/s are MiB of source Parquet read per second (the same numerator for both, so the ratio is a time ratio).
 *
 *   npx tsx bench/egress.ts                                  (npm run bench:egress; 256 MiB of JSON ingested)
 *   BENCH_EGRESS_MB=64 BENCH_EGRESS_REPS=1 npx tsx bench/egress.ts     (quick)
 *   TRIBUTARY_DUCKDB_THREADS=N                                DuckDB threads for both sides (default 2)
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { egressBatch } from '../activities/egress/batch';
import { dataFileKey } from '../lake/delta/paths';
import { sqlString, withConnection } from '../lake/engine/duckdb';
import { openStore } from '../lake/storage/open';
import { defaultEngine, latestSnapshot } from '../lake/table/operations';
import { BENCH_OUT, MiB, fmt, knob, median, ratio, rounds, ingestPerFile } from './common';
import { corpusParams, ensureCorpus } from './generate-logs';

const REPS = knob('BENCH_EGRESS_REPS', 3);
const MB = knob('BENCH_EGRESS_MB', 256);
const RUNS = path.join(BENCH_OUT, 'egress-runs');

async function main(): Promise<void> {
  console.log(
    'bench:egress: regional Delta table → central table, egress_approved rows; tributary vs DuckDB bare COPY, same files, same run',
  );
  console.log(
    `machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model}, node ${process.version}; load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  // Its own corpus folder: ensureCorpus clears other corpora under its root (bench/ingest keeps its own).
  const corpus = await ensureCorpus(
    { ...corpusParams([]), mb: MB },
    { root: path.join(BENCH_OUT, 'egress-corpus'), log: (s) => console.log(`  ${s}`) },
  );
  await fs.rm(RUNS, { recursive: true, force: true });
  await fs.mkdir(RUNS, { recursive: true });

  // The regional table, by real ingestion: one batch (one commit) per raw file.
  const regional = `file://${path.join(RUNS, 'regional')}`;
  const ti = performance.now();
  await ingestPerFile(`file://${corpus.raw}`, regional);
  const deps = { open: (url: string) => openStore(url) };
  const source = await openStore(regional);
  const snap = await latestSnapshot(source, defaultEngine);
  const files = snap.files.map(
    (f) => new URL(`file://${path.join(RUNS, 'regional', dataFileKey(f.path, source.url))}`).pathname,
  );
  const bytes = snap.files.reduce((n, f) => n + f.size, 0);
  const approved = await withConnection(async (c) =>
    Number(
      (
        await c.runAndReadAll(
          `SELECT count(*) FILTER (WHERE egress_approved)::BIGINT AS n FROM read_parquet([${files.map(sqlString).join(', ')}])`,
        )
      ).getRowObjectsJS()[0]!.n,
    ),
  );
  console.log(
    `regional table: ${snap.files.length} Parquet files, ${fmt(bytes / MiB, 1)} MiB, ${fmt(snap.numRecords ?? 0)} rows (${fmt(approved)} approved), ` +
      `v${snap.version}; ingested from ${fmt(corpus.bytes / MiB)} MiB JSON in ${((performance.now() - ti) / 1000).toFixed(1)} s (setup, untimed)`,
  );
  console.log(
    '  1 tributary: egressBatch called directly (no Temporal), all source versions in one central commit',
  );
  console.log(
    '  2 duckdb:    COPY (SELECT * FROM read_parquet([files]) WHERE egress_approved) TO one file (FORMAT parquet, COMPRESSION zstd)',
  );

  let run = 0;
  const tributary = async () => {
    const central = `file://${path.join(RUNS, `central-${run++}`)}`;
    const t0 = performance.now();
    const r = await egressBatch(deps, {
      region: 'bench-1',
      source: regional,
      central,
      filter: 'egress_approved = true',
      onChangeCommits: 'fail',
      maxVersionsPerBatch: 1_000_000,
    });
    const ms = performance.now() - t0;
    if (r.rowsEgressed !== approved)
      throw new Error(`tributary egressed ${r.rowsEgressed} rows, expected ${approved}`);
    await fs.rm(new URL(central).pathname, { recursive: true, force: true });
    return ms;
  };
  const duckdb = async () => {
    const out = path.join(RUNS, `duckdb-${run++}.parquet`);
    let rows = 0;
    const ms = await withConnection(async (c) => {
      const t0 = performance.now();
      const r = await c.run(
        `COPY (SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}]) WHERE egress_approved) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      rows = Number(r.rowsChanged);
      return performance.now() - t0;
    });
    if (rows !== approved) throw new Error(`duckdb COPY wrote ${rows} rows, expected ${approved}`);
    await fs.rm(out, { force: true });
    return ms;
  };
  const show = (name: string, fn: () => Promise<number>) => async () => {
    const ms = await fn();
    console.log(
      `  ${name.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${fmt(bytes / MiB / (ms / 1000), 1).padStart(7)} MB/s`,
    );
    return ms;
  };
  const { times } = await rounds([show('tributary', tributary), show('duckdb', duckdb)], REPS);
  const [ours, base] = [median(times[0]!), median(times[1]!)];
  console.log(
    `\nresults (median of ${REPS}; MB = MiB of source Parquet, ${fmt(bytes / MiB, 1)} MiB, ${fmt(approved)} rows out):`,
  );
  console.log(`  tributary ${(ours / 1000).toFixed(2)} s  ${fmt(bytes / MiB / (ours / 1000), 1)} MB/s`);
  console.log(`  duckdb    ${(base / 1000).toFixed(2)} s  ${fmt(bytes / MiB / (base / 1000), 1)} MB/s`);
  console.log(`ratio tributary/duckdb (throughput): ${ratio(base, ours)}  (target ≥ 0.9)`);
  await fs.rm(RUNS, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
