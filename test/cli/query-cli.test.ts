/** `tributary query` as an operator runs it: real process, a config file, every output format, exit codes. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { cli, cliBytes } from '../harness/cli';

describe('tributary query CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-query-cli-'));
  const config = path.join(dir, 'tributary.yaml');
  const rows = (day: string, region: string) =>
    ['INFO', 'ERROR', 'ERROR', 'WARN'].map((level, i) => ({
      day,
      region,
      level,
      msg: i === 1 ? 'disk, "full"' : `m${i}`,
      n: i + 1,
      big: String(9007199254740993n + BigInt(i)), // beyond 2^53: written as a bare JSON number below
    }));
  const jsonl = (rs: ReturnType<typeof rows>) =>
    rs.map((r) => JSON.stringify(r).replace(/"big":"(\d+)"/, '"big":$1')).join('\n');

  beforeAll(async () => {
    writeFileSync(
      config,
      [
        'regions:',
        '  - name: eu-west',
        '    cloud: local',
        `    raw: file://${dir}/raw-eu`,
        `    table: file://${dir}/eu`,
        '  - name: us',
        '    cloud: local',
        `    raw: file://${dir}/raw-us`,
        `    table: file://${dir}/us`,
        'central:',
        `  table: file://${dir}/central`,
        'catalog:',
        `  ops.eu_copy: file://${dir}/eu`,
        '',
      ].join('\n'),
    );
    for (const [i, day] of ['2024-05-01', '2024-05-02'].entries()) {
      for (const region of ['eu', 'us']) {
        const input = path.join(dir, `${region}-${i}.jsonl`);
        writeFileSync(input, jsonl(rows(day, region)));
        for (const table of [region, 'central']) {
          const a = await cli(
            'table',
            'append',
            `file://${dir}/${table}`,
            '--input',
            input,
            '--partition-by',
            'day',
          );
          expect(a.code).toBe(0);
        }
      }
    }
  });

  const SQL = `SELECT region, level, count(*) AS c, sum(n) AS s FROM central.all_logs WHERE day = '2024-05-02' AND level = 'ERROR' GROUP BY ALL ORDER BY region`;

  test('table, csv, jsonl and arrow output, with stats', async () => {
    const t = await cli('query', SQL, '--config', config, '--stats');
    expect(t.code).toBe(0);
    expect(t.stdout).toBe(
      [
        ' region | level | c | s',
        '--------+-------+---+---',
        ' eu     | ERROR | 2 | 5',
        ' us     | ERROR | 2 | 5',
        '(2 rows)',
        '',
      ].join('\n'),
    );
    // two commits per day (one per region) in the central table: 2 of 4 files read
    expect(t.stderr).toMatch(
      /^central\.all_logs@v3: 2 of 4 files scanned, 2 skipped by \(day = '2024-05-02'\) AND \(level = 'ERROR'\)\n2 rows; /,
    );

    const csv = await cli(
      'query',
      `SELECT msg, n, big FROM regional.eu_west WHERE n <= 2 ORDER BY day, n`,
      '--config',
      config,
      '--format',
      'csv',
    );
    expect(csv.stdout).toBe(
      [
        'msg,n,big',
        'm0,1,9007199254740993',
        '"disk, ""full""",2,9007199254740994',
        'm0,1,9007199254740993',
        '"disk, ""full""",2,9007199254740994',
        '',
      ].join('\n'),
    );

    const j = await cli(
      'query',
      `SELECT day, n, big, msg FROM regional."eu-west" WHERE n = 1 ORDER BY day`,
      '--config',
      config,
      '--format',
      'jsonl',
    );
    expect(j.stdout).toBe(
      [
        '{"day":"2024-05-01","n":1,"big":9007199254740993,"msg":"m0"}',
        '{"day":"2024-05-02","n":1,"big":9007199254740993,"msg":"m0"}',
        '',
      ].join('\n'),
    );

    const arrowFile = path.join(dir, 'out.arrow');
    const a = await cli('query', SQL, '--config', config, '--format', 'arrow', '--output', arrowFile);
    expect(a.code).toBe(0);
    const fromFile = tableFromIPC(readFileSync(arrowFile));
    expect(fromFile.numRows).toBe(2);
    expect(fromFile.getChild('c')!.toArray()).toEqual(BigInt64Array.from([2n, 2n]));
    expect(fromFile.getChild('region')!.toArray()).toEqual(['eu', 'us']);

    const stdoutArrow = await cliBytes(
      'query',
      `SELECT * FROM ops.eu_copy`,
      '--config',
      config,
      '--format',
      'arrow',
    );
    const t2 = tableFromIPC(stdoutArrow);
    expect(t2.numRows).toBe(8);
    expect(String(t2.schema.fields.find((f) => f.name === 'big')!.type)).toBe('Int64');
    expect(t2.getChild('big')!.toArray()).toContain(9007199254740996n);
  });

  test('time travel, explain, union of regions', async () => {
    const v = await cli(
      'query',
      'SELECT count(*) AS c FROM central.all_logs',
      '--config',
      config,
      '--as-of-version',
      '1',
      '--format',
      'jsonl',
    );
    expect(v.stdout).toBe('{"c":8}\n');
    const ts = await cli(
      'query',
      'SELECT count(*) AS c FROM central.all_logs',
      '--config',
      config,
      '--as-of-timestamp',
      '2000-01-01T00:00:00Z',
    );
    expect(ts.code).toBe(1);
    expect(ts.stderr).toMatch(/error/);
    const now = await cli(
      'query',
      'SELECT count(*) AS c FROM central.all_logs',
      '--config',
      config,
      '--as-of-timestamp',
      new Date().toISOString(),
      '--format',
      'csv',
    );
    expect(now.stdout).toBe('c\n16\n');

    const u = await cli(
      'query',
      `SELECT count(*) AS c FROM (SELECT * FROM regional.eu_west WHERE level = 'WARN' UNION ALL SELECT * FROM regional.us WHERE level = 'WARN')`,
      '--config',
      config,
      '--format',
      'jsonl',
    );
    expect(u.stdout).toBe('{"c":4}\n');

    const e = await cli(
      'query',
      `SELECT * FROM regional.us WHERE day > '2024-05-01'`,
      '--config',
      config,
      '--explain',
    );
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toEqual({
      tables: [
        expect.objectContaining({
          name: 'regional.us',
          version: 1,
          filesTotal: 2,
          filesScanned: 1,
          filesSkipped: 1,
        }),
      ],
    });
  });

  test('clear errors and exit codes', async () => {
    const unknown = await cli('query', 'SELECT * FROM regional.asia', '--config', config);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'error (BAD_INPUT): unknown table regional.asia; the catalog has central.all_logs, ops.eu_copy, quarantine.eu-west, quarantine.eu_west, quarantine.us, regional.eu-west, regional.eu_west, regional.us\n',
    );
    const ddl = await cli('query', 'DROP TABLE central.all_logs', '--config', config);
    expect(ddl.code).toBe(1);
    expect(ddl.stderr).toMatch(/only SELECT queries are allowed .*not DROP/);
    const fmt = await cli('query', 'SELECT 1', '--config', config, '--format', 'xml');
    expect(fmt.code).toBe(1);
    expect(fmt.stderr).toMatch(/unknown format xml/);
  });
});
