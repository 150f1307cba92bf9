/**
 * What `table read/delete --where` and `table append` say about bad input, as an operator sees it: a coded
 * error naming the problem (with a caret for predicates, the line and key for JSON input), never DuckDB's
 * text with the SQL we built (`__tributary_src`, `"__row"."level"`, `LINE 1: …`); empty input changes no
 * schema; keys no column can carry are refused before anything is written.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { cli } from '../harness/cli';

jest.setTimeout(180_000);

const dir = mkdtempSync(path.join(tmpdir(), 'tributary-cli-input-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const lines = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** No engine internals in what the user reads. */
const clean = (stderr: string) => {
  expect(stderr).not.toMatch(/__tributary|__row|LINE \d+:|CREATE OR REPLACE|read_json\(|IS TRUE/);
  expect(stderr.length).toBeLessThan(2000);
};

const info = async (table: string) => JSON.parse((await cli('table', 'info', table, '--json')).stdout);
const fieldNames = async (table: string) =>
  ((await info(table)).schema.fields as { name: string }[]).map((f) => f.name);

describe('predicates are type-checked against the table before they run', () => {
  const table = `file://${dir}/typed`;
  beforeAll(async () => {
    const input = file('typed.jsonl', lines({ level: 'INFO', n: 1 }, { level: 'ERROR', n: 2 }));
    expect((await cli('table', 'append', table, '--input', input)).code).toBe(0);
  });

  test.each([
    ['read', 'level = 1', 9, /column level \(string\) cannot be compared with a number 1/],
    ['read', "n > 'many'", 5, /column n \(long\) cannot be compared with 'many': it is not a number/],
    ['read', "level = 'INFO' OR n LIKE '1%'", 19, /LIKE matches strings, but column n \(long\)/],
    ['delete', 'level = 1', 9, /column level \(string\) cannot be compared with a number 1/],
    ['delete', "n IN (1, 'two')", 10, /'two'/],
  ])('table %s --where %p', async (cmd, where, pos, reason) => {
    const r = await cli('table', cmd, table, '--where', where);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error \\(BAD_INPUT\\): predicate error at position ${pos}: `));
    expect(r.stderr).toMatch(reason);
    // the caret sits under the operand at fault
    const [, excerpt, caret] = r.stderr.trimEnd().split('\n');
    expect(excerpt).toBe(`  ${where}`);
    expect(caret).toBe(`  ${' '.repeat(pos - 1)}^`);
    clean(r.stderr);
  });

  test('nothing was deleted and well-typed predicates still work', async () => {
    expect((await info(table)).version).toBe(0);
    const r = await cli('table', 'read', table, '--where', "level = 'ERROR' AND n >= '2'");
    expect(r.stdout.trim().split('\n')).toEqual(['{"level":"ERROR","n":2}']);
  });
});

describe('engine errors reach the user coded and without internal SQL', () => {
  test('malformed JSON: the line and what is wrong; no table is created', async () => {
    const table = `file://${dir}/malformed`;
    const input = file('malformed.jsonl', '{"a": 1}\n{"a": tru}\n');
    const r = await cli('table', 'append', table, '--input', input);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(BAD_INPUT\): input .*malformed.jsonl line 2: not valid JSON/);
    clean(r.stderr);
    expect((await cli('table', 'read', table)).stderr).toMatch(/NOT_FOUND/);
  });

  test('a line that is not an object is refused (DuckDB would make a phantom column of it)', async () => {
    const r = await cli('table', 'append', `file://${dir}/array`, '--input', file('array.jsonl', '[1, 2]\n'));
    expect(r.stderr).toMatch(/^error \(BAD_INPUT\): input .* line 1: expected a JSON object, found an array/);
  });

  test('a file that is not Parquet: the engine error, mapped', async () => {
    const r = await cli('table', 'append', `file://${dir}/pq`, '--input', file('bad.parquet', 'not parquet'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(BAD_INPUT\): cannot read the input: Invalid Input Error: .*Parquet/);
    clean(r.stderr);
  });

  test('query: a runtime error quotes the user SQL only', async () => {
    const table = `file://${dir}/q`;
    await cli('table', 'append', table, '--input', file('q.jsonl', lines({ level: 'INFO' })));
    const r = await cli('query', '--table', `logs.q=${table}`, 'SELECT CAST(level AS INTEGER) FROM logs.q');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \(BAD_INPUT\): query failed: Conversion Error: Could not convert string 'INFO'/,
    );
    expect(r.stderr).toMatch(/LINE 1: SELECT CAST\(level AS INTEGER\) FROM logs.q/);
    expect(r.stderr).not.toMatch(/read_parquet|__tributary/);
  });
});

describe('empty input changes no schema', () => {
  const empties: [string, string][] = [
    ['no lines', ''],
    ['blank lines', '\n\n  \n'],
    ['only {}', '{}\n{}\n'],
  ];

  test.each(empties)(
    'on a fresh table (%s): nothing appended, no table created, and it says so',
    async (_, text) => {
      const table = `file://${dir}/fresh-${empties.findIndex(([, t]) => t === text)}`;
      const r = await cli('table', 'append', table, '--input', file(`fresh-${text.length}.jsonl`, text));
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ version: null, rows: 0, files: 0, schemaChanged: false });
      expect(JSON.parse(r.stdout).note).toMatch(/nothing appended, no table created/);
      expect((await cli('table', 'read', table)).stderr).toMatch(/NOT_FOUND/);
    },
  );

  test.each(empties)('on an existing table (%s): no version, no column', async (_, text) => {
    const table = `file://${dir}/existing-${text.length}`;
    await cli('table', 'append', table, '--input', file('one.jsonl', lines({ a: 1 })));
    const r = await cli('table', 'append', table, '--input', file(`existing-${text.length}.jsonl`, text));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 0, rows: 0, schemaChanged: false });
    expect(JSON.parse(r.stdout).note).toMatch(/nothing appended$/);
    expect(await fieldNames(table)).toEqual(['a']);
    expect((await info(table)).version).toBe(0);
  });

  test('{} lines among rows are rows with no values (no json column either)', async () => {
    const table = `file://${dir}/mixed-empty`;
    const r = await cli('table', 'append', table, '--input', file('mixed.jsonl', '{}\n{"a": 1}\n{}\n'));
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 0, rows: 3 });
    expect(await fieldNames(table)).toEqual(['a']);
  });
});

describe('keys no column can carry are refused, naming the key and the rule', () => {
  const rule =
    'a column or field name must be non-empty, at most 255 characters long and free of control characters';
  test.each([
    ['empty key', '{"": 4, "b": 1}', /line 1: key "" cannot be a column name \(empty; /],
    ['nested empty key', '{"x": {"": 4}}', /line 1: key "" in "x" cannot be a column name \(empty; /],
    ['in an array', '{"x": [{"ok": 1}, {"": 2}]}', /line 1: key "" in "x" cannot be a column name/],
    [
      'control character',
      '{"a\\tb": 1}',
      /line 1: key "a\\tb" cannot be a column name \(holds a control character; /,
    ],
    [
      'long key',
      `{"${'k'.repeat(256)}": 1}`,
      /key "k{60}…" \(256 characters\) cannot be a column name \(longer than 255 characters; /,
    ],
    ['keys differing in case', '{"a": 1, "A": 2}', /line 1: keys "a" and "A" differ only in case/],
    [
      'case across lines',
      '{"a": 1}\n{"A": 2}',
      /line 2: key "A" differs only in case from key "a" on line 1/,
    ],
  ])('%s', async (_, text, reason) => {
    const fresh = `file://${dir}/keys-${Math.random().toString(36).slice(2)}`;
    const r = await cli('table', 'append', fresh, '--input', file('keys.jsonl', `${text}\n`));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \(BAD_INPUT\): input /);
    expect(r.stderr).toMatch(reason);
    if (!/case/.test(_)) expect(r.stderr).toContain(rule);
    expect((await cli('table', 'read', fresh)).stderr).toMatch(/NOT_FOUND/);
  });

  test('Parquet input: the same rule for its column and field names', async () => {
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    const p = path.join(dir, 'ctl.parquet');
    await c.run(`COPY (SELECT 1 AS ok, {'x': 1, 'y${'\n'}z': 2} AS s) TO '${p}' (FORMAT parquet)`);
    c.closeSync();
    inst.closeSync();
    const fresh = `file://${dir}/pq-keys`;
    const r = await cli('table', 'append', fresh, '--input', p);
    expect(r.stderr).toMatch(
      /^error \(BAD_INPUT\): input column "s"."y\\nz" cannot be a column name \(holds a control character; /,
    );
    expect((await cli('table', 'read', fresh)).stderr).toMatch(/NOT_FOUND/);
  });

  test('an existing table is left as it was', async () => {
    const table = `file://${dir}/keys-existing`;
    await cli('table', 'append', table, '--input', file('ok.jsonl', lines({ a: 1 })));
    const r = await cli(
      'table',
      'append',
      table,
      '--input',
      file('bad-key.jsonl', lines({ a: 2 }, { '': 3 })),
    );
    expect(r.stderr).toMatch(/line 2: key "" cannot be a column name/);
    expect((await info(table)).version).toBe(0);
    expect(await fieldNames(table)).toEqual(['a']);
  });
});

describe('input shapes DuckDB would choke on', () => {
  test('nesting deeper than 128 levels is refused before DuckDB sees it (objects at 20,000 levels, arrays at 300)', async () => {
    const deepObjects = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}\n`;
    const deepArrays = `{"x": ${'['.repeat(300)}1${']'.repeat(300)}}\n`;
    for (const [name, text] of [
      ['deep-objects.jsonl', deepObjects],
      ['deep-arrays.jsonl', deepArrays],
    ] as const) {
      const r = await cli('table', 'append', `file://${dir}/${name}`, '--input', file(name, text));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^error \(BAD_INPUT\): input .* line 1: values nest deeper than 128 levels \(at "/,
      );
      expect(r.stderr.length).toBeLessThan(400);
    }
  });

  test('gzip is recognised by its content, whatever the name', async () => {
    const { gzipSync } = await import('node:zlib');
    const p = path.join(dir, 'packed.jsonl'); // gzip bytes under a plain name
    writeFileSync(p, gzipSync(lines({ a: 1 }, { a: 2 })));
    const r = await cli('table', 'append', `file://${dir}/packed`, '--input', p);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 0, rows: 2 });
  });
});
