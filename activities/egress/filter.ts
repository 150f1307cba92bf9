/**
 * The egress filter bound to the source schema of a batch. A column the source does not have (a top-level
 * column or a struct field) reads as NULL, as in evaluate() and as older files read a column added later,
 * so a row's verdict never depends on which batch carries it: `a = true OR gone = 1` still keeps the rows
 * where a is true, and `gone IS NULL` keeps every row.
 */
import type { DataType, StructType } from '../../lake/delta/schema';
import { isStruct } from '../../lake/delta/schema';
import { type Expr, type Operand, parseTypedPredicate, toDuckDbSqlOver } from '../../lake/predicate';

const NULL: Operand = { kind: 'literal', type: 'null', value: null };

function resolves(schema: StructType, path: readonly string[]): boolean {
  let t: DataType = schema;
  for (const seg of path) {
    if (!isStruct(t)) return false;
    const f: { type: DataType } | undefined = t.fields.find((x) => x.name === seg);
    if (!f) return false;
    t = f.type;
  }
  return true;
}

/** The predicate with every column the schema lacks replaced by a NULL literal. */
export function bindFilter(e: Expr, schema: StructType): Expr {
  const op = (o: Operand): Operand => (o.kind === 'column' && !resolves(schema, o.path) ? NULL : o);
  switch (e.kind) {
    case 'column':
    case 'literal':
      return op(e);
    case 'cmp':
      return { ...e, left: op(e.left), right: op(e.right) };
    case 'in':
      return { ...e, arg: op(e.arg), list: e.list.map(op) };
    case 'isNull':
    case 'like':
      return { ...e, arg: op(e.arg) };
    case 'between':
      return { ...e, arg: op(e.arg), low: op(e.low), high: op(e.high) };
    case 'not':
      return { ...e, arg: bindFilter(e.arg, schema) };
    case 'and':
    case 'or':
      return { ...e, args: e.args.map((a) => bindFilter(a, schema)) };
  }
}

/**
 * The filter parsed and type-checked against the source schema (a comparison DuckDB cannot evaluate, such
 * as a string column with a number, is a BAD_INPUT error pointing at it), columns the schema lacks as NULL.
 */
export const parseFilter = (text: string, schema: StructType): Expr =>
  parseTypedPredicate(text, schema, { unknownColumns: 'null' });

/**
 * The filter as DuckDB SQL over a relation aliased `alias`. Columns are qualified with the alias: bare
 * `"q"."x"` would name column x of relation q when the relation has a column x, not field x of struct q.
 */
export const filterSql = (text: string, schema: StructType, alias: string): string =>
  toDuckDbSqlOver(parseFilter(text, schema), alias);
