import { TributaryError } from '../errors';
import { parsePredicate, quoteIdentifier, quoteString, toDuckDbSql } from '.';
import type { Expr } from '.';

const sql = (text: string) => toDuckDbSql(parsePredicate(text));

describe('toDuckDbSql', () => {
  test.each([
    ['a = 1', '("a" = 1)'],
    ['a != 1', '("a" <> 1)'],
    ['a.b.c >= -5', '("a"."b"."c" >= -5)'],
    ['`we"ird`.`x``y` < 2', '("we""ird"."x`y" < 2)'],
    ['a = 123456789012345678901234567890', '("a" = 123456789012345678901234567890)'],
    ['a = 1.50', '("a" = 1.50)'],
    ['a = -0.25e1', '("a" = -2.5e+0)'],
    ['a = 1e-7', '("a" = 1e-7)'],
    ["a = 'it''s'", `("a" = 'it''s')`],
    ["a = 'back\\slash'", `("a" = 'back\\slash')`],
    ['a = TRUE OR a IS NULL', '(("a" = TRUE) OR ("a" IS NULL))'],
    ['a IS NOT NULL', '("a" IS NOT NULL)'],
    ["d = DATE '2024-02-29'", `("d" = DATE '2024-02-29')`],
    ["t < TIMESTAMP '2024-01-02T03:04:05.5'", `("t" < TIMESTAMP '2024-01-02 03:04:05.500000')`],
    ['a IN (1, NULL, b)', '("a" IN (1, NULL, "b"))'],
    ["a NOT IN ('x')", `("a" NOT IN ('x'))`],
    ["a LIKE 'x\\_%'", `("a" LIKE 'x\\_%' ESCAPE '\\')`],
    ["a NOT LIKE '%'", `("a" NOT LIKE '%' ESCAPE '\\')`],
    ['a BETWEEN 1 AND 2', '("a" BETWEEN 1 AND 2)'],
    ['a NOT BETWEEN -2 AND -1', '("a" NOT BETWEEN -2 AND -1)'],
    ['NOT (a = 1 OR b = 2) AND c', '((NOT (("a" = 1) OR ("b" = 2))) AND "c")'],
    ['flag', '"flag"'],
    ['NULL', 'NULL'],
  ])('%s → %s', (text, expected) => expect(sql(text)).toBe(expected));

  test('columnSql decides how paths are referenced', () => {
    const out = toDuckDbSql(parsePredicate('a.b = 1 AND c IS NULL'), {
      columnSql: (p) => ['"t"', ...p.map(quoteIdentifier)].join('.'),
    });
    expect(out).toBe('(("t"."a"."b" = 1) AND ("t"."c" IS NULL))');
  });

  test('columnSql gets a copy of the path', () => {
    const e = parsePredicate('a.b = 1');
    toDuckDbSql(e, { columnSql: (p) => (p.push('mutated'), '"x"') });
    expect(e).toEqual(parsePredicate('a.b = 1'));
  });

  test('compound results are parenthesised, so splicing next to other conditions keeps the meaning', () => {
    expect(sql('a = 1 OR b = 2')).toBe('(("a" = 1) OR ("b" = 2))');
  });
});

describe('toDuckDbSql: hand-built ASTs are validated, never trusted', () => {
  const cmp = (right: unknown): Expr =>
    ({ kind: 'cmp', op: '=', left: { kind: 'column', path: ['a'] }, right }) as Expr;
  test.each<[string, Expr]>([
    ['int that is not a bigint', cmp({ kind: 'literal', type: 'int', value: '1; DROP TABLE t' })],
    ['decimal with junk', cmp({ kind: 'literal', type: 'decimal', value: '1.0); DROP TABLE t; --' })],
    ['float that is not finite', cmp({ kind: 'literal', type: 'float', value: Infinity })],
    ['float that is a string', cmp({ kind: 'literal', type: 'float', value: '1e3' })],
    ['date with junk', cmp({ kind: 'literal', type: 'date', value: "2024-01-01'; DROP TABLE t; --" })],
    ['timestamp with junk', cmp({ kind: 'literal', type: 'timestamp', value: "2024-01-01 00:00:00' OR '1" })],
    ['bool that is a string', cmp({ kind: 'literal', type: 'bool', value: 'TRUE OR 1=1' })],
    ['unknown literal type', cmp({ kind: 'literal', type: 'raw', value: '1' })],
    ['string with NUL', cmp({ kind: 'literal', type: 'string', value: 'a\0b' })],
    ['identifier with NUL', { kind: 'isNull', negated: false, arg: { kind: 'column', path: ['a\0'] } }],
    ['empty identifier', { kind: 'isNull', negated: false, arg: { kind: 'column', path: [''] } }],
    ['empty path', { kind: 'isNull', negated: false, arg: { kind: 'column', path: [] } }],
    [
      'unknown operator',
      {
        kind: 'cmp',
        op: '= 1 OR 1 =',
        left: { kind: 'column', path: ['a'] },
        right: { kind: 'column', path: ['b'] },
      } as unknown as Expr,
    ],
    ['unknown node kind', { kind: 'raw', sql: '1=1' } as unknown as Expr],
    [
      'invalid LIKE pattern',
      { kind: 'like', negated: false, arg: { kind: 'column', path: ['a'] }, pattern: 'x\\' },
    ],
    ['empty IN list', { kind: 'in', negated: false, arg: { kind: 'column', path: ['a'] }, list: [] }],
  ])('%s', (_name, e) => {
    expect(() => toDuckDbSql(e)).toThrow(TributaryError);
    expect(() => toDuckDbSql(e)).toThrow(/cannot render predicate as SQL/);
  });

  test('an AST nested deeper than any parse result is refused instead of overflowing the stack', () => {
    let e: Expr = { kind: 'column', path: ['a'] };
    for (let i = 0; i < 100_000; i++) e = { kind: 'not', arg: e };
    expect(() => toDuckDbSql(e)).toThrow(/nested more than/);
  });

  test('empty AND / OR render as their identities', () => {
    expect(toDuckDbSql({ kind: 'and', args: [] })).toBe('TRUE');
    expect(toDuckDbSql({ kind: 'or', args: [] })).toBe('FALSE');
  });
});

describe('quoting helpers', () => {
  test('quoteIdentifier doubles double quotes', () => expect(quoteIdentifier('a"b')).toBe('"a""b"'));
  test('quoteString doubles single quotes only', () => expect(quoteString('a\'b\\c"')).toBe(`'a''b\\c"'`));
});
