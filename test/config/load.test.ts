/** Config errors: every problem is `file:line: path: message`, and no input crashes the loader. */
import { parseConfig } from '../../config/load';
import { queryCatalogOf } from '../../config/catalog';

const base = `regions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t" }\n`;

/** The loader's error message; fails the test if the text is accepted or the error is not coded. */
function configError(text: string, file = 'c.yaml'): string {
  try {
    parseConfig(text, file);
  } catch (e) {
    expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

/** Each problem line has the form `file:line: path: message`. */
const problems = (message: string): string[] => message.split('\n').slice(1);
const FORM = /^c\.yaml:\d+: \S+: \S.*[^:]$/;

test('a YAML syntax error gives file:line: path: message, the line where it is, no trailing colon', () => {
  const msg = configError(`${base}central:\n  table: "file:///c"\n  filter: [\n`);
  for (const p of problems(msg)) expect(p).toMatch(FORM);
  expect(problems(msg)[0]).toMatch(/^c\.yaml:[56]: central\.filter: Flow sequence .* \(column \d+\)$/);
  const compact = configError(`${base}central: a: b\n`);
  expect(problems(compact)[0]).toMatch(/^c\.yaml:3: central\S*: Nested mappings are not allowed/);
});

test('an unknown key reports its own line, not its parent map', () => {
  const msg = configError(`${base}central:\n  table: "file:///c"\n\n  bogus: 1\n`);
  expect(problems(msg)).toEqual(['c.yaml:6: central.bogus: unknown key']);
  const top = configError(`${base}\nextra: 1\nmore: 2\n`);
  expect(problems(top)).toEqual(['c.yaml:4: extra: unknown key', 'c.yaml:5: more: unknown key']);
  const region = configError(
    `regions:\n  - name: eu-1\n    cloud: local\n    raw: "file:///r"\n    table: "file:///t"\n    ingest:\n      maxFilesPerBatch: 5\n      typo: 1\n`,
  );
  expect(problems(region)).toEqual(['c.yaml:8: regions.0.ingest.typo: unknown key']);
});

test.each([
  ['flow lists', (n: number) => `${base}x: ${'['.repeat(n)}${']'.repeat(n)}\n`],
  ['unclosed flow lists', (n: number) => `${base}x: ${'['.repeat(n)}\n`],
  ['flow maps', (n: number) => `${base}x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n`],
  ['compact block lists', (n: number) => `${base}x:\n  ${'- '.repeat(n)}1\n`],
  ['nesting where a list is expected', (n: number) => `regions: ${'['.repeat(n)}${']'.repeat(n)}\n`],
])('deep nesting (%s, 10,000 levels) is refused with a depth limit, not a stack overflow', (_, make) => {
  const msg = configError(make(10_000));
  expect(msg).not.toMatch(/call stack/i);
  expect(problems(msg)).toHaveLength(1);
  expect(problems(msg)[0]).toMatch(/^c\.yaml:\d+: \S+: nested more than 32 levels deep/);
  expect(msg.length).toBeLessThan(1000);
});

test('nesting up to the limit (32 levels with the top-level map) is only a schema error', () => {
  const msg = configError(`${base}x: ${'['.repeat(31)}${']'.repeat(31)}\n`);
  expect(problems(msg)).toEqual(['c.yaml:3: x: unknown key']);
});

test('an alias bomb (billion laughs) is a coded error that points at the alias', () => {
  const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  const lines = levels.map((l, i) =>
    i === 0
      ? `${l}: &${l} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`
      : `${l}: &${l} [${Array(9)
          .fill(`*${levels[i - 1]}`)
          .join(',')}]`,
  );
  const msg = configError(`${base}${lines.join('\n')}\n`);
  expect(problems(msg)).toHaveLength(1);
  expect(problems(msg)[0]).toMatch(/^c\.yaml:\d+: [a-i]\.0: YAML aliases expand too much \(\*[a-h] alone/);
  // Aliases used the ordinary way still work; one without its anchor says where it is.
  const anchored = parseConfig(
    `regions:\n  - { name: a, cloud: local, raw: "file:///r", table: "file:///t", ingest: &d { maxFilesPerBatch: 7 } }\n  - { name: b, cloud: local, raw: "file:///r", table: "file:///u", ingest: *d }\n`,
  );
  expect(anchored.regions[1]!.ingest.maxFilesPerBatch).toBe(7);
  const unresolved = configError(`${base.replace('"file:///t" }', '"file:///t", ingest: *nope }')}`);
  expect(problems(unresolved)).toEqual([
    'c.yaml:2: regions.0.ingest: Unresolved alias (the anchor must be set before the alias): nope',
  ]);
});

test('a bad catalog key keeps the "names look like schema.table" message', () => {
  const msg = configError(`${base}catalog:\n  nodot: "file:///x"\n`);
  expect(problems(msg)).toEqual(['c.yaml:4: catalog.nodot: names look like schema.table']);
});

test('catalog names that differ only in case are refused, naming both lines', () => {
  const msg = configError(
    `${base}catalog:\n  logs.app: "file:///x"\n  other.t: "file:///z"\n  Logs.App: "file:///y"\n`,
  );
  expect(problems(msg)).toEqual([
    'c.yaml:6: catalog.Logs.App: Logs.App and logs.app differ only in case; table names in queries are case-insensitive (catalog.logs.app is at c.yaml:4)',
  ]);
  const ok = parseConfig(`${base}catalog:\n  logs.app: "file:///x"\n`);
  expect(queryCatalogOf(ok)['logs.app']).toBe('file:///x');
});

test('many problems are listed up to a bound', () => {
  const keys = Array.from({ length: 50 }, (_, i) => `k${i}: 1`).join('\n');
  const msg = configError(`${base}${keys}\n`);
  expect(problems(msg)).toHaveLength(21);
  expect(problems(msg).at(-1)).toBe('(30 more problems)');
});

test('values reached through an alias are reported at the anchor; empty and multi-document files too', () => {
  const msg = configError(
    'x: &d\n  maxFilesPerBatch: 0\n  bogus: 1\nregions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t", ingest: *d }\n',
  );
  expect(problems(msg)).toEqual([
    'c.yaml:2: regions.0.ingest.maxFilesPerBatch: Too small: expected number to be >0',
    'c.yaml:3: regions.0.ingest.bogus: unknown key',
    'c.yaml:1: x: unknown key',
  ]);
  expect(problems(configError(''))).toEqual([
    'c.yaml:1: (root): Invalid input: expected object, received null',
  ]);
  expect(problems(configError(`${base}---\nregions: []\n`))).toEqual([
    'c.yaml:3: (root): a second YAML document (after ---); the config is one document',
  ]);
  expect(problems(configError('regions: []\nregions: []\n'))).toEqual([
    'c.yaml:2: regions: Map keys must be unique (column 1)',
  ]);
});

test('a long flat list is fine (walks push no spread arguments)', () => {
  const msg = configError(`${base}x: [${Array(200_000).fill('1').join(',')}]\n`);
  expect(problems(msg)).toEqual(['c.yaml:3: x: unknown key']);
});

test('a huge unknown key is cut in the message', () => {
  const k = 'k'.repeat(100_000);
  const msg = configError(`${base}? ${k}\n: 1\n`);
  expect(problems(msg)).toEqual([`c.yaml:3: ${'k'.repeat(80)}…(100000 characters): unknown key`]);
  // Implicit keys are limited to 1024 characters by YAML itself: a syntax error, also cut.
  expect(problems(configError(`${base}${k}: 1\n`))[0]).toMatch(
    /^c\.yaml:3: k{80}…\(100000 characters\): The : indicator/,
  );
});
