/**
 * Ingestion throughput on one corpus of JSON Lines service logs (bench/generate-logs.ts), local filesystem
 * only, three ways in the same run:
 *
 *   1. tributary: planBatches + ingestBatch for every planned batch (activities/ingest), called directly in
 *      this process — no Temporal (no workflow, no activity scheduling, heartbeats or retries) — into a
 *      fresh regional table (+ quarantine table), with the config defaults for batching
 *      (maxFilesPerBatch 1000, maxBytesPerBatch 1GB, maxLineBytes 1MiB, eventTimeColumn ts), so rows get
 *      the metadata columns and the _event_date partitioning of real ingestion.
 *   2. duckdb: a bare COPY (SELECT * FROM read_json([files], format='newline_delimited')) TO one Parquet
 *      file (zstd), through @duckdb/node-api on the same DuckDB instance (same thread count) as our engine.
 *   3. delta-rs: pyarrow.json.read_json per file + concat_tables + write_deltalake (zstd) into a fresh
 *      table, timed inside the long-lived Python worker (bench/deltars_bench.py).
 *
 *   npx tsx bench/ingest.ts                                   (npm run bench:ingest; 1 GiB corpus)
 *   BENCH_INGEST_MB=128 BENCH_INGEST_REPS=1 npx tsx bench/ingest.ts    (quick)
 *   BENCH_INGEST_GZIP=0.25        one file in four gzipped (sizes and MB/s are of uncompressed JSON)
 *   BENCH_INGEST_PARTS=tributary  any of tributary,duckdb,deltars
 *   TRIBUTARY_DUCKDB_THREADS=N    DuckDB threads for sides 1 and 2 (default 2)
 *
 * Each contender first runs once on the smallest file (untimed warm-up: JIT, DuckDB, pyarrow/delta-rs, page
 * cache), then BENCH_INGEST_REPS rounds (default 3) rotate which side goes first; medians are reported.
 * Ratios are throughput ratios (ours / theirs). Tributary runs are also broken down into phases: JS decoding,
 * routing and staging per source file, time inside DuckDB statements by kind, and moving the Parquet files
 * into the table. JS decoding overlaps the COPY of the chunk before, so the phases add up to more than the
 * wall time.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBConnection } from '@duckdb/node-api';
import { ingestBatch } from '../activities/ingest/batch';
import { planBatches } from '../activities/ingest/plan';
import { BatchStaging } from '../activities/ingest/stage-batch';
import type { IngestTarget } from '../shapes/targets';
import { IngestConfig, parseBytes } from '../config/schema';
import { sqlString, withConnection } from '../lake/engine/duckdb';
import { LocalStore } from '../lake/storage/local';
import { openStore } from '../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined } from '../lake/table/operations';
import { BENCH_OUT, DeltaRs, MiB, PYTHON, fmt, knob, median, ratio, rounds } from './common';
import { type Corpus, corpusParams, ensureCorpus } from './generate-logs';

const REPS = knob('BENCH_INGEST_REPS', 3);
const PARTS = (process.env.BENCH_INGEST_PARTS ?? 'tributary,duckdb,deltars').split(',').map((s) => s.trim());
const RUNS = path.join(BENCH_OUT, 'ingest-runs');
const DUCKDB_THREADS = Math.max(1, Number(process.env.TRIBUTARY_DUCKDB_THREADS ?? 2));

// ---------------------------------------------------------------------------------------------------------
// Machine

function machine(): string {
  let model = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1]!.trim();
  } catch {
    /* not Linux */
  }
  let mem = `${fmt(os.totalmem() / 1024 ** 3, 1)} GiB RAM`;
  try {
    const avail = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (avail) mem += ` (${fmt(Number(avail[1]) / 1024 ** 2, 1)} GiB available)`;
  } catch {
    /* not Linux */
  }
  return `nproc ${os.availableParallelism()}, ${model}, ${mem}, ${os.type()} ${os.release()}, node ${process.version}`;
}

const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// ---------------------------------------------------------------------------------------------------------
// Phase timers for the tributary side (bench-only instrumentation: prototypes wrapped, behaviour unchanged)

type PhaseName =
  | 'decode + route + stage (JS)'
  | 'read_json → temp table'
  | 'COPY → Parquet'
  | 'partition values'
  | 'file stats'
  | 'other SQL'
  | 'move files into table';
class Phases {
  active = false;
  ms = new Map<PhaseName, number>();
  stagedBytes = 0;
  stagedLines = 0;

  add(p: PhaseName, ms: number) {
    if (this.active) this.ms.set(p, (this.ms.get(p) ?? 0) + ms);
  }

  reset() {
    this.ms.clear();
    this.stagedBytes = 0;
    this.stagedLines = 0;
  }
}
const phases = new Phases();

function classify(sql: string): PhaseName {
  const s = sql.trimStart();
  if (s.startsWith('CREATE OR REPLACE TEMP TABLE __tributary_src') && s.includes('read_json('))
    return 'read_json → temp table';
  if (s.startsWith('COPY')) return 'COPY → Parquet';
  if (s.startsWith('SELECT DISTINCT')) return 'partition values';
  if (/^SELECT .* FROM read_parquet\(/s.test(s) && !s.includes('checkpoint')) return 'file stats';
  return 'other SQL';
}

function instrument(): void {
  const run = DuckDBConnection.prototype.run;
  DuckDBConnection.prototype.run = async function (this: DuckDBConnection, ...args: Parameters<typeof run>) {
    const t = performance.now();
    try {
      return await run.apply(this, args);
    } finally {
      phases.add(classify(args[0]), performance.now() - t);
    }
  } as typeof run;
  const putFile = LocalStore.prototype.putFile;
  LocalStore.prototype.putFile = async function (this: LocalStore, ...args: Parameters<typeof putFile>) {
    const t = performance.now();
    try {
      return await putFile.apply(this, args);
    } finally {
      phases.add('move files into table', performance.now() - t);
    }
  } as typeof putFile;
  const decodeFile = BatchStaging.prototype.decodeFile;
  BatchStaging.prototype.decodeFile = async function (
    this: BatchStaging,
    ...args: Parameters<typeof decodeFile>
  ) {
    const t = performance.now();
    const staged = await decodeFile.apply(this, args);
    phases.add('decode + route + stage (JS)', performance.now() - t);
    if (phases.active) {
      phases.stagedLines += staged.lines;
      phases.stagedBytes += staged.bytes;
    }
    return staged;
  } as typeof decodeFile;
}

// ---------------------------------------------------------------------------------------------------------
// Contenders

interface RunInfo {
  rows: number;
  detail: string;
}

const info: Record<string, RunInfo[]> = { tributary: [], duckdb: [], deltars: [] };
const phaseRuns: {
  ms: number;
  phases: Map<PhaseName, number>;
  stagedBytes: number;
  stagedLines: number;
  batches: number;
  /** CPU of the whole process (every thread: JS, DuckDB, libuv, GC helpers) during the run. */
  cpuMs: number;
  /** Time the main thread was busy (event loop utilization): the JS side, which runs on one thread. */
  mainMs: number;
  rssBefore: number;
  rssPeak: number;
}[] = [];

function ingestTarget(raw: string, base: string): IngestTarget {
  const d = IngestConfig.parse({});
  return {
    region: 'bench',
    raw,
    table: path.join(base, 'table'),
    quarantine: path.join(base, 'quarantine'),
    maxFilesPerBatch: d.maxFilesPerBatch,
    maxBytesPerBatch: parseBytes(d.maxBytesPerBatch),
    maxLineBytes: parseBytes(d.maxLineBytes),
    eventTimeColumn: d.eventTimeColumn,
  };
}

let runNo = 0;

async function tributary(raw: string, expectRows: number, record: boolean): Promise<number> {
  const base = path.join(RUNS, `tributary-${runNo++}`);
  await fs.rm(base, { recursive: true, force: true });
  const target = ingestTarget(raw, base);
  const deps = { open: (url: string) => openStore(url) };
  let rows = 0;
  let quarantined = 0;
  let batches = 0;
  let files = 0;
  phases.reset();
  phases.active = record;
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 100);
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (;;) {
    // As ingestRegionWorkflow does: plan up to 8 batches ahead, ingest them in order, plan again until dry.
    const plan = await planBatches(deps, { target, maxBatches: 8 });
    if (!plan.pending.length) break;
    for (const seq of plan.pending) {
      const r = await ingestBatch(deps, { target, seq });
      rows += r.rows;
      quarantined += r.quarantined;
      files += r.files;
      batches++;
    }
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainMs = performance.eventLoopUtilization(elu0).active;
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  phases.active = false;
  const table = await openStore(target.table);
  const snap = await loadSnapshotOrUndefined(table, defaultEngine);
  const tableRows = (snap?.files ?? []).reduce(
    (n, f) => n + (JSON.parse(f.stats ?? '{}') as { numRecords?: number }).numRecords!,
    0,
  );
  const outBytes = (snap?.files ?? []).reduce((n, f) => n + f.size, 0);
  await table.close();
  if (rows !== expectRows || tableRows !== expectRows || quarantined !== 0)
    throw new Error(
      `tributary ingested ${rows} rows (table holds ${tableRows}, ${quarantined} quarantined), expected ${expectRows}`,
    );
  if (record) {
    info.tributary!.push({
      rows: tableRows,
      detail: `${batches} batch${batches === 1 ? '' : 'es'}, ${files} files in, v${snap!.version}, ${snap!.files.length} Parquet files (${fmt(outBytes / MiB, 1)} MiB) out, partitions ${[...new Set(snap!.files.map((f) => f.partitionValues._event_date))].join(', ')}`,
    });
    phaseRuns.push({
      ms,
      phases: new Map(phases.ms),
      stagedBytes: phases.stagedBytes,
      stagedLines: phases.stagedLines,
      batches,
      cpuMs: (cpu.user + cpu.system) / 1000,
      mainMs,
      rssBefore,
      rssPeak,
    });
  }
  await fs.rm(base, { recursive: true, force: true });
  return ms;
}

async function duckdb(files: string[], expectRows: number, record: boolean): Promise<number> {
  const out = path.join(RUNS, `duckdb-${runNo++}.parquet`);
  await fs.rm(out, { force: true });
  const list = `[${files.map(sqlString).join(', ')}]`;
  let rows = 0;
  let ms = 0;
  await withConnection(async (c) => {
    const t0 = performance.now();
    const r = await c.run(
      `COPY (SELECT * FROM read_json(${list}, format = 'newline_delimited')) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    ms = performance.now() - t0;
    rows = Number(r.rowsChanged);
    const check = (
      await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${sqlString(out)})`)
    ).getRowObjectsJS()[0]!.n;
    if (rows !== expectRows || Number(check) !== expectRows)
      throw new Error(`duckdb COPY wrote ${rows} rows (file holds ${String(check)}), expected ${expectRows}`);
  });
  if (record)
    info.duckdb!.push({ rows, detail: `1 Parquet file (${fmt((await fs.stat(out)).size / MiB, 1)} MiB)` });
  await fs.rm(out, { force: true });
  return ms;
}

const deltarsParts: { read: number[]; write: number[] } = { read: [], write: [] };

async function deltars(rs: DeltaRs, files: string[], expectRows: number, record: boolean): Promise<number> {
  const uri = path.join(RUNS, `deltars-${runNo++}`);
  await fs.rm(uri, { recursive: true, force: true });
  const r = await rs.call({ op: 'ingest_json', uri, files, codec: 'ZSTD' });
  if (r.rows !== expectRows || r.rows_written !== expectRows)
    throw new Error(
      `delta-rs read ${String(r.rows)} rows (table holds ${String(r.rows_written)}), expected ${expectRows}`,
    );
  if (record) {
    info.deltars!.push({
      rows: r.rows_written as number,
      detail: `${String(r.files_written)} Parquet files (${fmt((r.bytes_written as number) / MiB, 1)} MiB); Arrow table ${fmt((r.arrow_bytes as number) / MiB, 1)} MiB`,
    });
    deltarsParts.read.push(r.read_ms as number);
    deltarsParts.write.push(r.write_ms as number);
  }
  await fs.rm(uri, { recursive: true, force: true });
  return r.ms;
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log(
    'bench:ingest: JSON Lines service logs → table, local filesystem only; tributary vs DuckDB bare COPY vs delta-rs, same files, same run',
  );
  console.log(`machine: ${machine()}; load average ${loadavg()} at start`);
  const corpus: Corpus & { reused: boolean } = await ensureCorpus(corpusParams([]), {
    log: (s) => console.log(`  ${s}`),
  });
  const files = corpus.files.map((f) => path.join(corpus.raw, f.name));
  const gz = corpus.files.filter((f) => f.gzip).length;
  console.log(
    `corpus: ${corpus.dir}: ${corpus.files.length} files of ${fmt(Math.min(...corpus.files.map((f) => f.bytes)) / MiB, 1)}–${fmt(Math.max(...corpus.files.map((f) => f.bytes)) / MiB, 1)} MiB` +
      `${gz ? ` (${gz} gzipped, ${fmt(corpus.size / MiB, 1)} MiB on disk)` : ''}, ${fmt(corpus.bytes / MiB, 1)} MiB JSON, ${fmt(corpus.rows)} rows (${fmt(corpus.bytes / corpus.rows)} bytes/row); ` +
      (corpus.reused
        ? 'reused from an earlier run'
        : `generated in ${corpus.generatedSeconds.toFixed(1)} s (${fmt(corpus.bytes / MiB / corpus.generatedSeconds)} MiB/s on ${corpus.workers} worker threads)`),
  );
  await fs.rm(RUNS, { recursive: true, force: true });
  await fs.mkdir(RUNS, { recursive: true });
  instrument();

  const threads = await withConnection(async (c) => {
    const r = (
      await c.runAndReadAll(`SELECT current_setting('threads') AS t, version() AS v`)
    ).getRowObjectsJS()[0]!;
    return { threads: Number(r.t), version: String(r.v) };
  });
  if (threads.threads !== DUCKDB_THREADS)
    throw new Error(`DuckDB runs ${threads.threads} threads, expected ${DUCKDB_THREADS}`);
  let rs: DeltaRs | undefined;
  let versions = '';
  if (PARTS.includes('deltars')) {
    if (!existsSync(PYTHON)) throw new Error(`delta-rs peer needs ${PYTHON}: run npm run services:install`);
    rs = new DeltaRs();
    const v = await rs.call({ op: 'versions' });
    versions = `; pyarrow ${String(v.pyarrow)} + deltalake ${String(v.deltalake)} (python ${String(v.python)}, their own thread pools)`;
  }
  console.log(
    `engines: DuckDB ${threads.version} with threads=${threads.threads} (TRIBUTARY_DUCKDB_THREADS) for tributary and the bare COPY${versions}`,
  );
  console.log(
    '  1 tributary: planBatches + ingestBatch called directly, no Temporal (no workflow/activity overhead), into a fresh table; ' +
      'config defaults (1GB / 1000 files per batch, maxLineBytes 1MiB, partitioned by _event_date)',
  );
  console.log(
    "  2 duckdb:    COPY (SELECT * FROM read_json([files], format='newline_delimited')) TO one file (FORMAT parquet, COMPRESSION zstd)",
  );
  console.log(
    '  3 delta-rs:  pyarrow.json.read_json per file + concat_tables + write_deltalake(mode=append, ZSTD) to a fresh table, timed in the Python worker',
  );

  try {
    // Warm-up on the smallest file: JIT, DuckDB, pyarrow/delta-rs code paths; then the page cache for the rest.
    const smallest = corpus.files.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const warmRaw = path.join(RUNS, 'warmup-raw');
    await fs.mkdir(warmRaw, { recursive: true });
    const warmFile = path.join(warmRaw, smallest.name);
    await fs
      .link(path.join(corpus.raw, smallest.name), warmFile)
      .catch(() => fs.copyFile(path.join(corpus.raw, smallest.name), warmFile));
    const tw = performance.now();
    if (PARTS.includes('tributary')) await tributary(warmRaw, smallest.rows, false);
    if (PARTS.includes('duckdb')) await duckdb([warmFile], smallest.rows, false);
    if (rs) await deltars(rs, [warmFile], smallest.rows, false);
    await fs.rm(warmRaw, { recursive: true, force: true });
    for (const f of files) await fs.readFile(f).then(() => undefined);
    console.log(
      `warm-up: each side once on ${smallest.name} (${fmt(smallest.bytes / MiB, 1)} MiB) in ${((performance.now() - tw) / 1000).toFixed(1)} s, untimed; ` +
        `every file read once (page cache); then ${REPS} round(s), rotating which side goes first`,
    );

    const names: string[] = [];
    const contenders: (() => Promise<number>)[] = [];
    const progress = (name: string, fn: () => Promise<number>) => async () => {
      const ms = await fn();
      console.log(
        `  ${name.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${fmt(corpus.bytes / MiB / (ms / 1000), 1).padStart(6)} MB/s`,
      );
      return ms;
    };
    if (PARTS.includes('tributary')) {
      names.push('tributary');
      contenders.push(progress('tributary', () => tributary(corpus.raw, corpus.rows, true)));
    }
    if (PARTS.includes('duckdb')) {
      names.push('duckdb');
      contenders.push(progress('duckdb', () => duckdb(files, corpus.rows, true)));
    }
    if (rs) {
      names.push('deltars');
      contenders.push(progress('delta-rs', () => deltars(rs!, files, corpus.rows, true)));
    }
    const { times } = await rounds(contenders, REPS, { warmup: false });
    const med: Record<string, number> = {};
    names.forEach((n, i) => (med[n] = median(times[i]!)));

    console.log(
      `\nresults (median of ${REPS}; MB = MiB of raw JSON input, ${fmt(corpus.bytes / MiB, 1)} MiB, ${fmt(corpus.rows)} rows):`,
    );
    const label: Record<string, string> = { tributary: 'tributary', duckdb: 'duckdb', deltars: 'delta-rs' };
    for (const n of names) {
      const ms = med[n]!;
      console.log(
        `  ${label[n]!.padEnd(9)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${fmt(corpus.bytes / MiB / (ms / 1000), 1).padStart(6)} MB/s  ` +
          `${fmt(corpus.rows / (ms / 1000)).padStart(9)} rows/s   (${times[names.indexOf(n)]!.map((t) => (t / 1000).toFixed(2)).join(', ')} s; ${info[n]![0]!.detail})`,
      );
    }
    if (names.includes('deltars'))
      console.log(
        `            delta-rs split: read_json+concat ${(median(deltarsParts.read) / 1000).toFixed(2)} s, write_deltalake ${(median(deltarsParts.write) / 1000).toFixed(2)} s`,
      );
    if (med.tributary !== undefined && med.duckdb !== undefined)
      console.log(
        `  ratio tributary/duckdb   (throughput) ${ratio(med.duckdb, med.tributary)}  (target ≥ 0.65)`,
      );
    if (med.tributary !== undefined && med.deltars !== undefined)
      console.log(
        `  ratio tributary/delta-rs (throughput) ${ratio(med.deltars, med.tributary)}  (target ≥ 1.0)`,
      );

    const counts = names.map(
      (n) => `${label[n]} ${[...new Set(info[n]!.map((x) => fmt(x.rows)))].join('/')}`,
    );
    const agree = names.every((n) => info[n]!.every((x) => x.rows === corpus.rows));
    console.log(
      `row counts: generated ${fmt(corpus.rows)}, ${counts.join(', ')} → ${agree ? 'all agree' : 'MISMATCH'}`,
    );
    if (!agree) throw new Error('row counts differ');

    if (phaseRuns.length) {
      // The run closest to the median time (for an even count, the faster of the two middle ones).
      const target = median(phaseRuns.map((r) => r.ms));
      const mid = [...phaseRuns].sort(
        (a, b) => Math.abs(a.ms - target) - Math.abs(b.ms - target) || a.ms - b.ms,
      )[0]!;
      const order: PhaseName[] = [
        'decode + route + stage (JS)',
        'read_json → temp table',
        'COPY → Parquet',
        'partition values',
        'file stats',
        'move files into table',
        'other SQL',
      ];
      const pct = (x: number) => `${((100 * x) / mid.ms).toFixed(0).padStart(3)}%`;
      const line = (name: string, ms: number, note = '') =>
        console.log(`  ${name.padEnd(40)} ${(ms / 1000).toFixed(2).padStart(6)} s ${pct(ms)}${note}`);
      console.log(
        `tributary phases (run closest to the median, ${(mid.ms / 1000).toFixed(2)} s, ${mid.batches} batch${mid.batches === 1 ? '' : 'es'}; ` +
          `JS decoding and DuckDB COPY run at the same time, so phases add up to more than the wall time):`,
      );
      for (const p of order) {
        const ms = mid.phases.get(p) ?? 0;
        if (p === 'decode + route + stage (JS)')
          line(
            p,
            ms,
            `  ${fmt(corpus.bytes / MiB / (ms / 1000), 1)} MB/s of input → ${fmt(mid.stagedLines)} lines staged for DuckDB (${fmt(mid.stagedBytes / MiB, 1)} MiB)`,
          );
        else if (ms > 0) line(`DuckDB ${p}`.replace('DuckDB move', 'move'), ms);
      }
      // Where each side saturates: the main thread's work runs on one thread today; the rest (DuckDB's
      // threads, libuv I/O, GC helpers) spreads over the cores. An estimate from this run's CPU time.
      const mb = corpus.bytes / MiB;
      const other = Math.max(0, mid.cpuMs - mid.mainMs);
      const rate = (ms: number) => `${fmt(mb / (ms / 1000), 0)} MB/s`;
      console.log(
        `tributary CPU (same run): ${(mid.cpuMs / 1000).toFixed(2)} s in all (${(mid.cpuMs / mid.ms).toFixed(2)} cores busy on average) = ` +
          `main thread ${(mid.mainMs / 1000).toFixed(2)} s (JS: decode, route, stage, conform) + other threads ${(other / 1000).toFixed(2)} s (DuckDB, I/O, GC)`,
      );
      // At N cores the run takes at least its CPU time over N, and at least the main thread's own time while
      // the JS side runs on that one thread; spread over worker threads, only the first bound is left.
      for (const cores of [2, 8, 16])
        console.log(
          `  estimate at ${String(cores).padStart(2)} cores: ${rate(Math.max(mid.mainMs, mid.cpuMs / cores))} with the JS side on one thread ` +
            `(${mid.mainMs >= mid.cpuMs / cores ? 'the JS thread is the limit' : 'the cores are the limit'}), ` +
            `${rate(mid.cpuMs / cores)} with it spread over worker threads (measured here: ${rate(mid.ms)})`,
        );
      console.log(
        `  peak RSS ${fmt(mid.rssPeak / MiB, 0)} MiB (${fmt(mid.rssBefore / MiB, 0)} MiB before the run, +${fmt((mid.rssPeak - mid.rssBefore) / MiB, 0)} MiB)`,
      );
    }
  } finally {
    await rs?.close();
    await fs.rm(RUNS, { recursive: true, force: true });
  }
  console.log(`load average ${loadavg()} at end; done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
