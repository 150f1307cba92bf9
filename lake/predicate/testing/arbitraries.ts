/**
 * fast-check generators of well-typed predicates (test-only; not part of the build): literal kinds per column
 * type chosen so DuckDB raises no type or conversion error, shared by the predicate tests (evaluate() against
 * DuckDB) and the egress filter property test. Columns are the caller's: `[path, type]` pairs.
 */
import fc from 'fast-check';
import type { CmpOp, Expr, LiteralExpr, Operand } from '..';

const pad = (n: number) => String(n).padStart(2, '0');
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n));
export const orNull = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 5 });

/**
 * Row values for typed columns i BIGINT, f DOUBLE, s VARCHAR, b BOOLEAN, d DATE, ts TIMESTAMP, with NULLs
 * and the edges that matter (2^53±k, NaN, ±Infinity, non-ASCII and LIKE metacharacters, sub-second times).
 */
export const PRIMITIVE_CELLS = {
  i: orNull(
    fc.oneof(fc.bigInt({ min: -4n, max: 4n }), fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n })),
  ),
  f: orNull(
    fc.constantFrom(
      -1.5,
      -0.5,
      0,
      0.1,
      0.30000000000000004,
      1,
      2.5,
      3,
      1e300,
      NaN,
      Infinity,
      -Infinity,
      9007199254740992,
    ),
  ),
  s: orNull(fc.constantFrom('', 'a', 'ab', 'abc', 'b', 'a%', 'a_c', 'A', 'é', '😀', '\uffff', "it's", '5')),
  b: orNull(fc.boolean()),
  d: orNull(fc.integer({ min: 0, max: 4 }).map(day)),
  ts: orNull(
    fc
      .record({
        n: fc.integer({ min: 0, max: 3 }),
        h: fc.constantFrom(0, 12),
        ms: fc.constantFrom(0, 1, 999),
      })
      .map(({ n, h, ms }) => new Date(Date.UTC(2024, 0, 1 + n, h, 0, 0, ms))),
  ),
};

export type ColType = 'int' | 'double' | 'str' | 'bool' | 'date' | 'ts';
const lit =
  <T extends LiteralExpr['type']>(type: T) =>
  (value: Extract<LiteralExpr, { type: T }>['value']) =>
    ({ kind: 'literal', type, value }) as LiteralExpr;

const numberGroups = [
  fc.bigInt({ min: -5n, max: 5n }).map(lit('int')),
  fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n }).map(lit('int')),
  fc.constantFrom('0.1', '2.5', '-1.0', '0.30000000000000004', '9007199254740993.0').map(lit('decimal')),
  fc.constantFrom(2.5, 0.1, -0.5, 1e300, 9007199254740992).map(lit('float')),
];
const dateGroups = (strings: string[]) => [
  fc.integer({ min: 0, max: 4 }).map((n) => lit('date')(`2024-01-${pad(1 + n)}`)),
  fc
    .constantFrom('2024-01-02 12:00:00', '2024-01-01 00:00:00.001', '2024-01-03 00:00:00.000001')
    .map(lit('timestamp')),
  fc.constantFrom(...strings).map(lit('string')),
];
/** Literal kinds per column type; IN lists and BETWEEN bounds are drawn from one group (DuckDB unifies them). */
const GROUPS: Record<ColType, fc.Arbitrary<LiteralExpr>[]> = {
  int: [...numberGroups, fc.constantFrom('3', '-1', '9007199254740993').map(lit('string'))],
  double: [...numberGroups, fc.constantFrom('0.1', '2.5', '-1e3', '3').map(lit('string'))],
  str: [fc.constantFrom('', 'a', 'ab', 'b', 'A', 'é', '😀', '\uffff', "it's", '5').map(lit('string'))],
  bool: [
    fc.boolean().map(lit('bool')),
    fc.constantFrom('true', 'f').map(lit('string')),
    fc.bigInt({ min: 0n, max: 2n }).map(lit('int')),
  ],
  date: dateGroups(['2024-01-02']),
  ts: dateGroups(['2024-01-02', '2024-01-02 12:00:00']),
};
const NULL_LIT: LiteralExpr = { kind: 'literal', type: 'null', value: null };
const COMPATIBLE: Record<ColType, ColType[]> = {
  int: ['int', 'double'],
  double: ['int', 'double'],
  str: ['str'],
  bool: ['bool'],
  date: ['date', 'ts'],
  ts: ['date', 'ts'],
};

export const column = (path: string[]): Operand => ({ kind: 'column', path });
const orNullLit = (arb: fc.Arbitrary<LiteralExpr>) =>
  fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(NULL_LIT) });
const group = (type: ColType) => fc.constantFrom(...GROUPS[type]);
const peerColumn = (type: ColType, cols: Columns) =>
  fc.constantFrom(...cols.filter(([, t]) => COMPATIBLE[type].includes(t)).map(([p]) => column(p)));

/** Well-typed leaves over one column: comparisons (with literals or compatible columns), IN, BETWEEN, IS NULL, LIKE. */
export function leafOf(col: Operand, type: ColType, cols: Columns): fc.Arbitrary<Expr> {
  const value = fc.oneof(
    { weight: 4, arbitrary: orNullLit(fc.oneof(...GROUPS[type])) },
    { weight: 1, arbitrary: peerColumn(type, cols) },
  );
  const op = fc.constantFrom<CmpOp>('=', '<>', '<', '<=', '>', '>=');
  const leaves: fc.Arbitrary<Expr>[] = [
    fc
      .tuple(op, value, fc.boolean())
      .map(([o, v, flip]) => ({ kind: 'cmp', op: o, left: flip ? v : col, right: flip ? col : v })),
    fc
      .tuple(
        fc.boolean(),
        group(type).chain((g) => fc.array(orNullLit(g), { minLength: 1, maxLength: 3 })),
      )
      .map(([negated, list]) => ({ kind: 'in', negated, arg: col, list })),
    fc
      .tuple(
        fc.boolean(),
        group(type).chain((g) => fc.tuple(orNullLit(g), orNullLit(g))),
      )
      .map(([negated, [low, high]]) => ({ kind: 'between', negated, arg: col, low, high })),
    fc.boolean().map((negated) => ({ kind: 'isNull', negated, arg: col })),
  ];
  if (type === 'bool') leaves.push(fc.constant(col));
  if (type === 'str')
    leaves.push(
      fc
        .tuple(
          fc.boolean(),
          fc.array(fc.constantFrom('a', 'b', '%', '_', '\\%', '\\_', 'é', '😀', "'"), { maxLength: 4 }),
        )
        .map(([negated, parts]) => ({ kind: 'like', negated, arg: col, pattern: parts.join('') })),
    );
  return fc.oneof(...leaves);
}

export type Columns = readonly (readonly [string[], ColType])[];

/** A leaf over any of the columns. */
export const leafOver = (cols: Columns): fc.Arbitrary<Expr> =>
  fc.constantFrom(...cols).chain(([path, type]) => leafOf(column(path), type, cols));

/** NOT / AND / OR trees over the given leaves. */
export const treeOf = (leaf: fc.Arbitrary<Expr>): fc.Arbitrary<Expr> =>
  fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ kind: fc.constant('not' as const), arg: tie('e') }),
      fc.record({
        kind: fc.constantFrom('and' as const, 'or' as const),
        args: fc.array(tie('e'), { minLength: 2, maxLength: 3 }),
      }),
    ),
  })).e;

export const opArb = fc.constantFrom<CmpOp>('=', '<>', '<', '<=', '>', '>=');

/**
 * Any-shaped ASTs over the given operands (types not checked), shaped as the parser produces them (and/or
 * with ≥ 2 args unless `minLogicalArgs` says otherwise, for renderers that must cope with hand-built ASTs).
 */
export function exprArb(
  operand: fc.Arbitrary<Operand>,
  likePattern: fc.Arbitrary<string>,
  leafExtra: fc.Arbitrary<Expr>[] = [],
  opts: { minLogicalArgs?: number } = {},
) {
  return fc.letrec<{ expr: Expr }>((tie) => ({
    expr: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('cmp' as const), op: opArb, left: operand, right: operand }),
      fc.record({
        kind: fc.constant('in' as const),
        negated: fc.boolean(),
        arg: operand,
        list: fc.array(operand, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({ kind: fc.constant('isNull' as const), negated: fc.boolean(), arg: operand }),
      fc.record({
        kind: fc.constant('like' as const),
        negated: fc.boolean(),
        arg: operand,
        pattern: likePattern,
      }),
      fc.record({
        kind: fc.constant('between' as const),
        negated: fc.boolean(),
        arg: operand,
        low: operand,
        high: operand,
      }),
      ...leafExtra,
      fc.record({ kind: fc.constant('not' as const), arg: tie('expr') }),
      fc.record({
        kind: fc.constantFrom('and' as const, 'or' as const),
        args: fc.array(tie('expr'), { minLength: opts.minLogicalArgs ?? 2, maxLength: 3 }),
      }),
    ),
  })).expr;
}
