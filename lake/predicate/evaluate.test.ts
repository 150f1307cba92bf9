import { evaluate, parsePredicate } from '.';
import type { Expr } from '.';

const ev = (text: string, row: Record<string, unknown>) => evaluate(parsePredicate(text), row);

describe('evaluate: three-valued logic', () => {
  // t = TRUE, f = FALSE, n = NULL as conditions on boolean columns.
  const row = { t: true, f: false, n: null };
  test.each([
    ['t AND t', true],
    ['t AND f', false],
    ['t AND n', null],
    ['f AND n', false],
    ['n AND n', null],
    ['t OR n', true],
    ['f OR n', null],
    ['f OR f', false],
    ['NOT n', null],
    ['NOT f', true],
    ['NOT (f OR n)', null],
    ['missing', null],
    ['TRUE', true],
    ['NULL', null],
    ['NOT NULL OR TRUE', true],
  ])('%s → %s', (text, expected) => expect(ev(text, row)).toBe(expected));

  test('a non-boolean value used as a condition is NULL', () => {
    expect(ev('x', { x: 1 })).toBeNull();
    expect(ev('x', { x: 'true' })).toBeNull();
  });
});

describe('evaluate: comparisons', () => {
  test.each<[string, Record<string, unknown>, boolean | null]>([
    // numbers: ints (bigint) and decimals compare exactly; a double (JS number) on either side
    // makes it a double comparison, as in DuckDB
    ['a = 1', { a: 1 }, true],
    ['a = 1', { a: 1n }, true],
    ['a = 1.0', { a: 1 }, true],
    ['a = 1e0', { a: 1n }, true],
    ['a < 2.5', { a: 2 }, true],
    ['a = 0.1', { a: 0.1 }, true], // DuckDB: DOUBLE = DECIMAL compares as DOUBLE
    ['a = 1e-1', { a: 0.1 }, true],
    ['a = 0.30000000000000004', { a: 0.1 + 0.2 }, true],
    ['a = 0.3', { a: 0.1 + 0.2 }, false],
    ['a > 9007199254740992', { a: 9007199254740993n }, true], // both exact
    ['a = 9007199254740993', { a: 9007199254740993n }, true],
    ['a = 9007199254740993', { a: 9007199254740992 }, true], // double side: the int is rounded
    ['a = 9007199254740992e0', { a: 9007199254740993n }, true],
    ['a = 1.00000000000000000001', { a: 1n }, false], // int vs decimal: exact
    ['a > 123456789012345678901234567890.5', { a: 123456789012345678901234567891n }, true],
    ['a <> 1', { a: 2 }, true],
    ['a >= -1', { a: -1 }, true],
    // NaN and infinities as in DuckDB: NaN = NaN, NaN above everything
    ['a = b', { a: NaN, b: NaN }, true],
    ['a > 1e308', { a: Infinity }, true],
    ['a > b', { a: NaN, b: Infinity }, true],
    ['a < 0', { a: -Infinity }, true],
    // strings by code point (not UTF-16 unit) order
    ["a < 'b'", { a: 'a' }, true],
    ["a < 'a'", { a: 'A' }, true],
    ["a > 'abc'", { a: 'abcd' }, true],
    ["a > '\uffff'", { a: '😀' }, true],
    ["a = 'x'", { a: 'x' }, true],
    // booleans
    ['a = TRUE', { a: true }, true],
    ['a < TRUE', { a: false }, true],
    ['a = 1', { a: true }, true], // DuckDB casts BOOLEAN to the integer side
    ['a = 2', { a: true }, false],
    // NULLs
    ['a = 1', { a: null }, null],
    ['a = 1', {}, null],
    ['a = NULL', { a: 1 }, null],
    ['a <> NULL', { a: 1 }, null],
    ['NULL = NULL', {}, null],
    // string literals are cast to the other side's type, as DuckDB does
    ["a = '5'", { a: 5 }, true],
    ["a = ' 5.0 '", { a: 5n }, true],
    ["a > '1e3'", { a: 1001 }, true],
    ["a = 'abc'", { a: 5 }, null],
    ["a = 'true'", { a: true }, true],
    ["a = 'f'", { a: false }, true],
    ["a = 'maybe'", { a: true }, null],
    // row strings are not cast to numbers (DuckDB: type error); mixed kinds are NULL
    ['a = 5', { a: '5' }, null],
    ['a > 5', { a: 'abc' }, null],
    ['a = TRUE', { a: 'true' }, null],
    ["a = DATE '2024-01-01'", { a: 20240101 }, null],
    ['a = 1', { a: { x: 1 } }, null],
    ['a = 1', { a: [1] }, null],
  ])('%s with %o → %s', (text, row, expected) => expect(ev(text, row)).toBe(expected));
});

describe('evaluate: dates and timestamps', () => {
  const d = (iso: string) => new Date(iso);
  test.each<[string, unknown, boolean | null]>([
    ["DATE '2024-03-01'", d('2024-03-01T00:00:00Z'), true],
    ["DATE '2024-03-01'", d('2024-03-01T00:00:00.001Z'), false], // a date is midnight of that day
    ["DATE '2024-03-01'", '2024-03-01', true],
    ["DATE '2024-03-01'", '2024-03-01T00:00:00Z', true],
    ["DATE '2024-03-01'", '2024-03-01T01:00:00+01:00', true],
    ["DATE '2024-03-01'", '2024-03-01 00:00:00.000000', true],
    ["TIMESTAMP '2024-03-01 10:20:30.123456'", '2024-03-01T10:20:30.123456789', true],
    ["TIMESTAMP '2024-03-01 10:20:30.123'", d('2024-03-01T10:20:30.123Z'), true],
    ["TIMESTAMP '2024-03-01 10:20:30'", '2024-03-01T10:20:30', true],
    ["TIMESTAMP '2024-03-01 10:20:30'", 'not a date', null],
    ["TIMESTAMP '2024-03-01 10:20:30'", '2024-02-30', null],
    ["TIMESTAMP '2024-03-01 10:20:30'", new Date(NaN), null],
    ["'2024-03-01'", d('2024-03-01T00:00:00Z'), true], // a string literal cast to the date side
  ])('x = %s with %o → %s', (lit, x, expected) => expect(ev(`x = ${lit}`, { x })).toBe(expected));

  test('order follows time, also before 1970 and across leap days', () => {
    expect(ev("x < DATE '1970-01-01'", { x: d('1969-12-31T23:59:59Z') })).toBe(true);
    expect(ev("x BETWEEN DATE '2024-02-28' AND DATE '2024-03-01'", { x: '2024-02-29T12:00:00Z' })).toBe(true);
    expect(ev("x > TIMESTAMP '0001-01-01 00:00:00'", { x: d('0001-01-01T00:00:00.001Z') })).toBe(true);
    expect(ev("x < TIMESTAMP '9999-12-31 23:59:59.999999'", { x: '9999-12-31T23:59:59.999998' })).toBe(true);
  });

  test('dates compare with timestamps as midnight', () => {
    expect(ev("DATE '2024-01-01' = TIMESTAMP '2024-01-01 00:00:00'", {})).toBe(true);
    expect(ev("DATE '2024-01-02' > TIMESTAMP '2024-01-01 23:59:59.999999'", {})).toBe(true);
  });
});

describe('evaluate: IN, IS NULL, LIKE, BETWEEN', () => {
  test.each<[string, Record<string, unknown>, boolean | null]>([
    ['a IN (1, 2)', { a: 2 }, true],
    ['a IN (1, 2)', { a: 3 }, false],
    ['a IN (1, NULL)', { a: 1 }, true],
    ['a IN (1, NULL)', { a: 3 }, null],
    ['a NOT IN (1, NULL)', { a: 3 }, null], // the classic NOT IN trap, as in SQL
    ['a NOT IN (1, 2)', { a: 3 }, true],
    ['a IN (1)', { a: null }, null],
    ["a IN ('1', 2.0)", { a: 2n }, true],
    ['a IN (b, c)', { a: 'x', b: 'y', c: 'x' }, true],
    ['a IS NULL', { a: null }, true],
    ['a IS NULL', {}, true],
    ['a IS NULL', { a: 0 }, false],
    ['a IS NULL', { a: NaN }, false],
    ['a IS NOT NULL', { a: '' }, true],
    ['a.b IS NULL', { a: null }, true],
    ["a LIKE 'ab%'", { a: 'abc' }, true],
    ["a LIKE 'ab%'", { a: 'xab' }, false],
    ["a LIKE '%b%'", { a: 'abc' }, true],
    ["a LIKE 'a_c'", { a: 'abc' }, true],
    ["a LIKE 'a_c'", { a: 'ac' }, false],
    ["a LIKE '_'", { a: '😀' }, true], // one character is one code point
    ["a LIKE 'ABC'", { a: 'abc' }, false], // case-sensitive
    ["a LIKE '100\\%'", { a: '100%' }, true],
    ["a LIKE '100\\%'", { a: '1000' }, false],
    ["a LIKE 'a\\_b'", { a: 'axb' }, false],
    ["a LIKE 'a\\\\b'", { a: 'a\\b' }, true],
    ["a LIKE '%'", { a: '' }, true],
    ["a LIKE ''", { a: '' }, true],
    ["a LIKE '%a%b%'", { a: 'ab\nab' }, true], // % spans newlines
    ["a NOT LIKE 'x%'", { a: 'abc' }, true],
    ["a LIKE 'x%'", { a: null }, null],
    ["a NOT LIKE 'x%'", { a: null }, null],
    ["a LIKE '1%'", { a: 10 }, null], // LIKE is for strings only
    ['a BETWEEN 1 AND 3', { a: 1 }, true],
    ['a BETWEEN 1 AND 3', { a: 3 }, true],
    ['a BETWEEN 1 AND 3', { a: 4 }, false],
    ['a BETWEEN 3 AND 1', { a: 2 }, false],
    ['a BETWEEN 1 AND NULL', { a: 2 }, null],
    ['a BETWEEN 1 AND NULL', { a: 0 }, false],
    ['a NOT BETWEEN 1 AND NULL', { a: 0 }, true],
    ['a NOT BETWEEN 1 AND 3', { a: 2 }, false],
  ])('%s with %o → %s', (text, row, expected) => expect(ev(text, row)).toBe(expected));

  test('LIKE with many % stays fast on long input (no regex backtracking)', () => {
    const e = parsePredicate(`a LIKE '${'%a'.repeat(30)}%b'`);
    const t0 = process.hrtime.bigint();
    expect(evaluate(e, { a: 'a'.repeat(5000) })).toBe(false);
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(2000);
  });
});

describe('evaluate: column paths', () => {
  test('dotted paths walk nested objects (and Maps)', () => {
    expect(ev('a.b.c = 1', { a: { b: { c: 1 } } })).toBe(true);
    expect(ev('a.b.c = 1', { a: { b: new Map([['c', 1]]) } })).toBe(true);
    expect(ev('a.b.c = 1', { a: { b: 5 } })).toBeNull();
    expect(ev('a.b.c IS NULL', { a: { b: 5 } })).toBe(true);
  });

  test('a quoted dotted name reads a flat key, an unquoted one a nested path', () => {
    const row = { 'a.b': 1, a: { b: 2 } };
    expect(ev('`a.b` = 1', row)).toBe(true);
    expect(ev('a.b = 2', row)).toBe(true);
  });

  test('inherited properties are never read', () => {
    expect(ev('constructor IS NULL', {})).toBe(true);
    expect(ev('`__proto__` IS NULL', {})).toBe(true);
    expect(ev('toString IS NULL', {})).toBe(true);
    expect(ev('a.length IS NULL', { a: 'abc' })).toBe(true);
    expect(ev('a.length IS NULL', { a: [1, 2] })).toBe(true);
  });

  test('case matters in column names', () => {
    expect(ev('A = 1', { a: 1 })).toBeNull();
  });
});

describe('evaluate: hand-built ASTs', () => {
  test('empty AND is TRUE, empty OR is FALSE, empty IN is FALSE', () => {
    expect(evaluate({ kind: 'and', args: [] }, {})).toBe(true);
    expect(evaluate({ kind: 'or', args: [] }, {})).toBe(false);
    expect(
      evaluate({ kind: 'in', negated: false, arg: { kind: 'column', path: ['a'] }, list: [] }, { a: 1 }),
    ).toBe(false);
  });

  test('absurdly deep trees fail with BAD_INPUT instead of overflowing the stack', () => {
    let e: Expr = { kind: 'column', path: ['a'] };
    for (let i = 0; i < 100_000; i++) e = { kind: 'not', arg: e };
    expect(() => evaluate(e, { a: true })).toThrow(/nested more than/);
  });
});
