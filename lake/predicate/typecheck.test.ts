/**
 * parseTypedPredicate: a predicate it accepts runs in DuckDB without a type or conversion error (checked
 * on random any-typed predicates against a table holding awkward values), every well-typed predicate of the
 * shared generators is accepted unchanged, and refusals point at the operand at fault.
 */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import type { StructType } from '../delta/schema';
import { isTributaryError } from '../errors';
import {
  type Expr,
  type LiteralExpr,
  type Operand,
  formatPredicate,
  parsePredicate,
  toDuckDbSqlOver,
} from '.';
import { parseTypedPredicate } from './typecheck';
import { type Columns, exprArb, leafOver, treeOf } from './testing/arbitraries';

const field = (name: string, type: StructType['fields'][number]['type']) => ({
  name,
  type,
  nullable: true,
  metadata: {},
});
const SCHEMA: StructType = {
  type: 'struct',
  fields: [
    field('i', 'long'),
    field('i32', 'integer'),
    field('f', 'double'),
    field('dc', 'decimal(5,2)'),
    field('s', 'string'),
    field('b', 'boolean'),
    field('d', 'date'),
    field('ts', 'timestamp'),
    field('bl', 'binary'),
    field('n', { type: 'struct', fields: [field('x', 'long')] }),
    field('arr', { type: 'array', elementType: 'long', containsNull: true }),
  ],
};

let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);
  await conn.run(
    `CREATE TABLE t (i BIGINT, i32 INTEGER, f DOUBLE, dc DECIMAL(5,2), s VARCHAR, b BOOLEAN, d DATE, ts TIMESTAMP, bl BLOB, n STRUCT(x BIGINT), arr BIGINT[])`,
  );
  await conn.run(
    `INSERT INTO t VALUES (3, 5, 2.5, 1.50, 'x', true, DATE '2024-01-02', TIMESTAMP '2024-01-02 10:00:00', 'abc'::BLOB, {'x': 1}, [1, 2]),
     (-1, -7, -0.5, 999.99, '5', false, DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00', ''::BLOB, {'x': NULL}, []),
     (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  );
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

const lit = (type: LiteralExpr['type'], value: unknown) => ({ kind: 'literal', type, value }) as LiteralExpr;
const operandArb: fc.Arbitrary<Operand> = fc.oneof(
  fc.constantFrom(...SCHEMA.fields.map((f) => ({ kind: 'column', path: [f.name] }) as Operand)),
  fc.constant({ kind: 'column', path: ['n', 'x'] } as Operand),
  fc.constantFrom(
    lit('int', 1n),
    lit('int', 99_999_999_999n),
    lit('decimal', '2.5'),
    lit('float', 1e300),
    lit('bool', true),
    lit('null', null),
    lit('date', '2024-01-02'),
    lit('timestamp', '2024-01-02 10:00:00'),
    ...[
      'x',
      '5',
      '2.5',
      '-1e3',
      'true',
      'f',
      'maybe',
      '2024-01-02',
      '2024-01-02T10:00:00Z',
      '99999999999',
      'inf',
    ].map((s) => lit('string', s)),
  ),
);
const likeArb = fc.constantFrom('x%', '_', '5');

async function runs(e: Expr): Promise<string | undefined> {
  try {
    await conn.runAndReadAll(`SELECT count(*) FROM t WHERE (${toDuckDbSqlOver(e, 't')}) IS TRUE`);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

test('whatever the check accepts, DuckDB evaluates without a type or conversion error', async () => {
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(exprArb(operandArb, likeArb), async (e) => {
      const text = formatPredicate(e);
      let checked: Expr;
      try {
        checked = parseTypedPredicate(text, SCHEMA, { unknownColumns: 'error' });
      } catch (err) {
        if (!isTributaryError(err, 'BAD_INPUT')) throw err;
        expect(err.message).toMatch(/^predicate error at position \d+: .*\n {2}.*\n {2} *\^$/);
        refused++;
        return;
      }
      accepted++;
      expect(checked).toEqual(parsePredicate(text));
      expect(await runs(checked)).toBeUndefined();
    }),
    { numRuns: 1000, seed: 13 },
  );
  expect(accepted).toBeGreaterThan(20);
  expect(refused).toBeGreaterThan(20);
});

test('every well-typed predicate of the shared generators is accepted as it is', () => {
  const cols: Columns = [
    [['i'], 'int'],
    [['f'], 'double'],
    [['s'], 'str'],
    [['b'], 'bool'],
    [['d'], 'date'],
    [['ts'], 'ts'],
    [['n', 'x'], 'int'],
  ];
  fc.assert(
    fc.property(treeOf(leafOver(cols)), (e) => {
      const text = formatPredicate(e);
      expect(parseTypedPredicate(text, SCHEMA, { unknownColumns: 'error' })).toEqual(parsePredicate(text));
    }),
    { numRuns: 1000, seed: 13 },
  );
});

const refusal = (text: string, opts: { unknownColumns: 'error' | 'null' } = { unknownColumns: 'error' }) => {
  try {
    parseTypedPredicate(text, SCHEMA, opts);
  } catch (e) {
    expect(isTributaryError(e, 'BAD_INPUT')).toBe(true);
    return (e as Error).message;
  }
  throw new Error(`expected ${text} to be refused`);
};

test('refusals name the problem and put a caret under the operand at fault', () => {
  expect(refusal("s = 'a' AND s = 1")).toBe(
    [
      "predicate error at position 17: column s (string) cannot be compared with a number 1: a string compares with strings only (quote the value: '…')",
      "  s = 'a' AND s = 1",
      '                  ^',
    ].join('\n'),
  );
  expect(refusal("i = 'abc'")).toMatch(
    /position 5: column i \(long\) cannot be compared with 'abc': it is not a number/,
  );
  expect(refusal("i32 = '99999999999'")).toMatch(/position 7: .*it is not a number/);
  expect(refusal("b = 'maybe'")).toMatch(/position 5: .*it is not a boolean/);
  expect(refusal("d < 'soon'")).toMatch(/position 5: .*it is not a date or timestamp/);
  expect(refusal("i = DATE '2024-01-01'")).toMatch(
    /position 5: column i \(long\) cannot be compared with DATE/,
  );
  expect(refusal('s = i')).toMatch(
    /position 1: column i \(long\) cannot be compared with column s \(string\)|position 5/,
  );
  expect(refusal("i IN (1, 2, 'z')")).toMatch(/position 13: .*'z'/);
  expect(refusal("i BETWEEN 1 AND 'q'")).toMatch(/position 17: .*'q'/);
  expect(refusal("i LIKE '1%'")).toMatch(
    /position 1: LIKE matches strings, but column i \(long\) is not a string/,
  );
  expect(refusal('n = 1')).toMatch(/position 1: column n \(struct<x:long>\) holds nested values .*IS NULL/);
  expect(refusal('arr = NULL OR arr > 1')).toMatch(/position 15: column arr/);
  expect(refusal('s')).toMatch(/position 1: column s \(string\) is not a boolean, so it is not a condition/);
  expect(refusal('gone = 1')).toMatch(
    /position 1: predicate refers to unknown column gone \(table columns: i, i32/,
  );
  expect(refusal('n.gone = 1')).toMatch(
    /position 1: predicate refers to unknown field n.gone \(fields of n: x\)/,
  );
  expect(refusal('s.x = 1')).toMatch(/position 1: column s is string, not a struct/);
  // accepted: casts DuckDB makes without error, and NULL with anything
  for (const ok of [
    "i = '3'",
    "f >= '-1e3'",
    "b = 'yes'",
    'b = 1',
    "d >= '2024-01-01'",
    "ts < '2024-01-02T10:00:00Z'",
    "bl = 'abc'",
    'n IS NULL',
    'n = NULL',
    'n.x = 1',
    'd < ts',
    'b',
  ])
    expect(() => parseTypedPredicate(ok, SCHEMA, { unknownColumns: 'error' })).not.toThrow();
});

test("unknownColumns 'null': columns the schema lacks become NULL (the egress filter), others are checked", () => {
  const opts = { unknownColumns: 'null' as const };
  expect(parseTypedPredicate('gone = 1 OR n.gone IS NULL OR s.x = 1', SCHEMA, opts)).toEqual({
    kind: 'or',
    args: [
      { kind: 'cmp', op: '=', left: lit('null', null), right: lit('int', 1n) },
      { kind: 'isNull', negated: false, arg: lit('null', null) },
      { kind: 'cmp', op: '=', left: lit('null', null), right: lit('int', 1n) },
    ],
  });
  expect(refusal('gone = 1 OR s = 1', opts)).toMatch(/position 17: column s \(string\)/);
});
