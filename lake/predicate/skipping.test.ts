import { mightMatch, parsePredicate } from '.';
import type { FileStats } from '.';

interface ColStats {
  min?: unknown;
  max?: unknown;
  nulls?: number;
}

/** Stats for a file of `rows` records; columns keyed by dotted path; `parts` are partition values. */
function stats(
  cols: Record<string, ColStats>,
  rows?: number,
  parts: Record<string, unknown> = {},
): FileStats {
  const key = (p: string[]) => p.join('.');
  return {
    numRecords: rows,
    min: (p) => cols[key(p)]?.min,
    max: (p) => cols[key(p)]?.max,
    nullCount: (p) => cols[key(p)]?.nulls,
    partitionValue: (p) =>
      key(p) in parts ? { present: true, value: parts[key(p)] } : { present: false, value: undefined },
  };
}

const might = (text: string, s: FileStats) => mightMatch(parsePredicate(text), s);

describe('mightMatch: min/max', () => {
  const s = stats({ x: { min: 10, max: 20, nulls: 0 }, s: { min: 'apple', max: 'banana', nulls: 0 } }, 100);
  test.each([
    ['x = 15', true],
    ['x = 10', true],
    ['x = 20', true],
    ['x = 9', false],
    ['x = 21', false],
    ['x < 10', false],
    ['x <= 10', true],
    ['x > 20', false],
    ['x >= 20', true],
    ['x <> 15', true],
    ['x IN (1, 2, 30)', false],
    ['x IN (1, 15)', true],
    ['x NOT IN (1, 2)', true],
    ['x BETWEEN 21 AND 30', false],
    ['x BETWEEN 0 AND 10', true],
    ['x BETWEEN 15 AND 12', true], // conservative: not proved empty by bounds alone
    ['x NOT BETWEEN 0 AND 30', false],
    ['x NOT BETWEEN 12 AND 30', true],
    ['NOT x > 5', false],
    ['NOT x < 5', true],
    ['NOT (x >= 10 AND x <= 20)', false],
    ['x > 100 OR x < 0', false],
    ['x > 100 OR x < 11', true],
    ['x > 15 AND x < 12', true], // different conjuncts may match different rows; no cross-reasoning
    ['15 > x', true],
    ['5 > x', false],
    ["x = '15'", true],
    ["x = '30'", false],
    ['x = 15.5', true],
    ['x = 20.000001', false],
    ["s = 'apricot'", true],
    ["s = 'cherry'", false],
    ["s < 'apple'", false],
    ["s LIKE 'b%'", true],
    ["s LIKE 'c%'", false],
    ["s LIKE 'ap%'", true],
    ["s LIKE 'a%z'", true],
    ["s LIKE 'bananas%'", false],
    ["s LIKE '%z'", true],
    ["s NOT LIKE 'c%'", true],
    ['x IS NULL', false],
    ['x IS NOT NULL', true],
    ['y = 1', true], // no stats for y
    ['x = NULL', false],
    ['x = y', true],
    ['FALSE', false],
    ['NULL', false],
    ['TRUE', true],
  ])('%s → %s', (text, expected) => expect(might(text, s)).toBe(expected));

  test('NaN sorts above every number, so a NaN max bounds nothing above', () => {
    expect(might('x > 1e300', stats({ x: { min: 1, max: NaN } }))).toBe(true);
    expect(might('x > 1e300', stats({ x: { min: 1, max: Infinity } }))).toBe(true);
    expect(might('x > 1e300', stats({ x: { min: 1, max: 5 } }))).toBe(false);
  });

  test('mismatched types never prune', () => {
    const t = stats({ x: { min: 'a', max: 'b' }, d: { min: '2024-01-01', max: '2024-01-31' } });
    expect(might('x > 5', t)).toBe(true);
    expect(might('NOT x > 5', t)).toBe(true);
    expect(might("d < DATE '2023-01-01'", t)).toBe(true); // string stats are not read as dates
  });

  test('Date bounds prune date and timestamp predicates', () => {
    const t = stats(
      { ts: { min: new Date('2024-01-01T00:00:00Z'), max: new Date('2024-01-31T12:00:00Z'), nulls: 0 } },
      10,
    );
    expect(might("ts < DATE '2024-01-01'", t)).toBe(false);
    expect(might("ts <= DATE '2024-01-01'", t)).toBe(true);
    expect(might("ts > TIMESTAMP '2024-01-31 12:00:00'", t)).toBe(false);
    expect(might("ts > TIMESTAMP '2024-01-31 11:59:59.999999'", t)).toBe(true);
    expect(might("ts BETWEEN '2023-01-01' AND '2023-12-31'", t)).toBe(false);
  });

  test('doubles beyond 2^53 (JSON-parsed long stats) are widened before use', () => {
    // The true max 2^53+1 was rounded to 2^53 by JSON.parse; the file must not be skipped.
    const t = stats({ id: { min: 2 ** 53, max: 2 ** 53 } });
    expect(might('id = 9007199254740993', t)).toBe(true);
    expect(might('id > 9007199254740992', t)).toBe(true);
    expect(might('id > 9007199254741100', t)).toBe(false);
  });

  test('bigint bounds are exact', () => {
    const t = stats({ id: { min: 9007199254740993n, max: 9007199254740995n } });
    expect(might('id = 9007199254740992', t)).toBe(false);
    expect(might('id = 9007199254740994', t)).toBe(true);
  });

  test('single-valued column: = is settled and <> can be pruned', () => {
    const t = stats({ x: { min: 7, max: 7, nulls: 0 } }, 5);
    expect(might('x <> 7', t)).toBe(false);
    expect(might('NOT x = 7', t)).toBe(false);
    expect(might('x NOT IN (7)', t)).toBe(false);
    expect(might('x = 7', t)).toBe(true);
  });

  test('boolean columns used as conditions', () => {
    expect(might('flag', stats({ flag: { min: false, max: false } }))).toBe(false);
    expect(might('NOT flag', stats({ flag: { min: true, max: true } }))).toBe(false);
    expect(might('flag', stats({ flag: { min: false, max: true } }))).toBe(true);
    expect(might('flag', stats({}))).toBe(true);
  });
});

describe('mightMatch: null counts', () => {
  test.each<[string, ColStats, number | undefined, boolean]>([
    ['x IS NULL', { nulls: 0 }, 10, false],
    ['x IS NULL', { nulls: 3 }, 10, true],
    ['x IS NULL', {}, 10, true],
    ['x IS NOT NULL', { nulls: 10 }, 10, false],
    ['x IS NOT NULL', { nulls: 9 }, 10, true],
    ['x IS NOT NULL', { nulls: 10 }, undefined, true],
    ['x = 1', { nulls: 10 }, 10, false], // all NULL: no comparison is TRUE
    ['NOT x = 1', { nulls: 10 }, 10, false],
    ['x IN (1, NULL)', { nulls: 10 }, 10, false],
    ["x LIKE '%'", { nulls: 10 }, 10, false],
    ['x = 1 OR x IS NULL', { min: 5, max: 6, nulls: 1 }, 10, true],
    ['x = 1 OR x IS NULL', { min: 5, max: 6, nulls: 0 }, 10, false],
  ])('%s with %o of %s rows → %s', (text, col, rows, expected) => {
    expect(might(text, stats({ x: col }, rows))).toBe(expected);
  });

  test('an empty file matches nothing', () => {
    expect(might('TRUE', stats({}, 0))).toBe(false);
  });
});

describe('mightMatch: partition values', () => {
  test.each<[string, Record<string, unknown>, boolean]>([
    ["region = 'eu'", { region: 'eu' }, true],
    ["region = 'us'", { region: 'eu' }, false],
    ["region <> 'eu'", { region: 'eu' }, false],
    ["region IN ('us', 'ap')", { region: 'eu' }, false],
    ["region NOT IN ('us', 'ap')", { region: 'eu' }, true],
    ["region LIKE 'e_'", { region: 'eu' }, true],
    ["region NOT LIKE 'e%'", { region: 'eu' }, false],
    ['region IS NULL', { region: 'eu' }, false],
    ['region IS NULL', { region: null }, true],
    ["region = 'eu'", { region: null }, false],
    ["day = DATE '2024-01-02'", { day: '2024-01-02' }, true], // an ISO string partition value is read as a date
    ["day = DATE '2024-01-03'", { day: '2024-01-02' }, false],
    ["day >= DATE '2024-01-03'", { day: new Date('2024-01-02T00:00:00Z') }, false],
    ['n = 5', { n: 5 }, true],
    ['n = 5', { n: 6n }, false],
    ['n = 5', { n: '6' }, true], // raw string for a number column: type mismatch, never prune
    ['hot', { hot: false }, false],
    ['NOT hot', { hot: false }, true],
    ["region = 'us' OR x > 100", { region: 'eu' }, false],
  ])('%s with %o → %s', (text, parts, expected) => {
    expect(might(text, stats({ x: { min: 1, max: 10 } }, 10, parts))).toBe(expected);
  });

  test('a partition value that may be a rounded 64-bit integer is not trusted as exact', () => {
    // Number('9007199254740993') === 2 ** 53: the rows may hold 2^53 + 1.
    expect(might('n > 9007199254740992', stats({}, 10, { n: 2 ** 53 }))).toBe(true);
    expect(might('n > 9007199254741100', stats({}, 10, { n: 2 ** 53 }))).toBe(false);
    expect(might('n > 9007199254740992', stats({}, 10, { n: 9007199254740993n }))).toBe(true);
    expect(might('n > 9007199254740993', stats({}, 10, { n: 9007199254740993n }))).toBe(false);
  });

  test('a partition value wins over min/max stats of the same column', () => {
    expect(might("p = 'a'", stats({ p: { min: 'x', max: 'z' } }, 10, { p: 'a' }))).toBe(true);
  });

  test('stats without partitionValue are fine', () => {
    expect(
      mightMatch(parsePredicate('x = 1'), {
        min: () => undefined,
        max: () => undefined,
        nullCount: () => undefined,
      }),
    ).toBe(true);
  });
});
