/**
 * The query sandbox reads nothing but the snapshot's data files. DuckDB always lets a locked instance read
 * its temp directory, which by default is `.tmp` under the working directory: a file planted there was
 * readable (`read_csv('.tmp/creds.csv')`) and `duckdb_settings()` showed the path. Each query now gets a
 * fresh private temp directory (mode 0700, removed after); this test tries to read every other place.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTributaryError } from '../../lake/errors';
import { type QueryOptions, runQuery } from '../../lake/query';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { writeTable } from '../../lake/table/operations';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';

jest.setTimeout(180_000);

const cwdTmp = path.join(process.cwd(), '.tmp');
const planted = path.join(cwdTmp, 'creds.csv');
let createdCwdTmp = false;

beforeAll(() => {
  createdCwdTmp = !existsSync(cwdTmp);
  mkdirSync(cwdTmp, { recursive: true });
  writeFileSync(planted, 'user,password\nroot,hunter2\n');
});
afterAll(() => {
  rmSync(planted, { force: true });
  if (createdCwdTmp) rmSync(cwdTmp, { recursive: true, force: true });
});

const values = async (sql: string, opts: QueryOptions): Promise<readonly (readonly unknown[])[]> =>
  (await runQuery(sql, opts)).values;

async function refusal(sql: string, opts: QueryOptions): Promise<string> {
  try {
    const r = await runQuery(sql, opts);
    return `read ${r.values[0]?.length ?? 0} rows: ${JSON.stringify(r.values, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`;
  } catch (e) {
    expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
    return (e as Error).message;
  }
}

describe.each([['local'], ['s3']] as [BackendKind][])('the query sandbox over a %s table', (kind) => {
  let opts: QueryOptions;
  const stores: ObjectStore[] = [];
  let tableUrl: string;
  const scratch = mkdtempSync(path.join(tmpdir(), 'tributary-sandbox-'));

  beforeAll(async () => {
    const loc = await createTestLocation(kind);
    tableUrl = `${loc.url}/t`;
    const open = async (url: string) => {
      const s = await openStore(url, emulatorOptions([kind]));
      stores.push(s);
      return s;
    };
    await writeTable(await open(tableUrl), { sourceSql: `(SELECT 1::BIGINT AS a, 'x' AS b)` });
    opts = { catalog: { 'logs.t': tableUrl }, open };
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    rmSync(scratch, { recursive: true, force: true });
  });

  test("the snapshot's rows are readable", async () => {
    expect(await values('SELECT a, b FROM logs.t', opts)).toEqual([[1n], ['x']]);
  });

  test('the temp directory is private, fresh per query, and holds nothing to read', async () => {
    const settings = async () => {
      const [names, vals] = await values(
        `SELECT name, value FROM duckdb_settings() WHERE name IN ('temp_directory', 'allowed_directories') ORDER BY name`,
        opts,
      );
      return Object.fromEntries(names!.map((n, i) => [String(n), String(vals![i])]));
    };
    const first = await settings();
    const temp = first.temp_directory!;
    expect(path.isAbsolute(temp)).toBe(true);
    expect(temp.startsWith(process.cwd())).toBe(false);
    expect(first.allowed_directories).toBe(`[${temp}/]`); // the only directory DuckDB lets it read
    expect(existsSync(temp)).toBe(false); // removed after the query
    // Whatever is put where a query's temp directory was, the next query cannot read it: it has its own.
    mkdirSync(temp, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(temp, 'creds.csv'), 'user,password\nroot,hunter2\n');
    try {
      const second = await settings();
      expect(second.temp_directory).not.toBe(temp);
      for (const sql of [
        `SELECT * FROM read_csv('${temp}/creds.csv')`,
        `SELECT * FROM read_text('${temp}/creds.csv')`,
        `SELECT * FROM glob('${temp}/*')`,
      ])
        expect(await refusal(sql, opts)).toMatch(/Permission Error: Cannot access/);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
    // Inside the query, its own temp directory lists nothing, and `..` does not climb out of it.
    const own = await values(
      `SELECT count(*) AS n FROM glob(current_setting('temp_directory') || '/*')`,
      opts,
    ).catch((e: Error) => e.message);
    expect(JSON.stringify(own, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toMatch(
      /\[\["0"\]\]|Permission Error/,
    );
    const climb = await values(`SELECT value FROM duckdb_settings() WHERE name = 'temp_directory'`, opts);
    const parent = path.dirname(String(climb[0]![0]));
    expect(statSync(parent).isDirectory()).toBe(true);
    for (const sql of [`SELECT * FROM glob('${parent}/*')`, `SELECT * FROM glob('${parent}/query-x/../*')`])
      expect(await refusal(sql, opts)).toMatch(/Permission Error: Cannot access/);
  });

  test('nothing but the snapshot files can be read or listed', async () => {
    const targets = [
      '.tmp/creds.csv',
      planted,
      '/etc/passwd',
      'package.json',
      path.join(process.cwd(), 'package.json'),
    ];
    if (kind === 'local') {
      const dir = fileURLToPath(tableUrl);
      targets.push(path.join(dir, '_delta_log', '00000000000000000000.json'));
    }
    for (const t of targets)
      for (const fn of ['read_csv', 'read_text', 'read_json', 'read_blob'])
        expect(await refusal(`SELECT * FROM ${fn}('${t}')`, opts)).toMatch(/Permission Error: Cannot access/);
    const globs = ['.tmp/*', `${cwdTmp}/*`, '*', '/etc/*', '/tmp/*', `${tmpdir()}/*`];
    if (kind === 'local')
      globs.push(`${fileURLToPath(tableUrl)}/_delta_log/*`, `${fileURLToPath(tableUrl)}/*`);
    for (const g of globs)
      expect(await refusal(`SELECT * FROM glob('${g}')`, opts)).toMatch(/Permission Error: Cannot access/);
  });
});
