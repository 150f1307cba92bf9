/**
 * Generators for the egress filter property test: typed rows with NULLs (and NaN, ±Infinity, 2^53±k,
 * non-ASCII text, dates, sub-second timestamps, a struct) and well-typed predicates over them, in the
 * shapes of lake/predicate/duckdb.test.ts (where evaluate() is checked against DuckDB on the same kinds
 * of values), plus operands naming columns the table does not have.
 */
import fc from 'fast-check';
import type { CmpOp, Expr, LiteralExpr, Operand } from '../../lake/predicate';

export interface Cells {
  i: bigint | null;
  f: number | null;
  s: string | null;
  b: boolean | null;
  d: Date | null;
  ts: Date | null;
  /** The struct n: null, or { x } with x possibly null. */
  n: { x: bigint | null } | null;
  /** A top-level x and a struct q with a field x: `q.x` must mean the field, whatever SQL aliases egress uses. */
  x: bigint | null;
  q: { x: bigint | null } | null;
}

const pad = (n: number) => String(n).padStart(2, '0');
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n));
const orNull = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 5 });

export const cellsArb: fc.Arbitrary<Cells> = fc.record({
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
  n: fc.option(fc.record({ x: orNull(fc.bigInt({ min: -2n, max: 2n })) }), { nil: null, freq: 8 }),
  x: orNull(fc.bigInt({ min: -2n, max: 2n })),
  q: fc.option(fc.record({ x: orNull(fc.bigInt({ min: -2n, max: 2n })) }), { nil: null, freq: 8 }),
});

/** The row as evaluate() reads it. */
export const jsRow = (c: Cells): Record<string, unknown> => ({ ...c });

const dateText = (d: Date) => d.toISOString().slice(0, 10);
const tsText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** One row as a DuckDB SELECT list with the table's column types; `id` identifies the row. */
export function rowSql(id: number, c: Cells): string {
  const num = (v: bigint | null) => (v === null ? 'NULL::BIGINT' : `${v}::BIGINT`);
  const dbl = (v: number | null) => (v === null ? 'NULL::DOUBLE' : `${sqlText(String(v))}::DOUBLE`);
  return [
    `${id}::BIGINT AS id`,
    `${num(c.i)} AS i`,
    `${dbl(c.f)} AS f`,
    `${c.s === null ? 'NULL::VARCHAR' : sqlText(c.s)} AS s`,
    `${c.b === null ? 'NULL::BOOLEAN' : String(c.b)} AS b`,
    `${c.d === null ? 'NULL::DATE' : `DATE '${dateText(c.d)}'`} AS d`,
    `${c.ts === null ? 'NULL::TIMESTAMP' : `TIMESTAMP '${tsText(c.ts)}'`} AS ts`,
    `${c.n === null ? 'NULL::STRUCT(x BIGINT)' : `{'x': ${num(c.n.x)}}::STRUCT(x BIGINT)`} AS n`,
    `${num(c.x)} AS x`,
    `${c.q === null ? 'NULL::STRUCT(x BIGINT)' : `{'x': ${num(c.q.x)}}::STRUCT(x BIGINT)`} AS q`,
  ].join(', ');
}

// ---- well-typed predicates -----------------------------------------------------------------------

type ColType = 'int' | 'double' | 'str' | 'bool' | 'date' | 'ts';
const COLS: [string[], ColType][] = [
  [['i'], 'int'],
  [['f'], 'double'],
  [['s'], 'str'],
  [['b'], 'bool'],
  [['d'], 'date'],
  [['ts'], 'ts'],
  [['n', 'x'], 'int'],
  [['x'], 'int'],
  [['q', 'x'], 'int'],
];
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

const column = (path: string[]): Operand => ({ kind: 'column', path });
const orNullLit = (arb: fc.Arbitrary<LiteralExpr>) =>
  fc.oneof({ weight: 6, arbitrary: arb }, { weight: 1, arbitrary: fc.constant(NULL_LIT) });
const group = (type: ColType) => fc.constantFrom(...GROUPS[type]);
const peerColumn = (type: ColType) =>
  fc.constantFrom(...COLS.filter(([, t]) => COMPATIBLE[type].includes(t)).map(([p]) => column(p)));

function leafOf(col: Operand, type: ColType): fc.Arbitrary<Expr> {
  const value = fc.oneof(
    { weight: 4, arbitrary: orNullLit(fc.oneof(...GROUPS[type])) },
    { weight: 1, arbitrary: peerColumn(type) },
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

const knownLeaf: fc.Arbitrary<Expr> = fc
  .constantFrom(...COLS)
  .chain(([path, type]) => leafOf(column(path), type));

/**
 * Leaves over columns the source does not have (a top-level column, a struct field): every row reads them
 * as NULL, as evaluate() does, so e.g. `gone IS NULL` holds for every row.
 */
const missingLeaf: fc.Arbitrary<Expr> = fc
  .tuple(fc.constantFrom<string[]>(['gone'], ['n', 'gone']), fc.constantFrom<ColType>('int', 'str', 'bool'))
  .chain(([path, type]) => leafOf(column(path), type));

export const predicateArb = (opts: { missingColumns: boolean }): fc.Arbitrary<Expr> => {
  const leaf = opts.missingColumns
    ? fc.oneof({ weight: 5, arbitrary: knownLeaf }, { weight: 1, arbitrary: missingLeaf })
    : knownLeaf;
  return fc.letrec<{ e: Expr }>((tie) => ({
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
};
