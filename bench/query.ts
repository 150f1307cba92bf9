/**
 * One central table vs 50 regional tables for the same question, both through lake/query's query():
 *
 *   npx tsx bench/query.ts                           (npm run bench:query)
 *   QUERY_BENCH_ROWS=100000 QUERY_BENCH_REPS=7 npx tsx bench/query.ts
 *   QUERY_BENCH_REGIONS=20                           (number of regional tables, default 50)
 *
 * Builds, on local files under bench/out/ (removed afterwards), QUERY_BENCH_REGIONS regional tables holding
 * QUERY_BENCH_ROWS realistic log rows each (ts over 7 days, service from 40 with skewed popularity, level
 * mostly INFO, host, HTTP status, latency, bytes, message; deterministic) and one central table holding
 * all of them (one write, as after compaction); every table is partitioned by day. Then runs a
 * representative aggregate — count and average latency by service and level over a two-day window of ts —
 *
 *   central:   SELECT … FROM central.all_logs WHERE ts in window GROUP BY service, level
 *   regional:  SELECT … FROM (SELECT … FROM regional.r00 WHERE ts in window UNION ALL … r49) GROUP BY …
 *
 * The regional form repeats the WHERE inside every branch so each table's files are skipped as the central
 * table's are (a WHERE outside the UNION would not be used for skipping). Both results are checked equal.
 * Reported: median wall time over QUERY_BENCH_REPS rounds (the side that goes first rotates), with the
 * median split into plan (snapshots, skipping), stage (per-file views), execute (DuckDB) and other (sandbox
 * instance, SQL parse, Arrow conversion), and the files read.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type QueryOptions, type QueryStats, queryWithStats } from '../lake/query';
import { openStore } from '../lake/storage/open';
import type { ObjectStore } from '../lake/storage/object-store';
import { writeTable } from '../lake/table/operations';
import { BENCH_OUT, fmt, knob, median, ratio, rounds } from './common';

const REGIONS = knob('QUERY_BENCH_REGIONS', 50);
const ROWS = knob('QUERY_BENCH_ROWS', 20_000);
const REPS = knob('QUERY_BENCH_REPS', 5);

const START = '2025-03-10 00:00:00+00';
const DAYS = 7;

/**
 * Rows of region r (a SQL expression or column) for i in range(ROWS): a deterministic hash of (r, i) drives
 * every field, so the central table gets exactly the regional tables' rows.
 */
function logRows(from: string): string {
  const h = (salt: number) => `hash(r, i, ${salt})`;
  return `(SELECT
      CAST(ts AS DATE) AS day, ts, region, service, level, host, status, latency_ms, bytes, msg
    FROM (
      SELECT
        TIMESTAMPTZ '${START}' + to_microseconds(CAST((i * ${DAYS * 86_400_000_000} / ${ROWS}) + ${h(1)} % 1000000 AS BIGINT)) AS ts,
        printf('region-%02d', r) AS region,
        printf('svc-%02d', CAST(floor(40 * pow((${h(2)} % 1000000) / 1000000.0, 2.5)) AS INTEGER)) AS service,
        CASE WHEN ${h(3)} % 100 < 80 THEN 'INFO' WHEN ${h(3)} % 100 < 93 THEN 'WARN' WHEN ${h(3)} % 100 < 99 THEN 'ERROR' ELSE 'DEBUG' END AS level,
        printf('ip-10-%d-%d-%d', r, ${h(4)} % 8, ${h(5)} % 250) AS host,
        CAST([200, 200, 200, 200, 201, 204, 301, 400, 404, 500][CAST(1 + ${h(6)} % 10 AS BIGINT)] AS INTEGER) AS status,
        round((${h(7)} % 200000) / 100.0 * (1 + (${h(8)} % 10 = 0)::INTEGER * 9), 3) AS latency_ms,
        CAST(${h(9)} % 65536 AS BIGINT) AS bytes,
        printf('GET /api/v2/orders/%d completed', ${h(10)} % 100000) AS msg
      FROM ${from}
    ))`;
}

function windowWhere(): string {
  return `ts >= TIMESTAMPTZ '2025-03-12 00:00:00+00' AND ts < TIMESTAMPTZ '2025-03-14 00:00:00+00'`;
}

const SELECT = `service, level, count(*) AS n, avg(latency_ms) AS avg_latency`;

const names = Array.from({ length: REGIONS }, (_, r) => `r${String(r).padStart(2, '0')}`);

function centralSql(): string {
  return `SELECT ${SELECT} FROM central.all_logs WHERE ${windowWhere()} GROUP BY service, level ORDER BY service, level`;
}

function regionalSql(): string {
  const branches = names.map(
    (n) => `SELECT service, level, latency_ms FROM regional.${n} WHERE ${windowWhere()}`,
  );
  return `SELECT ${SELECT} FROM (${branches.join('\n  UNION ALL ')}) GROUP BY service, level ORDER BY service, level`;
}

/** Rows as comparable text (averages to 9 significant digits: summation order differs). */
function canon(t: Awaited<ReturnType<typeof queryWithStats>>['table']): string {
  return t
    .toArray()
    .map((r) => `${r.service}|${r.level}|${r.n}|${Number(r.avg_latency).toPrecision(9)}`)
    .join('\n');
}

async function main(): Promise<void> {
  const root = path.join(BENCH_OUT, `query-${process.pid}`);
  await fs.mkdir(root, { recursive: true });
  const stores: ObjectStore[] = [];
  const open = async (url: string) => {
    const s = await openStore(url);
    stores.push(s);
    return s;
  };
  try {
    console.log(
      `query bench: ${REGIONS} regional tables × ${fmt(ROWS)} rows = ${fmt(REGIONS * ROWS)} rows; central table with the same rows; local files; ${REPS} reps`,
    );
    const t0 = performance.now();
    const catalog: Record<string, string> = { 'central.all_logs': `file://${root}/central` };
    for (const [r, n] of names.entries()) {
      catalog[`regional.${n}`] = `file://${root}/${n}`;
      await writeTable(await open(catalog[`regional.${n}`]!), {
        sourceSql: logRows(`(SELECT CAST(${r} AS BIGINT) AS r, range AS i FROM range(${ROWS}))`),
        partitionBy: ['day'],
      });
    }
    await writeTable(await open(catalog['central.all_logs']!), {
      sourceSql: logRows(`(SELECT a.range AS r, b.range AS i FROM range(${REGIONS}) a, range(${ROWS}) b)`),
      partitionBy: ['day'],
    });
    console.log(`  built in ${fmt((performance.now() - t0) / 1000, 1)} s`);

    const opts: QueryOptions = { catalog, open };
    const stats: QueryStats[][] = [[], []];
    const results: string[] = ['', ''];
    const sqls = [centralSql(), regionalSql()];
    const contender = (k: number) => async () => {
      const t = performance.now();
      const r = await queryWithStats(sqls[k]!, opts);
      const ms = performance.now() - t;
      stats[k]!.push(r.stats);
      results[k] = canon(r.table);
      return ms;
    };
    const { times } = await rounds([contender(0), contender(1)], REPS);
    if (results[0] !== results[1]) throw new Error('central and regional results differ');
    // and the same as reading every file (skipping never changes results)
    if (canon((await queryWithStats(sqls[0]!, { ...opts, prune: false })).table) !== results[0])
      throw new Error('results with and without file skipping differ');
    if (!results[0]) throw new Error('the query returned no rows');

    const row = (label: string, k: number) => {
      const s = stats[k]!.slice(-REPS);
      const files = s[0]!.tables.reduce(
        (a, t) => ({ scanned: a.scanned + t.filesScanned, total: a.total + t.filesTotal }),
        { scanned: 0, total: 0 },
      );
      const total = median(times[k]!);
      const parts = [s.map((x) => x.planMs), s.map((x) => x.stageMs), s.map((x) => x.executeMs)].map(median);
      const other = Math.max(0, total - parts.reduce((a, b) => a + b, 0));
      return `  ${label.padEnd(26)} ${[total, ...parts, other].map((x) => fmt(x).padStart(8)).join('')}   ${files.scanned}/${files.total}`;
    };
    console.log(
      `  ${''.padEnd(26)} ${['ms', 'plan', 'stage', 'execute', 'other'].map((h) => h.padStart(8)).join('')}   files read/total`,
    );
    console.log(row('central.all_logs', 0));
    console.log(row(`${REGIONS} regional, UNION ALL`, 1));
    console.log(
      `  regional / central time ratio: ${ratio(median(times[1]!), median(times[0]!))} (median of ${REPS}; ${results[0].split('\n').length} result rows, equal on both sides)`,
    );
  } finally {
    await Promise.all(stores.map((s) => s.close().catch(() => {})));
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
