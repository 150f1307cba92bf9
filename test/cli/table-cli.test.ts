/** The `tributary table …` commands as an operator runs them: real process, real files, exit codes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { cli, cliBytes } from '../harness/cli';

describe('tributary table CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-cli-'));
  const table = `file://${dir}/logs`;
  const input = path.join(dir, 'in.jsonl');
  writeFileSync(
    input,
    [
      { day: '2024-01-01', level: 'INFO', msg: 'a', n: 1 },
      { day: '2024-01-01', level: 'ERROR', msg: 'b', n: 2 },
      { day: '2024-01-02', level: 'ERROR', msg: 'c', n: 3 },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n'),
  );

  test('append, read (filters, formats, time travel), delete, history, info, vacuum', async () => {
    const a = await cli('table', 'append', table, '--input', input, '--partition-by', 'day');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ version: 0, rows: 3 });

    const r = await cli('table', 'read', table, '--where', "level = 'ERROR' AND n >= 3");
    expect(r.stdout.trim().split('\n')).toEqual(['{"day":"2024-01-02","level":"ERROR","msg":"c","n":3}']);

    const csv = await cli('table', 'read', table, '--format', 'csv');
    expect(csv.stdout.split('\n')[0]).toBe('day,level,msg,n');

    const arrow = await cliBytes('table', 'read', table, '--format', 'arrow');
    expect(tableFromIPC(arrow).numRows).toBe(3);

    const d = await cli('table', 'delete', table, '--where', "level = 'INFO'");
    expect(JSON.parse(d.stdout)).toMatchObject({ version: 1, deletedRows: 1 });
    expect((await cli('table', 'read', table)).stdout.trim().split('\n')).toHaveLength(2);
    expect((await cli('table', 'read', table, '--version', '0')).stdout.trim().split('\n')).toHaveLength(3);

    const h = JSON.parse((await cli('table', 'history', table, '--json')).stdout) as {
      version: number;
      operation: string;
    }[];
    expect(h.map((e) => [e.version, e.operation])).toEqual([
      [1, 'DELETE'],
      [0, 'CREATE TABLE AS SELECT'],
    ]);
    const info = JSON.parse((await cli('table', 'info', table, '--json')).stdout);
    expect(info).toMatchObject({
      version: 1,
      numFiles: 2,
      numRecords: 2,
      partitionColumns: ['day'],
      protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    });

    const refused = await cli('table', 'vacuum', table, '--retain-hours', '0');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/shorter than the table's delta.deletedFileRetentionDuration/);
    const dry = JSON.parse(
      (await cli('table', 'vacuum', table, '--retain-hours', '0', '--force', '--dry-run')).stdout,
    );
    expect(dry.files).toBe(1); // the file removed by the DELETE
    const done = JSON.parse((await cli('table', 'vacuum', table, '--retain-hours', '0', '--force')).stdout);
    expect(done.files).toBe(1);
    expect((await cli('table', 'read', table)).stdout.trim().split('\n')).toHaveLength(2);
  });

  test('optimize: a dry run shows the plan, then it compacts and says what it did', async () => {
    const t = `file://${dir}/compact`;
    for (let i = 0; i < 4; i++)
      expect((await cli('table', 'append', t, '--input', input, '--partition-by', 'day')).code).toBe(0);
    const dry = JSON.parse((await cli('table', 'optimize', t, '--dry-run', '--bins')).stdout);
    expect(dry).toMatchObject({ dryRun: true, numRemovedFiles: 8 });
    expect(dry.bins).toHaveLength(2);
    expect(JSON.parse((await cli('table', 'info', t, '--json')).stdout).numFiles).toBe(8);
    const done = JSON.parse((await cli('table', 'optimize', t, '--where', "day = '2024-01-01'")).stdout);
    expect(done).toMatchObject({
      version: 4,
      numRemovedFiles: 4,
      numAddedFiles: 1,
      partitionsOptimized: 1,
      bins: 1,
    });
    expect(JSON.parse((await cli('table', 'info', t, '--json')).stdout)).toMatchObject({
      numFiles: 5,
      numRecords: 12,
    });
    const bad = await cli('table', 'optimize', t, '--where', "level = 'INFO'");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error \(BAD_INPUT\): optimize --where may name partition columns only/);
    const size = await cli('table', 'optimize', t, '--target-size', 'huge');
    expect(size.stderr).toMatch(/--target-size "huge" is not a size/);
  });

  test('bad input: one clear error line and a non-zero exit, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['table', 'read', `file://${dir}/missing`], /^error \(NOT_FOUND\): no Delta table at/],
      [
        ['table', 'read', table, '--where', 'level = '],
        /^error \(BAD_INPUT\): predicate error at position 9/,
      ],
      [['table', 'read', table, '--where', 'nope = 1'], /unknown column nope/],
      [['table', 'read', table, '--version', '99'], /has no version 99/],
      [['table', 'append', table, '--input', path.join(dir, 'nope.jsonl')], /input file .* does not exist/],
      [['table', 'read', 'ftp://x/y'], /unsupported storage scheme ftp:/],
    ];
    for (const [args, msg] of cases) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
