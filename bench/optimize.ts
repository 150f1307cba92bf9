/**
 * OPTIMIZE (compaction) on a regional table shaped like a day of scheduled ingestion: tributary's
 * optimize() against delta-rs `DeltaTable.optimize.compact()` on copies of the same table, in the same run,
 * the same target size (delta-rs's default 100 MiB unless BENCH_OPTIMIZE_TARGET_MB), and files and query
 * time before and after.
 *
 * The table: the bench/generate-logs.ts corpus ingested for real (one batch per raw file, untimed setup),
 * then laid out again as BENCH_OPTIMIZE_BATCHES appends of consecutive rows in ts order — one scheduled
 * batch every 5 minutes for a day is 288 — each writing one small file per partition, as the ingest
 * schedule does. Every round copies that table twice and compacts one copy with each side; each result is
 * checked (same row count, files reduced) before it counts.
 *
 *   npx tsx bench/optimize.ts                                   (npm run bench:optimize; 128 MiB of JSON)
 *   BENCH_OPTIMIZE_MB=32 BENCH_OPTIMIZE_REPS=1 npx tsx bench/optimize.ts     (quick)
 *   BENCH_OPTIMIZE_BATCHES=288  BENCH_OPTIMIZE_TARGET_MB=100  TRIBUTARY_DUCKDB_THREADS=N
 *   BENCH_OPTIMIZE_KEEP=1       keep the uncompacted table (bench/out/optimize-runs/day) for profiling
 *
 * MB/s are MiB of input Parquet rewritten per second (the same numerator for both sides).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataFileKey } from '../lake/delta/paths';
import { Snapshot } from '../lake/delta/snapshot';
import { sqlIdent, sqlString, withConnection } from '../lake/engine/duckdb';
import { localFileSelect } from '../lake/engine/scan';
import { queryWithStats } from '../lake/query';
import { openStore } from '../lake/storage/open';
import { defaultEngine, writeTable } from '../lake/table/operations';
import { optimize } from '../lake/table/optimize';
import { BENCH_OUT, DeltaRs, MiB, fmt, knob, median, ratio, rounds, ingestPerFile } from './common';
import { corpusParams, ensureCorpus } from './generate-logs';

const REPS = knob('BENCH_OPTIMIZE_REPS', 3);
const MB = knob('BENCH_OPTIMIZE_MB', 128);
const BATCHES = knob('BENCH_OPTIMIZE_BATCHES', 288);
const TARGET = knob('BENCH_OPTIMIZE_TARGET_MB', 100) * MiB;
const RUNS = path.join(BENCH_OUT, 'optimize-runs');
const QUERY =
  "SELECT service, level, count(*) AS n FROM t.logs WHERE level <> 'DEBUG' GROUP BY service, level ORDER BY service, level";

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

async function tableFacts(dir: string) {
  const s = await openStore(`file://${dir}`);
  const snap = await Snapshot.load(s, defaultEngine);
  return {
    version: snap.version,
    files: snap.files.length,
    bytes: snap.files.reduce((n, f) => n + f.size, 0),
    rows: snap.numRecords ?? -1,
  };
}

async function queryMs(dir: string): Promise<{ ms: number; result: string }> {
  const s = await openStore(`file://${dir}`);
  const opts = { catalog: { 't.logs': s.url }, open: async () => s };
  const t0 = performance.now();
  const { table } = await queryWithStats(QUERY, opts);
  const ms = performance.now() - t0;
  return { ms, result: JSON.stringify(table.toArray().map((r) => Object.values(r.toJSON()).map(String))) };
}

async function main(): Promise<void> {
  console.log(
    `bench:optimize: compaction of a table of ${BATCHES} scheduled batches; tributary optimize() vs delta-rs optimize.compact(), same table, same run`,
  );
  console.log(
    `machine: nproc ${os.availableParallelism()}, ${os.cpus()[0]?.model}, node ${process.version}; load ${load()}`,
  );
  const corpus = await ensureCorpus(
    { ...corpusParams([]), mb: MB },
    { root: path.join(BENCH_OUT, 'optimize-corpus'), log: (s) => console.log(`  ${s}`) },
  );
  await fs.rm(RUNS, { recursive: true, force: true });
  await fs.mkdir(RUNS, { recursive: true });

  // 1. Real ingestion into a staging table (untimed).
  const staging = `file://${path.join(RUNS, 'staging')}`;
  await ingestPerFile(`file://${corpus.raw}`, staging);
  const stagingStore = await openStore(staging);
  const stagingSnap = await Snapshot.load(stagingStore, defaultEngine);

  // 2. The same rows as BATCHES appends in ts order: a day of scheduled batches (untimed).
  const ordered = path.join(RUNS, 'ordered.parquet');
  const rows = await withConnection(async (c) => {
    const selects: string[] = [];
    for (const f of stagingSnap.files)
      selects.push(
        `(${await localFileSelect(c, stagingStore, stagingSnap, f, path.join(RUNS, 'staging', dataFileKey(f.path, stagingStore.url)))})`,
      );
    await c.run(
      `COPY (SELECT *, row_number() OVER (ORDER BY ts, _source_file, _source_line) - 1 AS __rn FROM (${selects.join(' UNION ALL ')})) TO ${sqlString(ordered)} (FORMAT parquet)`,
    );
    return Number(
      (
        await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${sqlString(ordered)})`)
      ).getRowObjectsJS()[0]!.n,
    );
  });
  const cols = stagingSnap.schema.fields.map((f) => sqlIdent(f.name)).join(', ');
  const day = path.join(RUNS, 'day');
  const dayStore = await openStore(`file://${day}`);
  const per = Math.ceil(rows / BATCHES);
  const tb = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    await writeTable(dayStore, {
      sourceSql: `(SELECT ${cols} FROM read_parquet(${sqlString(ordered)}) WHERE __rn >= ${b * per} AND __rn < ${(b + 1) * per})`,
      partitionBy: b === 0 ? stagingSnap.partitionColumns : undefined,
      operation: 'WRITE',
    });
  }
  await fs.rm(ordered, { force: true });
  const before = await tableFacts(day);
  console.log(
    `table: ${fmt(before.rows)} rows from ${fmt(corpus.bytes / MiB)} MiB JSON; ${BATCHES} appends -> ${fmt(before.files)} files, ` +
      `${fmt(before.bytes / MiB, 1)} MiB, partitioned by [${stagingSnap.partitionColumns.join(', ')}] (built in ${((performance.now() - tb) / 1000).toFixed(1)} s, untimed)`,
  );
  console.log(`target file size ${fmt(TARGET / MiB)} MiB on both sides`);

  const deltars = new DeltaRs();
  const v = await deltars.call({ op: 'versions' });
  console.log(`delta-rs: deltalake ${String(v.deltalake)}, pyarrow ${String(v.pyarrow)}`);

  let run = 0;
  let oursAfter: Awaited<ReturnType<typeof tableFacts>> | undefined;
  let theirsAfter: Awaited<ReturnType<typeof tableFacts>> | undefined;
  const copyOf = async () => {
    const dir = path.join(RUNS, `copy-${run++}`);
    await fs.cp(day, dir, { recursive: true });
    return dir;
  };
  const check = (who: string, f: Awaited<ReturnType<typeof tableFacts>>) => {
    if (f.rows !== before.rows)
      throw new Error(`${who}: ${f.rows} rows after optimize, expected ${before.rows}`);
    if (f.files >= before.files)
      throw new Error(`${who}: ${f.files} files after optimize, not fewer than ${before.files}`);
  };
  const tributary = async () => {
    const dir = await copyOf();
    const s = await openStore(`file://${dir}`);
    const t0 = performance.now();
    const r = await optimize(s, { targetFileSize: TARGET });
    const ms = performance.now() - t0;
    const tm = r.timings;
    console.log(
      `            snapshot ${fmt(tm.snapshotMs)} ms, rewrite ${fmt(tm.rewriteMs)} ms, commit ${fmt(tm.commitMs)} ms; ${r.numRemovedFiles} -> ${r.numAddedFiles} files`,
    );
    oursAfter = await tableFacts(dir);
    check('tributary', oursAfter);
    if (r.numRemovedFiles === 0) throw new Error('tributary optimize did nothing');
    await fs.rm(dir, { recursive: true, force: true });
    return ms;
  };
  const deltaRs = async () => {
    const dir = await copyOf();
    const r = await deltars.call({ op: 'optimize', uri: dir, target_size: TARGET });
    theirsAfter = await tableFacts(dir);
    check('delta-rs', theirsAfter);
    await fs.rm(dir, { recursive: true, force: true });
    return r.ms;
  };
  const show = (name: string, fn: () => Promise<number>) => async () => {
    const ms = await fn();
    console.log(
      `  ${name.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${fmt(before.bytes / MiB / (ms / 1000), 1).padStart(7)} MB/s  (load ${load()})`,
    );
    return ms;
  };
  const { times } = await rounds([show('tributary', tributary), show('delta-rs', deltaRs)], REPS);
  const [ours, theirs] = [median(times[0]!), median(times[1]!)];

  // Query time before and after (our compaction), the same result required.
  const compacted = await copyOf();
  await optimize(await openStore(`file://${compacted}`), { targetFileSize: TARGET });
  const q = { before: [] as number[], after: [] as number[] };
  const first = await queryMs(day);
  if ((await queryMs(compacted)).result !== first.result)
    throw new Error('query results differ after optimize');
  for (let i = 0; i < REPS; i++) {
    q.before.push((await queryMs(day)).ms);
    q.after.push((await queryMs(compacted)).ms);
  }
  await deltars.close();

  console.log(`\nresults (median of ${REPS}; MB = MiB of input Parquet, ${fmt(before.bytes / MiB, 1)} MiB):`);
  console.log(
    `  files     before ${fmt(before.files)}, after tributary ${fmt(oursAfter!.files)}, after delta-rs ${fmt(theirsAfter!.files)}`,
  );
  console.log(
    `  bytes     before ${fmt(before.bytes / MiB, 1)} MiB, after tributary ${fmt(oursAfter!.bytes / MiB, 1)} MiB, after delta-rs ${fmt(theirsAfter!.bytes / MiB, 1)} MiB`,
  );
  console.log(
    `  tributary ${(ours / 1000).toFixed(2)} s  ${fmt(before.bytes / MiB / (ours / 1000), 1)} MB/s`,
  );
  console.log(
    `  delta-rs  ${(theirs / 1000).toFixed(2)} s  ${fmt(before.bytes / MiB / (theirs / 1000), 1)} MB/s`,
  );
  console.log(`ratio tributary/delta-rs (throughput): ${ratio(theirs, ours)}  (target ≥ 1.0)`);
  console.log(
    `query (${QUERY.slice(0, 60)}…): before ${fmt(median(q.before))} ms, after ${fmt(median(q.after))} ms (${ratio(median(q.before), median(q.after))}x faster)`,
  );
  if (process.env.BENCH_OPTIMIZE_KEEP) console.log(`kept ${day} (BENCH_OPTIMIZE_KEEP)`);
  else await fs.rm(RUNS, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
