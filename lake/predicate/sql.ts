import { TributaryError } from '../errors';
import { CMP_OPS, MAX_AST_DEPTH, tooDeep } from './ast';
import type { Expr, LiteralExpr, Operand } from './ast';
import { checkDate, checkTimestamp } from './datetime';
import { likePatternError } from './like';

export interface SqlOptions {
  /**
   * Renders a column reference. The default quotes each segment: `"a"."b"`. Note DuckDB resolves
   * `"a"."b"` as column b of table a before struct field b of column a; pass e.g.
   * `(p) => ['"t"', ...p.map(quoteIdentifier)].join('.')` to qualify columns with a table alias.
   * Whatever this returns is trusted and spliced as is.
   */
  columnSql?: (path: string[]) => string;
}

const bad = (what: string) => new TributaryError('BAD_INPUT', `cannot render predicate as SQL: ${what}`);

/** `"name"` with `"` doubled; refuses the empty name and NUL, which DuckDB cannot represent. */
export function quoteIdentifier(name: string): string {
  if (typeof name !== 'string' || name === '') throw bad('a column name must be a non-empty string');
  if (name.includes('\0')) throw bad('a column name contains NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** `'text'` with `'` doubled (DuckDB strings have no other escape); refuses NUL. */
export function quoteString(value: string): string {
  if (typeof value !== 'string') throw bad('a string literal is not a string');
  if (value.includes('\0')) throw bad('a string literal contains NUL');
  return `'${value.replace(/'/g, "''")}'`;
}

const DECIMAL_RE = /^-?\d+\.\d+$/;

/** Literals are rebuilt from their typed value; a value that does not match its type is refused. */
function literalSql(lit: LiteralExpr): string {
  switch (lit.type) {
    case 'null':
      return 'NULL';
    case 'bool':
      if (typeof lit.value !== 'boolean') throw bad('a bool literal is not a boolean');
      return lit.value ? 'TRUE' : 'FALSE';
    case 'int':
      if (typeof lit.value !== 'bigint') throw bad('an int literal is not a bigint');
      return lit.value.toString();
    case 'decimal':
      if (typeof lit.value !== 'string' || !DECIMAL_RE.test(lit.value))
        throw bad('a decimal literal is not -digits.digits');
      return lit.value;
    case 'float':
      if (typeof lit.value !== 'number' || !Number.isFinite(lit.value))
        throw bad('a float literal is not a finite number');
      // Always with an exponent, so DuckDB reads a DOUBLE (1.5 alone would be DECIMAL(2,1)).
      return lit.value.toExponential();
    case 'string':
      return quoteString(lit.value);
    case 'date': {
      const c = typeof lit.value === 'string' ? checkDate(lit.value) : undefined;
      if (!c?.ok) throw bad('invalid date literal');
      return `DATE '${c.canonical}'`;
    }
    case 'timestamp': {
      const c = typeof lit.value === 'string' ? checkTimestamp(lit.value) : undefined;
      if (!c?.ok) throw bad('invalid timestamp literal');
      return `TIMESTAMP '${c.canonical}'`;
    }
    default:
      throw bad(`unknown literal type ${JSON.stringify((lit as { type: unknown }).type)}`);
  }
}

/**
 * Renders a predicate as one self-contained DuckDB boolean expression, from the AST alone.
 * Every compound node is parenthesised, so the result can be spliced next to other conditions.
 * The SQL has the same three-valued semantics as the AST: NULL where the predicate is unknown.
 */
export function toDuckDbSql(expr: Expr, opts: SqlOptions = {}): string {
  const column = opts.columnSql ?? ((path: string[]) => path.map(quoteIdentifier).join('.'));
  const operand = (o: Operand): string => {
    if (o.kind === 'literal') return literalSql(o);
    if (o.kind !== 'column')
      throw bad(`expected a column or literal, found ${JSON.stringify((o as { kind: unknown }).kind)}`);
    if (!Array.isArray(o.path) || o.path.length === 0)
      throw bad('a column path must have at least one segment');
    return column([...o.path]);
  };
  const render = (e: Expr, depth: number): string => {
    if (depth > MAX_AST_DEPTH) throw tooDeep();
    switch (e.kind) {
      case 'column':
      case 'literal':
        return operand(e);
      case 'cmp':
        if (!CMP_OPS.includes(e.op)) throw bad(`unknown comparison operator ${JSON.stringify(e.op)}`);
        return `(${operand(e.left)} ${e.op} ${operand(e.right)})`;
      case 'and':
      case 'or':
        if (e.args.length === 0) return e.kind === 'and' ? 'TRUE' : 'FALSE';
        return `(${e.args.map((a) => render(a, depth + 1)).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${render(e.arg, depth + 1)})`;
      case 'in':
        if (e.list.length === 0) throw bad('an IN list must not be empty');
        return `(${operand(e.arg)} ${e.negated ? 'NOT IN' : 'IN'} (${e.list.map(operand).join(', ')}))`;
      case 'isNull':
        return `(${operand(e.arg)} ${e.negated ? 'IS NOT NULL' : 'IS NULL'})`;
      case 'like': {
        const why =
          typeof e.pattern === 'string' ? likePatternError(e.pattern) : 'the pattern is not a string';
        if (why) throw bad(why);
        return `(${operand(e.arg)} ${e.negated ? 'NOT LIKE' : 'LIKE'} ${quoteString(e.pattern)} ESCAPE '\\')`;
      }
      case 'between':
        return `(${operand(e.arg)} ${e.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${operand(e.low)} AND ${operand(e.high)})`;
      default:
        throw bad(`unknown node kind ${JSON.stringify((e as { kind: unknown }).kind)}`);
    }
  };
  return render(expr, 0);
}

/**
 * The predicate as SQL over a relation aliased `alias`, every column qualified with it: a bare `"q"."x"`
 * would name column x of relation q when the relation has a column x, not field x of a struct column q.
 */
export function toDuckDbSqlOver(expr: Expr, alias: string): string {
  return toDuckDbSql(expr, { columnSql: (path) => [alias, ...path].map(quoteIdentifier).join('.') });
}
