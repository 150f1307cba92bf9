/**
 * lake/query end to end on real stores (local directory and S3 on moto): SQL over catalog tables written
 * with writeTable, checked against results computed here from the rows we wrote; time travel by version and
 * timestamp; file skipping that skips files and never changes results; Arrow types and IPC round trip;
 * statements and tables that are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { isTributaryError } from '../../lake/errors';
import { type QueryOptions, explainQuery, query, queryWithStats } from '../../lake/query';
import { sqlString } from '../../lake/engine/duckdb';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { commitTimestamps } from '../../lake/delta/snapshot';
import { deleteWhere } from '../../lake/table/delete';
import { writeTable } from '../../lake/table/operations';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';

jest.setTimeout(300_000);

interface LogRow {
  day: string;
  ts: string;
  service: string;
  level: string;
  latency_ms: number;
  bytes: number;
  msg: string | null;
}

const SERVICES = ['api', 'auth', 'billing'];
const LEVELS = ['INFO', 'WARN', 'ERROR'];

/** Deterministic rows for one day: `n` per day, timestamps spread over the day. */
function dayRows(day: string, n: number, seed: number): LogRow[] {
  return Array.from({ length: n }, (_, i) => {
    const k = seed * 1000 + i;
    const sec = Math.floor((i * 86_399) / n);
    const hh = String(Math.floor(sec / 3600)).padStart(2, '0');
    const mm = String(Math.floor(sec / 60) % 60).padStart(2, '0');
    const ss = String(sec % 60).padStart(2, '0');
    return {
      day,
      ts: `${day}T${hh}:${mm}:${ss}.${String(k % 1000).padStart(3, '0')}123Z`,
      service: SERVICES[k % 3]!,
      level: LEVELS[Math.floor(k / 3) % 3]!,
      latency_ms: (k * 37) % 500,
      bytes: 1_000_000_000_000 + k, // beyond 2^32: must stay an exact BIGINT
      msg: k % 10 === 0 ? null : `request ${k}`,
    };
  });
}

const DAYS = ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04'];
const PER_DAY = 60;

function jsonlFile(dir: string, name: string, rows: LogRow[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  return file;
}

/** Appends rows as a typed relation (ts as TIMESTAMPTZ, day as DATE). */
const relation = (file: string) =>
  `(SELECT CAST(day AS DATE) AS day, CAST(ts AS TIMESTAMPTZ) AS ts, service, level, CAST(latency_ms AS INTEGER) AS latency_ms, CAST(bytes AS BIGINT) AS bytes, msg FROM read_json(${sqlString(file)}, format = 'newline_delimited', columns = {day: 'VARCHAR', ts: 'VARCHAR', service: 'VARCHAR', level: 'VARCHAR', latency_ms: 'BIGINT', bytes: 'BIGINT', msg: 'VARCHAR'}))`;

/** Plain JS objects out of an Arrow table (bigints kept). */
const rowsOf = (t: Table): Record<string, unknown>[] =>
  t.toArray().map((r) => ({ ...(r as { toJSON(): Record<string, unknown> }).toJSON() }));

type Agg = { service: string; level: string; n: bigint; avg_latency: number; sum_bytes: bigint };

/** count/avg/sum by service and level, computed in JS, sorted like ORDER BY service, level. */
function expectedAgg(rows: LogRow[]): Agg[] {
  const m = new Map<string, { n: number; lat: number; bytes: bigint }>();
  for (const r of rows) {
    const k = `${r.service}|${r.level}`;
    const a = m.get(k) ?? { n: 0, lat: 0, bytes: 0n };
    a.n++;
    a.lat += r.latency_ms;
    a.bytes += BigInt(r.bytes);
    m.set(k, a);
  }
  return [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, a]) => {
      const [service, level] = k.split('|') as [string, string];
      return { service, level, n: BigInt(a.n), avg_latency: a.lat / a.n, sum_bytes: a.bytes };
    });
}

const AGG_SQL = (from: string, where = '') =>
  `SELECT service, level, count(*) AS n, avg(latency_ms) AS avg_latency, CAST(sum(bytes) AS BIGINT) AS sum_bytes FROM ${from} ${where} GROUP BY service, level ORDER BY service, level`;

function aggOf(t: Table): Agg[] {
  return rowsOf(t).map((r) => ({
    service: r.service as string,
    level: r.level as string,
    n: r.n as bigint,
    avg_latency: r.avg_latency as number,
    sum_bytes: r.sum_bytes as bigint,
  }));
}

const closeTo = (got: Agg[], want: Agg[]) => {
  expect(got.map((a) => ({ ...a, avg_latency: 0 }))).toEqual(want.map((a) => ({ ...a, avg_latency: 0 })));
  got.forEach((a, i) => expect(a.avg_latency).toBeCloseTo(want[i]!.avg_latency, 9));
};

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the query to fail');
}

describe.each([['local'], ['s3']] as [BackendKind][])('query over %s tables', (kind) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-query-'));
  let opts: QueryOptions;
  let central: ObjectStore;
  const stores: ObjectStore[] = [];
  const all: LogRow[] = [];
  const eu: LogRow[] = [];
  const us: LogRow[] = [];
  let commitTimes: number[] = [];

  beforeAll(async () => {
    const loc = await createTestLocation(kind);
    const storeOpts = emulatorOptions([kind]);
    const open = async (url: string) => {
      const s = await openStore(url, storeOpts);
      stores.push(s);
      return s;
    };
    const urls = {
      central: `${loc.url}/central`,
      eu: `${loc.url}/regional-eu`,
      us: `${loc.url}/regional-us`,
    };
    central = await open(urls.central);
    // One commit (one file) per day in the central table, partitioned by day; the regional tables are
    // unpartitioned with one file per day, so only min/max stats can skip their files.
    for (const [i, day] of DAYS.entries()) {
      const rows = dayRows(day, PER_DAY, i);
      all.push(...rows);
      await writeTable(central, {
        sourceSql: relation(jsonlFile(dir, `c-${kind}-${i}.jsonl`, rows)),
        partitionBy: ['day'],
      });
      const half = (r: LogRow, j: number) => (j % 2 === 0 ? eu : us).push(r);
      rows.forEach(half);
      for (const [name, part] of [
        ['eu', rows.filter((_, j) => j % 2 === 0)],
        ['us', rows.filter((_, j) => j % 2 === 1)],
      ] as const)
        await writeTable(await open(urls[name]), {
          sourceSql: relation(jsonlFile(dir, `r-${kind}-${name}-${i}.jsonl`, part)),
        });
    }
    // the instants time travel resolves against (commit file times, made strictly increasing)
    commitTimes = (await commitTimestamps(central)).map((c) => c.timestamp);
    opts = {
      catalog: { 'central.all_logs': urls.central, 'regional.eu': urls.eu, 'Regional.US': urls.us },
      open,
    };
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  test('aggregates match the rows written', async () => {
    const t = await query(AGG_SQL('central.all_logs'), opts);
    expect(t.numRows).toBe(9);
    closeTo(aggOf(t), expectedAgg(all));
    // the same over the regional tables: UNION ALL, case-insensitive and quoted names
    const u = await query(
      AGG_SQL('(SELECT * FROM regional.eu UNION ALL SELECT * FROM "regional"."us")'),
      opts,
    );
    closeTo(aggOf(u), expectedAgg(all));
  });

  test('partition pruning and min/max skipping skip files, never rows', async () => {
    const where = `WHERE day >= DATE '2024-03-03' AND level IN ('ERROR', 'WARN')`;
    const pruned = await queryWithStats(AGG_SQL('central.all_logs', where), opts);
    const full = await queryWithStats(AGG_SQL('central.all_logs', where), { ...opts, prune: false });
    const want = expectedAgg(all.filter((r) => r.day >= '2024-03-03' && r.level !== 'INFO'));
    closeTo(aggOf(pruned.table), want);
    closeTo(aggOf(full.table), want);
    expect(pruned.stats.tables[0]).toMatchObject({ filesTotal: 4, filesScanned: 2, filesSkipped: 2 });
    expect(pruned.stats.tables[0]!.prunedBy).toContain('day');
    expect(full.stats.filesSkipped).toBe(0);

    // min/max stats on an unpartitioned table: ts is increasing, one file per day
    const ts = `WHERE ts >= TIMESTAMP '2024-03-02 12:00:00' AND ts < '2024-03-03T06:00:00Z'`;
    const st = await queryWithStats(AGG_SQL('regional.eu', ts), opts);
    const lo = Date.parse('2024-03-02T12:00:00Z');
    const hi = Date.parse('2024-03-03T06:00:00Z');
    closeTo(aggOf(st.table), expectedAgg(eu.filter((r) => Date.parse(r.ts) >= lo && Date.parse(r.ts) < hi)));
    expect(st.stats.tables[0]).toMatchObject({ filesTotal: 4, filesScanned: 2, filesSkipped: 2 });

    // TIMESTAMPTZ literals with an offset are instants: the same window written another way
    const tz = await queryWithStats(
      AGG_SQL(
        'regional.eu',
        `WHERE ts >= TIMESTAMPTZ '2024-03-02 14:00:00+02:00' AND ts < TIMESTAMPTZ '2024-03-03 01:00:00-05'`,
      ),
      opts,
    );
    closeTo(aggOf(tz.table), aggOf(st.table));
    expect(tz.stats.tables[0]).toMatchObject({ filesScanned: 2, filesSkipped: 2 });

    // an OR across partitions, a NOT, BETWEEN and IS NULL, qualified by alias
    const mixed = await queryWithStats(
      `SELECT count(*) AS n FROM central.all_logs c WHERE (c.day = '2024-03-01' OR c.day = '2024-03-04') AND NOT (c.latency_ms BETWEEN 100 AND 400) AND msg IS NOT NULL`,
      opts,
    );
    const wantMixed = all.filter(
      (r) =>
        (r.day === '2024-03-01' || r.day === '2024-03-04') &&
        !(r.latency_ms >= 100 && r.latency_ms <= 400) &&
        r.msg !== null,
    ).length;
    expect(rowsOf(mixed.table)).toEqual([{ n: BigInt(wantMixed) }]);
    expect(mixed.stats.tables[0]).toMatchObject({ filesScanned: 2, filesSkipped: 2 });

    // column aliases rename columns: never pruned by the renamed names
    const renamed = await queryWithStats(
      `SELECT count(*) AS n FROM central.all_logs AS c(ts, day) WHERE ts = DATE '2024-03-01'`,
      opts,
    );
    expect(rowsOf(renamed.table)).toEqual([{ n: BigInt(PER_DAY) }]);
    expect(renamed.stats.filesSkipped).toBe(0);

    // a table read twice: one unfiltered use means every file is read
    const twice = await queryWithStats(
      `SELECT (SELECT count(*) FROM central.all_logs WHERE day = '2024-03-01') AS a, (SELECT count(*) FROM central.all_logs) AS b`,
      opts,
    );
    expect(rowsOf(twice.table)).toEqual([{ a: BigInt(PER_DAY), b: BigInt(all.length) }]);
    expect(twice.stats.filesSkipped).toBe(0);

    // a join is never pruned (outer joins would change); a filter that matches nothing skips everything
    const none = await queryWithStats(
      `SELECT count(*) AS n FROM central.all_logs WHERE latency_ms > 10000`,
      opts,
    );
    expect(rowsOf(none.table)).toEqual([{ n: 0n }]);
    expect(none.stats.tables[0]).toMatchObject({ filesScanned: 0, filesSkipped: 4 });

    const plan = await explainQuery(`SELECT * FROM central.all_logs WHERE day = '2024-03-02'`, opts);
    expect(plan).toEqual([
      expect.objectContaining({ name: 'central.all_logs', filesTotal: 4, filesScanned: 1, version: 3 }),
    ]);
  });

  test('time travel by version and by timestamp', async () => {
    const v0 = await queryWithStats(`SELECT count(*) AS n, min(day) AS d FROM central.all_logs`, {
      ...opts,
      asOf: { version: 0 },
    });
    expect(rowsOf(v0.table)).toEqual([{ n: BigInt(PER_DAY), d: Date.parse('2024-03-01') }]);
    expect(v0.stats.tables[0]!.version).toBe(0);

    // at the instant of commit 1, and just before it
    const at1 = await query(`SELECT count(*) AS n FROM central.all_logs`, {
      ...opts,
      asOf: { timestamp: new Date(commitTimes[1]!) },
    });
    expect(rowsOf(at1)).toEqual([{ n: BigInt(2 * PER_DAY) }]);
    const before1 = await query(`SELECT count(*) AS n FROM central.all_logs`, {
      ...opts,
      asOf: { timestamp: new Date(commitTimes[1]! - 1) },
    });
    expect(rowsOf(before1)).toEqual([{ n: BigInt(PER_DAY) }]);

    const multi = await errorOf(
      query(`SELECT * FROM central.all_logs JOIN regional.eu USING (ts)`, { ...opts, asOf: { version: 0 } }),
    );
    expect(multi.message).toMatch(/a version applies to one table/);
  });

  test('Arrow types and values are exact, and survive IPC', async () => {
    const t = await query(
      `SELECT day, ts, service, latency_ms, bytes, msg, CAST(latency_ms AS DECIMAL(10,2)) AS dec, [latency_ms, 1] AS xs, {'s': service} AS st FROM central.all_logs WHERE day = '2024-03-02' ORDER BY ts LIMIT 3`,
      opts,
    );
    const back = tableFromIPC(tableToIPC(t, 'stream'));
    expect(back.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'day:Date32<DAY>',
      'ts:Timestamp<MICROSECOND, UTC>',
      'service:Utf8',
      'latency_ms:Int32',
      'bytes:Int64',
      'msg:Utf8',
      'dec:Decimal[10e+2]',
      'xs:List<Int32>',
      'st:Struct<{s:Utf8}>',
    ]);
    const want = all.filter((r) => r.day === '2024-03-02').slice(0, 3);
    const got = rowsOf(back);
    expect(got.map((r) => r.bytes)).toEqual(want.map((r) => BigInt(r.bytes)));
    expect(got.map((r) => r.service)).toEqual(want.map((r) => r.service));
    expect(got.map((r) => r.msg)).toEqual(want.map((r) => r.msg));
    expect(got.map((r) => (r.xs as { toArray(): Int32Array }).toArray())).toEqual(
      want.map((r) => Int32Array.from([r.latency_ms, 1])),
    );
    const dec = back.getChild('dec')!.data[0]!.values as Uint32Array; // 128-bit little-endian words
    expect([0, 1, 2].map((i) => [dec[i * 4], dec[i * 4 + 1]])).toEqual(
      want.map((r) => [r.latency_ms * 100, 0]),
    );
    // microseconds kept in the raw buffer (Arrow JS reads timestamps as milliseconds)
    const micros = back.getChild('ts')!.data[0]!.values as BigInt64Array;
    expect([...micros]).toEqual(want.map((r) => BigInt(Date.parse(r.ts)) * 1000n + 123n));
  });

  test('refuses anything but SELECT, names unknown tables, sandboxes file access', async () => {
    for (const sql of [
      'DELETE FROM central.all_logs',
      "COPY central.all_logs TO '/tmp/x.csv'",
      "ATTACH '/tmp/x.db' AS x",
      'INSTALL httpfs',
      'LOAD httpfs',
      'PRAGMA database_list',
      'SET threads = 1',
      'CREATE TABLE t AS SELECT 1',
    ]) {
      const e = await errorOf(query(sql, opts));
      expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
      expect(e.message).toMatch(/only SELECT queries are allowed/);
    }
    expect((await errorOf(query('SELECT 1; SELECT 2', opts))).message).toMatch(/exactly one SQL statement/);
    expect((await errorOf(query('SELEC 1', opts))).message).toMatch(/SQL syntax error/);
    const unknown = await errorOf(query('SELECT * FROM regional.asia', opts));
    expect(unknown.message).toBe(
      'unknown table regional.asia; the catalog has central.all_logs, regional.eu, regional.us',
    );
    expect((await errorOf(query('SELECT * FROM all_logs', opts))).message).toMatch(/unknown table all_logs/);
    // CTE names are fine
    const cte = await query(`WITH e AS (SELECT * FROM regional.eu) SELECT count(*) AS n FROM e`, opts);
    expect(rowsOf(cte)).toEqual([{ n: BigInt(eu.length) }]);
    // user SQL cannot read other files or change settings
    const file = await errorOf(query(`SELECT * FROM read_csv('/etc/passwd')`, opts));
    expect(file.message).toMatch(/Permission Error/);
  });

  test('deleted rows stay deleted and DESCRIBE shows the logical schema', async () => {
    await deleteWhere(central, "service = 'auth' AND day = '2024-03-04'");
    const t = await query(`SELECT count(*) AS n FROM central.all_logs WHERE day = '2024-03-04'`, opts);
    expect(rowsOf(t)).toEqual([
      { n: BigInt(all.filter((r) => r.day === '2024-03-04' && r.service !== 'auth').length) },
    ]);
    const d = await query(`DESCRIBE central.all_logs`, opts);
    expect(rowsOf(d).map((r) => `${r.column_name} ${r.column_type}`)).toEqual([
      'day DATE',
      'ts TIMESTAMP WITH TIME ZONE',
      'service VARCHAR',
      'level VARCHAR',
      'latency_ms INTEGER',
      'bytes BIGINT',
      'msg VARCHAR',
    ]);
  });
});
