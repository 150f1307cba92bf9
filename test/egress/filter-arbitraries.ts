/**
 * Generators for the egress filter property test: typed rows with NULLs (and NaN, ±Infinity, 2^53±k,
 * non-ASCII text, dates, sub-second timestamps, a struct) and well-typed predicates over them, in the
 * shapes of lake/predicate/duckdb.test.ts (where evaluate() is checked against DuckDB on the same kinds
 * of values), plus operands naming columns the table does not have.
 */
import fc from 'fast-check';
import type { Expr } from '../../lake/predicate';
import {
  PRIMITIVE_CELLS,
  orNull,
  type ColType,
  type Columns,
  column,
  leafOf,
  leafOver,
  treeOf,
} from '../../lake/predicate/testing/arbitraries';

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

export const cellsArb: fc.Arbitrary<Cells> = fc.record({
  ...PRIMITIVE_CELLS,
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

const COLS: Columns = [
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

const knownLeaf = leafOver(COLS);

/**
 * Leaves over columns the source does not have (a top-level column, a struct field): every row reads them
 * as NULL, as evaluate() does, so e.g. `gone IS NULL` holds for every row.
 */
const missingLeaf: fc.Arbitrary<Expr> = fc
  .tuple(fc.constantFrom<string[]>(['gone'], ['n', 'gone']), fc.constantFrom<ColType>('int', 'str', 'bool'))
  .chain(([path, type]) => leafOf(column(path), type, COLS));

export const predicateArb = (opts: { missingColumns: boolean }): fc.Arbitrary<Expr> => {
  const leaf = opts.missingColumns
    ? fc.oneof({ weight: 5, arbitrary: knownLeaf }, { weight: 1, arbitrary: missingLeaf })
    : knownLeaf;
  return treeOf(leaf);
};
