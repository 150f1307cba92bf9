import { TributaryError } from '../errors';
import { MAX_NESTING_DEPTH, MAX_PREDICATE_LENGTH, columnsOf, parsePredicate, safeParsePredicate } from '.';
import type { Expr } from '.';

const col = (...path: string[]) => ({ kind: 'column', path }) as const;
const int = (v: bigint) => ({ kind: 'literal', type: 'int', value: v }) as const;
const str = (v: string) => ({ kind: 'literal', type: 'string', value: v }) as const;

/** The reason and 1-based position of a parse failure. */
function failure(text: string): { reason: string; position: number; message: string } {
  const r = safeParsePredicate(text);
  if (r.success)
    throw new Error(
      `expected ${JSON.stringify(text)} to fail, got ${JSON.stringify(r.expr, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    );
  return r.error;
}

describe('parsePredicate: operands', () => {
  test.each<[string, Expr]>([
    ['flag', col('flag')],
    ['_a1', col('_a1')],
    ['a.b.c', col('a', 'b', 'c')],
    ['a . b', col('a', 'b')],
    ['`weird name`', col('weird name')],
    ['`back``tick`', col('back`tick')],
    ['`a.b`', col('a.b')],
    ['`x`.`y z`.w', col('x', 'y z', 'w')],
    ['`and`', col('and')],
    ['a.and', col('a', 'and')],
    ['date', col('date')],
    ['TIMESTAMP', col('TIMESTAMP')],
    ['TRUE', { kind: 'literal', type: 'bool', value: true }],
    ['false', { kind: 'literal', type: 'bool', value: false }],
    ['NuLl', { kind: 'literal', type: 'null', value: null }],
  ])('%s', (text, expected) => expect(parsePredicate(text)).toEqual(expected));

  test.each<[string, object]>([
    ['42', int(42n)],
    ['-42', int(-42n)],
    ['- 42', int(-42n)],
    ['007', int(7n)],
    ['9007199254740993', int(9007199254740993n)],
    ['-123456789012345678901234567890', int(-123456789012345678901234567890n)],
    ['1.50', { kind: 'literal', type: 'decimal', value: '1.50' }],
    ['-0001.5', { kind: 'literal', type: 'decimal', value: '-1.5' }],
    ['-0.0', { kind: 'literal', type: 'decimal', value: '0.0' }],
    ['1e3', { kind: 'literal', type: 'float', value: 1000 }],
    ['-2.5E-1', { kind: 'literal', type: 'float', value: -0.25 }],
    ["'it''s'", str("it's")],
    ["''", str('')],
    ["'multi\nline'", str('multi\nline')],
    ["DATE '2024-02-29'", { kind: 'literal', type: 'date', value: '2024-02-29' }],
    ["date'2000-01-01'", { kind: 'literal', type: 'date', value: '2000-01-01' }],
    ["TIMESTAMP '2024-01-02 03:04:05'", { kind: 'literal', type: 'timestamp', value: '2024-01-02 03:04:05' }],
    [
      "TIMESTAMP '2024-01-02T03:04:05.12'",
      { kind: 'literal', type: 'timestamp', value: '2024-01-02 03:04:05.120000' },
    ],
    [
      "TIMESTAMP '2024-01-02 03:04:05.000000'",
      { kind: 'literal', type: 'timestamp', value: '2024-01-02 03:04:05' },
    ],
    ["TIMESTAMP '2024-01-02'", { kind: 'literal', type: 'timestamp', value: '2024-01-02 00:00:00' }],
  ])('literal %s', (text, expected) => {
    expect(parsePredicate(`x = ${text}`)).toEqual({ kind: 'cmp', op: '=', left: col('x'), right: expected });
  });
});

describe('parsePredicate: conditions', () => {
  test.each([
    ['a = 1', '='],
    ['a != 1', '<>'],
    ['a <> 1', '<>'],
    ['a < 1', '<'],
    ['a <= 1', '<='],
    ['a > 1', '>'],
    ['a >= 1', '>='],
    ['a>=1', '>='],
  ])('%s', (text, op) =>
    expect(parsePredicate(text)).toEqual({ kind: 'cmp', op, left: col('a'), right: int(1n) }),
  );

  test('literal on the left, column on the right, column vs column', () => {
    expect(parsePredicate('1 < a')).toEqual({ kind: 'cmp', op: '<', left: int(1n), right: col('a') });
    expect(parsePredicate('a.x = b')).toEqual({ kind: 'cmp', op: '=', left: col('a', 'x'), right: col('b') });
  });

  test('IN, NOT IN', () => {
    expect(parsePredicate("a IN (1, 'x', NULL, b)")).toEqual({
      kind: 'in',
      negated: false,
      arg: col('a'),
      list: [int(1n), str('x'), { kind: 'literal', type: 'null', value: null }, col('b')],
    });
    expect(parsePredicate('a not in (-1)')).toEqual({
      kind: 'in',
      negated: true,
      arg: col('a'),
      list: [int(-1n)],
    });
  });

  test('IS [NOT] NULL', () => {
    expect(parsePredicate('a IS NULL')).toEqual({ kind: 'isNull', negated: false, arg: col('a') });
    expect(parsePredicate('a is not null')).toEqual({ kind: 'isNull', negated: true, arg: col('a') });
  });

  test('[NOT] LIKE', () => {
    expect(parsePredicate("a LIKE 'x%_'")).toEqual({
      kind: 'like',
      negated: false,
      arg: col('a'),
      pattern: 'x%_',
    });
    expect(parsePredicate("a NOT LIKE '100\\%'")).toEqual({
      kind: 'like',
      negated: true,
      arg: col('a'),
      pattern: '100\\%',
    });
  });

  test('[NOT] BETWEEN binds its own AND', () => {
    expect(parsePredicate('a BETWEEN 1 AND 5 AND b = 2')).toEqual({
      kind: 'and',
      args: [
        { kind: 'between', negated: false, arg: col('a'), low: int(1n), high: int(5n) },
        { kind: 'cmp', op: '=', left: col('b'), right: int(2n) },
      ],
    });
    expect(parsePredicate('a NOT BETWEEN -1 AND b')).toEqual({
      kind: 'between',
      negated: true,
      arg: col('a'),
      low: int(-1n),
      high: col('b'),
    });
  });

  test('precedence: NOT > AND > OR, chains are flat, parentheses group', () => {
    const a = { kind: 'cmp', op: '=', left: col('a'), right: int(1n) };
    const b = { kind: 'cmp', op: '=', left: col('b'), right: int(2n) };
    const c = { kind: 'cmp', op: '=', left: col('c'), right: int(3n) };
    expect(parsePredicate('a = 1 OR b = 2 AND c = 3')).toEqual({
      kind: 'or',
      args: [a, { kind: 'and', args: [b, c] }],
    });
    expect(parsePredicate('(a = 1 OR b = 2) AND c = 3')).toEqual({
      kind: 'and',
      args: [{ kind: 'or', args: [a, b] }, c],
    });
    expect(parsePredicate('NOT a = 1 AND b = 2')).toEqual({
      kind: 'and',
      args: [{ kind: 'not', arg: a }, b],
    });
    expect(parsePredicate('a = 1 and b = 2 and c = 3')).toEqual({ kind: 'and', args: [a, b, c] });
    expect(parsePredicate('NOT NOT flag')).toEqual({ kind: 'not', arg: { kind: 'not', arg: col('flag') } });
    expect(parsePredicate('((flag))')).toEqual(col('flag'));
  });

  test('whitespace of every kind is allowed between tokens', () => {
    expect(parsePredicate('\ta\n=\r\n1 ')).toEqual({ kind: 'cmp', op: '=', left: col('a'), right: int(1n) });
  });
});

describe('parsePredicate: errors', () => {
  test('message has the 1-based position and a caret line (the documented example)', () => {
    expect(() => parsePredicate('a = 1 AND b =')).toThrow(TributaryError);
    try {
      parsePredicate('a = 1 AND b =');
    } catch (e) {
      expect(e).toBeInstanceOf(TributaryError);
      expect((e as TributaryError).code).toBe('BAD_INPUT');
      expect((e as TributaryError).message).toBe(
        "predicate error at position 14: expected a value after '=', found end of input\n  a = 1 AND b =\n               ^",
      );
    }
  });

  test('safeParsePredicate returns the issue instead of throwing', () => {
    expect(safeParsePredicate('a = ')).toEqual({
      success: false,
      error: {
        position: 5,
        reason: "expected a value after '=', found end of input",
        message:
          "predicate error at position 5: expected a value after '=', found end of input\n  a = \n      ^",
      },
    });
    expect(safeParsePredicate('a = 1')).toEqual({ success: true, expr: parsePredicate('a = 1') });
  });

  test('multi-line input shows the line and column of the failing line only', () => {
    expect(failure('a = 1\nAND b = = 2').message).toBe(
      "predicate error at position 15 (line 2, column 9): expected a value after '=', found '='\n  AND b = = 2\n          ^",
    );
  });

  test.each([
    ['', 1, 'expected a condition, found end of input'],
    ['   ', 4, 'expected a condition, found end of input'],
    ['a =', 4, "expected a value after '=', found end of input"],
    ['a = 1 b', 7, "expected AND, OR or end of input, found 'b'"],
    ['a = 1 AND', 10, 'expected a condition, found end of input'],
    ['(a = 1', 7, "expected AND, OR or ')' to close the '(' at position 1, found end of input"],
    ['a = 1)', 6, "expected AND, OR or end of input, found ')'"],
    ['a = 1 = 2', 7, "comparisons cannot be chained; combine them with AND (found '=')"],
    ['5', 1, 'expected a condition, found an int value on its own; compare it, e.g. `col = …`'],
    ["'x' OR a", 1, 'expected a condition, found a string value on its own; compare it, e.g. `col = …`'],
    ['and = 1', 1, 'expected a condition, found keyword AND (to use it as a column name, write `and`)'],
    ['a = or', 5, "expected a value after '=', found keyword OR (to use it as a column name, write `or`)"],
    ['a IS 5', 6, 'expected NULL or NOT NULL after IS, found number 5'],
    ['a IS NOT TRUE', 10, 'expected NULL after IS, found keyword TRUE'],
    ['a NOT 5', 7, 'expected IN, LIKE or BETWEEN after NOT, found number 5'],
    ['a IN 1', 6, "expected '(' after IN, found number 1"],
    ['a IN ()', 7, 'an IN list must not be empty'],
    ['a IN (1 2)', 9, "expected ',' or ')' in the IN list, found number 2"],
    ['a IN (1,)', 9, "expected a value in the IN list, found ')'"],
    ['a LIKE b', 8, "expected a pattern string after LIKE, found 'b'"],
    ["a LIKE 'x\\'", 8, "LIKE pattern ends with the escape character '\\'"],
    [
      "a LIKE '\\d'",
      8,
      "in a LIKE pattern '\\' must be followed by %, _ or \\ (write '\\\\' for a literal backslash)",
    ],
    ['a BETWEEN 1 OR 2', 13, 'expected AND after the lower bound of BETWEEN, found keyword OR'],
    ['a = -b', 6, "expected a number after '-', found 'b'"],
    ['a. = 1', 4, "expected a field name after '.', found '='"],
    ['a.1 = 1', 3, "expected a field name after '.', found number 1"],
    ['a = 1.', 7, "expected a digit after the decimal point in number '1.'"],
    ['a = 1e', 7, "expected exponent digits in number '1e'"],
    ['a = 12abc', 7, "unexpected 'a' right after number '12'"],
    ['a = 1e999', 5, 'number 1e999 is out of range for a double'],
    ["a = 'open", 5, "unterminated string: missing closing '"],
    ['`open = 1', 1, 'unterminated quoted column name: missing closing `'],
    ['`` = 1', 1, 'empty column name ``'],
    [
      '"a" = 1',
      1,
      "double quotes are not supported: write `column name` in backquotes and 'text' in single quotes",
    ],
    [
      "a = DATE '2023-02-29'",
      10,
      "DATE literal '2023-02-29' is not a valid date: day 29 is outside 1..28 for 2023-02",
    ],
    ["a = DATE '2024-1-1'", 10, "DATE literal '2024-1-1' is not in the form YYYY-MM-DD"],
    ["a = DATE '0000-01-01'", 10, "DATE literal '0000-01-01' is not a valid date: year 0 is outside 1..9999"],
    [
      "a = TIMESTAMP '2024-01-01 24:00:00'",
      15,
      "TIMESTAMP literal '2024-01-01 24:00:00' is not a valid timestamp: hour 24 is outside 0..23",
    ],
    [
      "a = TIMESTAMP '2024-01-01 10:00:00Z'",
      15,
      "TIMESTAMP literal '2024-01-01 10:00:00Z' is not in the form YYYY-MM-DD HH:MM:SS[.ffffff] (time zone offsets are not supported)",
    ],
    [
      "a = TIMESTAMP '2024-01-01 10:00:00.1234567'",
      15,
      "TIMESTAMP literal '2024-01-01 10:00:00.1234567' is not in the form YYYY-MM-DD HH:MM:SS[.ffffff]",
    ],
  ])('%j → position %d', (text, position, reason) => {
    const e = failure(text);
    expect(e.reason).toBe(reason);
    expect(e.position).toBe(position);
    expect(e.message.startsWith(`predicate error at position ${position}: ${reason}\n`)).toBe(true);
  });

  test.each([
    ['lower(a) = 1', 1, "function calls are not supported (found 'lower(')"],
    ['a.b(1) = 1', 1, "function calls are not supported (found 'a.b(')"],
    ["a = DATE('2024-01-01')", 5, "function calls are not supported (found 'DATE(')"],
    ['a IN (SELECT * FROM t)', 7, 'subqueries are not supported'],
    ['a IN (select b from t)', 7, 'subqueries are not supported'],
    ['EXISTS (SELECT 1)', 1, "function calls are not supported (found 'EXISTS(')"],
    ['a = 1; DROP TABLE t', 6, "';' is not allowed: a predicate is a single expression"],
    ["a = 'x'; DROP TABLE t; --'", 8, "';' is not allowed: a predicate is a single expression"],
    ['a = 1 -- comment', 7, "comments ('--') are not allowed"],
    ['a = 1 /* c */', 7, "comments ('/*') are not allowed"],
    ['a = --1', 5, "comments ('--') are not allowed"],
    ['a = 1 + 1', 7, "unexpected '+': arithmetic and other operators are not supported"],
    ['a || b', 3, "unexpected '|': arithmetic and other operators are not supported"],
    ['a = ?', 5, "unexpected '?': parameters are not supported"],
    ['a = $1', 5, "unexpected '$': parameters are not supported"],
    ['a = 1 ! 2', 7, "unexpected character '!'"],
    ['é = 1', 1, "unexpected character 'é' (U+00E9): put names with non-ASCII characters in backquotes"],
    ['a = 1\u0000', 6, 'NUL characters (U+0000) are not allowed'],
    ["a = '\ud800'", 6, 'unpaired UTF-16 surrogate: the text is not valid Unicode'],
  ])('not part of the language: %j', (text, position, reason) => {
    expect(failure(text)).toMatchObject({ position, reason });
  });

  test('the excerpt of a long line is cut around the error and stays aligned', () => {
    const text = `${'x = 1 AND '.repeat(20)}y = = 2${' AND z = 3'.repeat(20)}`;
    const { message, position } = failure(text);
    const [, excerpt = '', caret = ''] = message.split('\n');
    expect(excerpt.startsWith('  …')).toBe(true);
    expect(excerpt.endsWith('…')).toBe(true);
    expect(excerpt.length).toBeLessThan(90);
    expect(caret.trim()).toBe('^');
    expect(excerpt[caret.indexOf('^')]).toBe('=');
    expect(excerpt.slice(caret.indexOf('^'), caret.indexOf('^') + 5)).toBe(
      text.slice(position - 1, position + 4),
    );
  });

  test('control characters in the excerpt are blanked so the caret stays aligned', () => {
    const { message } = failure('a\u001b[31m = 1');
    expect(message).not.toContain('\u001b');
  });
});

describe('limits', () => {
  test(`input longer than ${MAX_PREDICATE_LENGTH} characters is refused before lexing`, () => {
    const text = `a IN (${Array.from({ length: 20_000 }, (_, i) => i).join(',')})`;
    expect(text.length).toBeGreaterThan(MAX_PREDICATE_LENGTH);
    expect(failure(text)).toMatchObject({
      position: MAX_PREDICATE_LENGTH + 1,
      reason: `predicate is ${text.length} characters long; the limit is ${MAX_PREDICATE_LENGTH}`,
    });
  });

  test('long but flat inputs parse without recursion', () => {
    const text = Array.from({ length: 3000 }, (_, i) => `c${i} = ${i}`).join(' AND ');
    expect(text.length).toBeLessThan(MAX_PREDICATE_LENGTH);
    const e = parsePredicate(text);
    expect(e.kind === 'and' && e.args.length).toBe(3000);
  });

  test(`nesting up to ${MAX_NESTING_DEPTH} levels parses; one more is a clear error`, () => {
    const nest = (n: number) => `${'('.repeat(n)}a = 1${')'.repeat(n)}`;
    expect(parsePredicate(nest(MAX_NESTING_DEPTH))).toEqual({
      kind: 'cmp',
      op: '=',
      left: col('a'),
      right: int(1n),
    });
    expect(failure(nest(MAX_NESTING_DEPTH + 1))).toMatchObject({
      position: MAX_NESTING_DEPTH + 1,
      reason: `predicate nests too deeply: more than ${MAX_NESTING_DEPTH} levels of parentheses and NOT`,
    });
    expect(failure(`${'NOT '.repeat(MAX_NESTING_DEPTH + 1)}a`).reason).toMatch(/nests too deeply/);
    expect(failure(`${'(NOT '.repeat(MAX_NESTING_DEPTH)}a${')'.repeat(MAX_NESTING_DEPTH)}`).reason).toMatch(
      /nests too deeply/,
    );
  });

  test('hostile nesting far beyond the limit fails fast with BAD_INPUT, not a stack overflow', () => {
    const text = '('.repeat(60_000);
    expect(() => parsePredicate(text)).toThrow(/nests too deeply/);
  });

  test('a non-string input is an issue, not a crash', () => {
    expect(safeParsePredicate(42 as unknown as string)).toMatchObject({
      success: false,
      error: { reason: 'a predicate must be a string' },
    });
  });
});

describe('columnsOf', () => {
  test('lists each referenced path once, in order of appearance', () => {
    const e = parsePredicate(
      "a.b = 1 AND (c IN (d, 1) OR NOT a.b > e) AND f LIKE 'x' AND g BETWEEN h AND 1 AND c IS NULL AND flag",
    );
    expect(columnsOf(e)).toEqual([['a', 'b'], ['c'], ['d'], ['e'], ['f'], ['g'], ['h'], ['flag']]);
  });

  test('keeps quoted segments apart from nested paths', () => {
    expect(columnsOf(parsePredicate('`a.b` = 1 AND a.b = 2'))).toEqual([['a.b'], ['a', 'b']]);
  });

  test('literal-only predicates reference nothing', () => {
    expect(columnsOf(parsePredicate('TRUE AND 1 = 1'))).toEqual([]);
  });
});
