import { MAX_AST_DEPTH, tooDeep } from './ast';
import type { CmpOp, Expr, LikeExpr, Operand } from './ast';
import { compileLike, likeMatch } from './like';
import type { LikeToken } from './like';
import { compareVals, fromLiteral, fromRow } from './values';
import type { CompareMode, Val } from './values';

/** SQL three-valued truth: null is UNKNOWN. */
export type Truth = boolean | null;

/**
 * A column path read from a plain row: each segment is an own property of a plain object (or a
 * key of a Map); anything missing on the way is NULL. Inherited properties (`constructor`,
 * `__proto__`) are never read. Dotted keys of a flat row are reached with a quoted segment
 * (`` `a.b` ``), not with `a.b`.
 */
export function readPath(row: unknown, path: readonly string[]): unknown {
  let cur: unknown = row;
  for (const seg of path) {
    if (cur instanceof Map) cur = cur.get(seg);
    else if (typeof cur === 'object' && cur !== null && !(cur instanceof Date) && !Array.isArray(cur))
      cur = Object.prototype.hasOwnProperty.call(cur, seg)
        ? (cur as Record<string, unknown>)[seg]
        : undefined;
    else return undefined;
  }
  return cur;
}

export const operandValue = (o: Operand, row: unknown): Val | null =>
  o.kind === 'literal' ? fromLiteral(o) : fromRow(readPath(row, o.path));

export function applyCmp(op: CmpOp, a: Val | null, b: Val | null, mode: CompareMode = 'eval'): Truth {
  if (a === null || b === null) return null;
  const c = compareVals(a, b, mode);
  if (c === null) return null;
  switch (op) {
    case '=':
      return c === 0;
    case '<>':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

export const not3 = (t: Truth): Truth => (t === null ? null : !t);

/** AND over truths: any FALSE wins, else any UNKNOWN, else TRUE. */
export function and3(ts: Iterable<Truth>): Truth {
  let unknown = false;
  for (const t of ts) {
    if (t === false) return false;
    if (t === null) unknown = true;
  }
  return unknown ? null : true;
}

/** OR over truths: any TRUE wins, else any UNKNOWN, else FALSE. */
export function or3(ts: Iterable<Truth>): Truth {
  let unknown = false;
  for (const t of ts) {
    if (t === true) return true;
    if (t === null) unknown = true;
  }
  return unknown ? null : false;
}

const likeCache = new WeakMap<LikeExpr, LikeToken[]>();
export function likeTokens(e: LikeExpr): LikeToken[] {
  let tokens = likeCache.get(e);
  if (!tokens) likeCache.set(e, (tokens = compileLike(e.pattern)));
  return tokens;
}

/** LIKE applies to strings only; any other value gives UNKNOWN (DuckDB refuses to bind it). */
export const likeTruth = (e: LikeExpr, v: Val | null): Truth =>
  v === null || v.k !== 'str' ? null : likeMatch(likeTokens(e), v.v) !== e.negated;

/** A boolean used as a condition; a non-boolean value is UNKNOWN. */
export const asCondition = (v: Val | null): Truth => (v !== null && v.k === 'bool' ? v.v : null);

/**
 * Evaluates a predicate against one row with SQL three-valued logic. A row passes a filter only
 * when the result is `true`.
 *
 * Rows hold number, bigint, string, boolean, Date, null/undefined, and nested plain objects for
 * dotted paths. Comparison rules (see compareVals): ints (bigint) and decimals compare exactly,
 * and as doubles when either side is a JS number (NaN equals NaN and sorts above +Infinity, as
 * in DuckDB); strings by code point;
 * a date/timestamp meets a Date or an ISO-8601 string as an instant; a string literal is cast to
 * the other side's type; a boolean meets a number as 0/1. Where DuckDB would raise a type or
 * conversion error (`'abc' < 5`, a non-date string vs a DATE), the result is NULL instead.
 */
export function evaluate(expr: Expr, row: Record<string, unknown>): boolean | null {
  return evalExpr(expr, row, 0);
}

function evalExpr(e: Expr, row: unknown, depth: number): Truth {
  if (depth > MAX_AST_DEPTH) throw tooDeep();
  switch (e.kind) {
    case 'column':
    case 'literal':
      return asCondition(operandValue(e, row));
    case 'cmp':
      return applyCmp(e.op, operandValue(e.left, row), operandValue(e.right, row));
    case 'and':
      return and3(e.args.map((a) => evalExpr(a, row, depth + 1)));
    case 'or':
      return or3(e.args.map((a) => evalExpr(a, row, depth + 1)));
    case 'not':
      return not3(evalExpr(e.arg, row, depth + 1));
    case 'in': {
      const v = operandValue(e.arg, row);
      const t = or3(e.list.map((item) => applyCmp('=', v, operandValue(item, row))));
      return e.negated ? not3(t) : t;
    }
    case 'isNull':
      return (operandValue(e.arg, row) === null) !== e.negated;
    case 'like':
      return likeTruth(e, operandValue(e.arg, row));
    case 'between': {
      const v = operandValue(e.arg, row);
      const t = and3([
        applyCmp('>=', v, operandValue(e.low, row)),
        applyCmp('<=', v, operandValue(e.high, row)),
      ]);
      return e.negated ? not3(t) : t;
    }
  }
}
