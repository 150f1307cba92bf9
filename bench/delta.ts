/**
 * Delta protocol and write-path throughput against delta-rs (PyPI deltalake, the interop peer in .venv),
 * both on local files, in the same run. delta-rs is timed inside one Python process (bench/deltars_bench.py)
 * and ours inside this Node process, so neither pays interpreter start-up in the numbers.
 *
 *   npx tsx bench/delta.ts              (npm run bench:delta)
 *   BENCH_COMMITS=2000 BENCH_ROWS=500000 BENCH_REPS=3 npx tsx bench/delta.ts
 *   BENCH_PARTS=load | append           (run one part only)
 *   BENCH_DELTA_KEEP=1                  keep the part-a log (bench/out/delta-log-N) for profiling
 *
 * a. Snapshot load of a log with BENCH_COMMITS commits and a checkpoint every 10 versions: latest, and
 *    time travel to the middle (BENCH_TT_VERSION, default half).
 * b. Append of BENCH_ROWS log rows from one Parquet file to a new table, unpartitioned and by `level`.
 *
 * Tables are built under bench/out/ (git-ignored) and removed after use; the generated Parquet file is kept
 * there and reused by later runs with the same BENCH_ROWS.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Action, AddFile } from '../lake/delta/actions';
import { serializeCommit } from '../lake/delta/actions';
import { writeCheckpoint } from '../lake/delta/checkpoint';
import type { DeltaEngine } from '../lake/delta/engine';
import { LOG_DIR, checkpointKey, commitKey } from '../lake/delta/log-path';
import { serializeSchema, type StructType } from '../lake/delta/schema';
import { Snapshot } from '../lake/delta/snapshot';
import { duckdbParquetActions } from '../lake/engine/checkpoint-io';
import { sqlString, withConnection } from '../lake/engine/duckdb';
import { openStore } from '../lake/storage/open';
import { writeTable } from '../lake/table/operations';
import { BENCH_OUT, DeltaRs, MiB, PYTHON, fmt, knob, median, ratio, rounds, timeMs } from './common';

const COMMITS = knob('BENCH_COMMITS', 10_000);
const TT_VERSION = knob('BENCH_TT_VERSION', Math.floor(COMMITS / 2));
const LOAD_REPS = knob('BENCH_LOAD_REPS', 7);
const ROWS = knob('BENCH_ROWS', 2_000_000);
const APPEND_REPS = knob('BENCH_REPS', 3);
const PARTS = (process.env.BENCH_PARTS ?? 'load,append').split(',');
const CHECKPOINT_EVERY = 10;

const engine: DeltaEngine = { parquet: duckdbParquetActions };

/** The schema of the generated log rows (part b), also used as the metadata of the synthetic log (part a). */
const LOG_SCHEMA: StructType = {
  type: 'struct',
  fields: [
    { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
    { name: 'service', type: 'string', nullable: true, metadata: {} },
    { name: 'level', type: 'string', nullable: true, metadata: {} },
    { name: 'msg', type: 'string', nullable: true, metadata: {} },
    { name: 'latency_ms', type: 'double', nullable: true, metadata: {} },
    {
      name: 'http',
      type: {
        type: 'struct',
        fields: [
          { name: 'method', type: 'string', nullable: true, metadata: {} },
          { name: 'status', type: 'integer', nullable: true, metadata: {} },
          { name: 'path', type: 'string', nullable: true, metadata: {} },
          { name: 'bytes', type: 'long', nullable: true, metadata: {} },
        ],
      },
      nullable: true,
      metadata: {},
    },
    { name: 'egress_approved', type: 'boolean', nullable: true, metadata: {} },
  ],
};

// ---------------------------------------------------------------------------------------------------------
// a. Snapshot load

const pad = (v: number, n: number) => String(v).padStart(n, '0');
/** Fake data-file path that sorts by version, so a checkpoint for version v is "adds with path ≤ this". */
const fakePath = (v: number) =>
  `part-${pad(v, 10)}-${createHash('md5').update(String(v)).digest('hex').slice(0, 16)}.c000.zstd.parquet`;

function fakeAdd(v: number, t0: number): AddFile {
  const start = t0 + v * 60_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    path: fakePath(v),
    partitionValues: {},
    size: 1_000_000 + (v % 977) * 1_000,
    modificationTime: start + 60_000,
    dataChange: true,
    stats: JSON.stringify({
      numRecords: 20_000 + (v % 311),
      minValues: {
        ts: iso(start),
        service: 'svc-000',
        level: 'DEBUG',
        msg: 'cache miss for key id=1000',
        latency_ms: 0.12,
        http: { method: 'DELETE', status: 200, path: '/api/v1/accounts', bytes: 12 },
      },
      maxValues: {
        ts: iso(start + 59_999),
        service: 'svc-299',
        level: 'WARN',
        msg: 'user login succeeded id=999871',
        latency_ms: 9_871.4,
        http: { method: 'PUT', status: 504, path: '/api/v1/users', bytes: 1_048_210 },
      },
      nullCount: {
        ts: 0,
        service: 0,
        level: 0,
        msg: 0,
        latency_ms: 17,
        http: { method: 0, status: 0, path: 0, bytes: 0 },
        egress_approved: 0,
      },
    }),
  };
}

function commitInfo(v: number, t: number): Action {
  return {
    commitInfo: {
      timestamp: t,
      operation: v === 0 ? 'CREATE TABLE' : 'WRITE',
      operationParameters:
        v === 0 ? { mode: 'ErrorIfExists', partitionBy: '[]' } : { mode: 'Append', partitionBy: '[]' },
      ...(v > 0 ? { readVersion: v - 1 } : {}),
      isolationLevel: 'WriteSerializable',
      isBlindAppend: v > 0,
      operationMetrics: { numFiles: '1', numOutputRows: String(20_000 + (v % 311)) },
      engineInfo: 'tributary-bench',
      txnId: createHash('md5').update(`txn-${v}`).digest('hex'),
    },
  };
}

/**
 * Builds the log quickly. Commits are written directly as files (serializeCommit, no put-if-absent
 * round trip): v0 = protocol + metaData, v1..v(N-1) = one add each. Checkpoints every 10 versions would
 * mean ~N/10 checkpoints of up to N rows each (writing them all through writeCheckpoint, which reloads the
 * snapshot each time, costs minutes), yet a reader opens only the newest one at or before its version. So
 * the two checkpoints the benchmark reads — the last one before the tip and the one at TT_VERSION — are
 * written by lake/delta writeCheckpoint, and every other one is a row subset of the last checkpoint copied
 * by DuckDB (same Parquet schema), so that the log has the realistic number of files to list.
 */
async function buildLog(
  dir: string,
): Promise<{ seconds: number; checkpoints: number; lastCheckpoint: number; phases: string }> {
  const t = Date.now();
  const phase: string[] = [];
  let tp = Date.now();
  const lap = (what: string) => {
    phase.push(`${what} ${((Date.now() - tp) / 1000).toFixed(1)} s`);
    tp = Date.now();
  };
  await fs.rm(dir, { recursive: true, force: true });
  const logDir = path.join(dir, LOG_DIR);
  await fs.mkdir(logDir, { recursive: true });
  const t0 = Date.UTC(2025, 0, 1);
  const v0: Action[] = [
    commitInfo(0, t0),
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    {
      metaData: {
        id: '5b3f3c1e-6a8e-4c3c-9f0e-bench0000000',
        format: { provider: 'parquet', options: {} },
        schemaString: serializeSchema(LOG_SCHEMA),
        partitionColumns: [],
        configuration: {},
        createdTime: t0,
      },
    },
  ];
  const BATCH = 256;
  for (let lo = 0; lo < COMMITS; lo += BATCH) {
    const writes: Promise<void>[] = [];
    for (let v = lo; v < Math.min(COMMITS, lo + BATCH); v++) {
      const actions = v === 0 ? v0 : [commitInfo(v, t0 + v * 60_000), { add: fakeAdd(v, t0) }];
      writes.push(fs.writeFile(path.join(dir, commitKey(v)), serializeCommit(actions)));
    }
    await Promise.all(writes);
  }
  lap('commits');
  const store = await openStore(dir);
  const cps: number[] = [];
  for (let v = CHECKPOINT_EVERY; v < COMMITS; v += CHECKPOINT_EVERY) cps.push(v);
  const last = cps[cps.length - 1];
  if (last === undefined)
    return { seconds: (Date.now() - t) / 1000, checkpoints: 0, lastCheckpoint: -1, phases: phase.join(', ') };
  // TT_VERSION first: writeCheckpoint also writes _last_checkpoint, which must end up naming `last`.
  const real = [...new Set([cps.filter((v) => v <= TT_VERSION).pop(), last])]
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  for (const v of real) await writeCheckpoint(store, engine, v);
  lap(`writeCheckpoint v${real.join(', v')}`);
  // Every other checkpoint: the rows of the last one whose add belongs to version ≤ v (the fake path starts
  // with the add's version), one COPY per checkpoint on two connections (one Parquet file per COPY). Snappy
  // rather than zstd only because it is cheaper to write ~N²/20 rows; nothing in the bench reads these files.
  const others = cps.filter((v) => !real.includes(v));
  await withConnection((c) =>
    c.run(
      `CREATE OR REPLACE TABLE bench_cp AS SELECT * FROM read_parquet(${sqlString(path.join(dir, checkpointKey(last)))})`,
    ),
  );
  let next = 0;
  const worker = () =>
    withConnection(async (c) => {
      while (next < others.length) {
        const v = others[next++]!;
        await c.run(
          `COPY (SELECT * FROM bench_cp WHERE add IS NULL OR add.path <= ${sqlString(fakePath(v))}) ` +
            `TO ${sqlString(path.join(dir, checkpointKey(v)))} (FORMAT parquet, COMPRESSION snappy)`,
        );
      }
    });
  await Promise.all([worker(), worker()]);
  await withConnection((c) => c.run('DROP TABLE bench_cp'));
  lap(`${cps.length - real.length} subset checkpoints`);
  await store.close();
  return {
    seconds: (Date.now() - t) / 1000,
    checkpoints: cps.length,
    lastCheckpoint: last,
    phases: phase.join(', '),
  };
}

async function benchLoad(rs: DeltaRs): Promise<void> {
  const dir = path.join(BENCH_OUT, `delta-log-${COMMITS}`);
  console.log(
    `\n[a] snapshot load: ${fmt(COMMITS)} commits (v0 protocol+metaData, then one add per commit), checkpoint every ${CHECKPOINT_EVERY}`,
  );
  const built = await buildLog(dir);
  console.log(
    `    built ${dir} in ${built.seconds.toFixed(1)} s (${built.phases}): ${fmt(built.checkpoints)} checkpoints, ` +
      `_last_checkpoint → v${built.lastCheckpoint}; the checkpoints the loads read come from writeCheckpoint, the rest are DuckDB row subsets (see buildLog)`,
  );
  console.log(
    `    ${LOAD_REPS} rounds alternating tributary Snapshot.load and delta-rs DeltaTable()+file_uris() after one warm-up each`,
  );
  const store = await openStore(dir);
  const latest = COMMITS - 1;
  const cases: { label: string; version?: number; expectVersion: number }[] = [
    { label: `latest (v${latest})`, expectVersion: latest },
    { label: `time travel v${TT_VERSION}`, version: TT_VERSION, expectVersion: TT_VERSION },
  ];
  for (const cse of cases) {
    const expectFiles = cse.expectVersion; // one add per version after v0
    const tableOnly: number[] = [];
    const ours = () =>
      timeMs(async () => {
        const s = await Snapshot.load(
          store,
          engine,
          cse.version === undefined ? {} : { version: cse.version },
        );
        if (s.version !== cse.expectVersion || s.files.length !== expectFiles)
          throw new Error(
            `Snapshot.load gave v${s.version} with ${s.files.length} files, expected v${cse.expectVersion} with ${expectFiles}`,
          );
      });
    const theirs = async () => {
      const r = await rs.call({ op: 'load', uri: dir, version: cse.version ?? null });
      if (r.version !== cse.expectVersion || r.files !== expectFiles)
        throw new Error(
          `delta-rs loaded v${String(r.version)} with ${String(r.files)} files, expected v${cse.expectVersion} with ${expectFiles}`,
        );
      tableOnly.push(r.table_ms as number);
      return r.ms;
    };
    const { first, times } = await rounds([ours, theirs], LOAD_REPS);
    const oMs = median(times[0]!);
    const rMs = median(times[1]!);
    console.log(
      `    load ${cse.label.padEnd(20)} tributary ${fmt(oMs, 1)} ms, delta-rs ${fmt(rMs, 1)} ms, ratio ${ratio(rMs, oMs)} (${fmt(expectFiles)} active files)`,
    );
    console.log(
      `        warm-up load: tributary ${fmt(first[0]!, 1)} ms, delta-rs ${fmt(first[1]!, 1)} ms (first in its process); ` +
        `delta-rs DeltaTable() alone ${fmt(median(tableOnly.slice(1)), 1)} ms`,
    );
  }
  await store.close();
  if (process.env.BENCH_DELTA_KEEP) console.log(`    kept ${dir} (BENCH_DELTA_KEEP)`);
  else await fs.rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------
// b. Append throughput

/** Deterministic synthetic application logs; written once and kept in bench/out/. */
async function ensureLogParquet(file: string): Promise<{ seconds: number; reused: boolean }> {
  if (existsSync(file)) return { seconds: 0, reused: true };
  const t = Date.now();
  const tmp = `${file}.tmp`;
  await withConnection(async (c) => {
    await c.run(`
      COPY (
        SELECT
          TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_microseconds(i * 43_000 + CAST(h1 % 43_000 AS BIGINT)) AS ts,
          'svc-' || lpad(CAST(h1 % 300 AS VARCHAR), 3, '0') AS service,
          CASE WHEN h2 % 100 < 55 THEN 'INFO' WHEN h2 % 100 < 80 THEN 'DEBUG' WHEN h2 % 100 < 93 THEN 'WARN'
               WHEN h2 % 100 < 99 THEN 'ERROR' ELSE 'FATAL' END AS level,
          list_element(['request completed', 'cache miss for key', 'user login succeeded', 'upstream timeout calling',
                        'retrying connection to', 'payload validated for', 'rate limit exceeded for', 'scheduled job finished'],
                       CAST(h3 % 8 AS INTEGER) + 1)
            || ' id=' || CAST(h3 % 1_000_000 AS VARCHAR) || ' trace=' || substr(md5(CAST(i AS VARCHAR)), 1, 16)
            || CASE WHEN h2 % 7 = 0 THEN ' user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"' ELSE '' END AS msg,
          CASE WHEN h4 % 997 = 0 THEN NULL ELSE round(exp(CAST(h4 % 10_000 AS DOUBLE) / 1_100.0) / 10.0, 2) END AS latency_ms,
          struct_pack(
            method := list_element(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'], CAST(h4 % 6 AS INTEGER) + 1),
            status := CAST(list_element([200, 200, 200, 201, 204, 301, 400, 404, 500, 504], CAST(h2 % 10 AS INTEGER) + 1) AS INTEGER),
            path := '/api/v1/' || list_element(['users', 'orders', 'accounts', 'search', 'health'], CAST(h1 % 5 AS INTEGER) + 1)
                    || '/' || CAST(h3 % 100_000 AS VARCHAR),
            bytes := CAST(h4 % 1_048_576 AS BIGINT)
          ) AS http,
          h2 % 10 <> 0 AS egress_approved
        FROM (SELECT i, hash(i, 1) AS h1, hash(i, 2) AS h2, hash(i, 3) AS h3, hash(i, 4) AS h4 FROM range(${Math.floor(ROWS)}) t(i))
        ORDER BY i
      ) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
  });
  await fs.rename(tmp, file);
  return { seconds: (Date.now() - t) / 1000, reused: false };
}

async function benchAppend(rs: DeltaRs): Promise<void> {
  // The name carries a generator version: change it whenever ensureLogParquet's SQL changes.
  const file = path.join(BENCH_OUT, `logs-g1-${Math.floor(ROWS)}.parquet`);
  const gen = await ensureLogParquet(file);
  const fileBytes = (await fs.stat(file)).size;
  console.log(
    `\n[b] append ${fmt(ROWS)} log rows to a new table; source ${file} (${fmt(fileBytes / MiB, 1)} MiB zstd Parquet, ` +
      `${gen.reused ? 'reused from an earlier run' : `generated in ${gen.seconds.toFixed(1)} s`})`,
  );
  // The issue asked for both writers to get "the same Arrow data". Our writer consumes a DuckDB relation, not
  // Arrow, so both sides instead start from the same Parquet file and the timing includes reading it:
  // read_parquet() into DuckDB for us, pyarrow.parquet.read_table() for delta-rs.
  console.log(
    `    both read the same Parquet file inside the timed region (ours: writeTable(read_parquet(file)); delta-rs: ` +
      `write_deltalake(pyarrow.parquet.read_table(file))); ${APPEND_REPS} rounds, after one warm-up each in the first case; ` +
      'MB/s over the Arrow (in-memory) size of the data',
  );
  for (const [mode, partitionBy] of ([[], ['level']] as string[][]).entries()) {
    const label = partitionBy.length ? `partitioned by ${partitionBy.join(',')}` : 'unpartitioned';
    const base = path.join(BENCH_OUT, `append-${partitionBy.join('-') || 'none'}`);
    await fs.rm(base, { recursive: true, force: true });
    const n = { ours: 0, snappy: 0, zstd: 0 };
    let arrowBytes = 0;
    const rsRead: Record<string, number[]> = { snappy: [], zstd: [] };
    const ours = () =>
      timeMs(async () => {
        const store = await openStore(path.join(base, 'tributary', `run-${n.ours++}`));
        try {
          const r = await writeTable(store, {
            sourceSql: `read_parquet(${sqlString(file)})`,
            mode: 'append',
            partitionBy,
          });
          if (r.addedRows !== Math.floor(ROWS))
            throw new Error(`tributary wrote ${r.addedRows} rows, expected ${ROWS}`);
        } finally {
          await store.close();
        }
      });
    const theirs = (codec: 'snappy' | 'zstd') => async () => {
      const r = await rs.call({
        op: 'append',
        uri: path.join(base, `delta-rs-${codec}`, `run-${n[codec]++}`),
        parquet: file,
        partition_by: partitionBy.length ? partitionBy : null,
        codec: codec === 'zstd' ? 'ZSTD' : null,
      });
      if (r.rows !== Math.floor(ROWS))
        throw new Error(`delta-rs read ${String(r.rows)} rows, expected ${ROWS}`);
      arrowBytes = r.arrow_bytes as number;
      rsRead[codec]!.push(r.read_ms as number);
      return r.ms;
    };
    // Each run takes seconds, so one warm-up (DuckDB start, pyarrow/delta-rs imports, page cache) is enough.
    const { times } = await rounds([ours, theirs('snappy'), theirs('zstd')], APPEND_REPS, {
      warmup: mode === 0,
    });
    const [oMs, sMs, zMs] = times.map(median) as [number, number, number];
    const out = async (dir: string) => {
      const r = await rs.call({ op: 'files', uri: path.join(base, dir, 'run-0') });
      return `${String(r.files)} files ${fmt((r.bytes as number) / MiB, 1)} MiB`;
    };
    const rate = (ms: number) =>
      `${fmt(ROWS / (ms / 1000))} rows/s ${fmt(arrowBytes / MiB / (ms / 1000))} MB/s (${fmt(ms / 1000, 2)} s)`;
    console.log(
      `    append ${label.padEnd(23)} tributary ${rate(oMs)}, delta-rs ${rate(sMs)}, ratio ${ratio(sMs, oMs)}`,
    );
    console.log(
      `        codec-matched reference: delta-rs with zstd ${rate(zMs)}, ratio ${ratio(zMs, oMs)}; ` +
        `delta-rs read_table part: ${fmt(median(rsRead.snappy!) / 1000, 2)} s`,
    );
    console.log(
      `        output: tributary ${await out('tributary')} (zstd), delta-rs ${await out('delta-rs-snappy')} (snappy), ` +
        `delta-rs zstd ${await out('delta-rs-zstd')}`,
    );
    await fs.rm(base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  if (!existsSync(PYTHON)) throw new Error(`delta-rs peer needs ${PYTHON}: run npm run services:install`);
  console.log(
    `bench:delta: tributary vs delta-rs (deltalake 1.6.6) on local files; medians; ratio = delta-rs time / tributary time ` +
      `(1.00 = parity, < 1 = we are slower); MB = 2^20 bytes of Arrow in-memory data`,
  );
  await fs.mkdir(BENCH_OUT, { recursive: true });
  const rs = new DeltaRs();
  try {
    if (PARTS.includes('load')) await benchLoad(rs);
    if (PARTS.includes('append')) await benchAppend(rs);
  } finally {
    await rs.close();
  }
  console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
