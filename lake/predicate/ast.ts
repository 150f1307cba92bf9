import { TributaryError } from '../errors';

/**
 * The predicate AST. Every consumer (SQL rendering, row evaluation, file skipping) works from
 * these values only; the original predicate text is never kept.
 */

/** Comparison operators; the parser normalises `!=` to `<>`. */
export type CmpOp = '=' | '<>' | '<' | '<=' | '>' | '>=';

export const CMP_OPS: readonly CmpOp[] = ['=', '<>', '<', '<=', '>', '>='];

/** A column reference; `path` has one entry per segment of `a.b.c` (nested struct fields). */
export interface ColumnExpr {
  kind: 'column';
  path: string[];
}

export type LiteralType = LiteralExpr['type'];

/**
 * Literal values, each in the representation that keeps it exact:
 * - `int`: any size, as bigint (`-12`, `9007199254740993`).
 * - `decimal`: written with a decimal point and no exponent (`1.50`); `value` is the canonical text
 *   `-?digits.digits` (leading zeros dropped, scale kept), so nothing is rounded.
 * - `float`: written with an exponent (`1.5e3`), as a finite double.
 * - `date`: canonical `YYYY-MM-DD`; `timestamp`: canonical `YYYY-MM-DD HH:MM:SS[.ffffff]`
 *   (timestamp without time zone, microsecond precision).
 */
export type LiteralExpr =
  | { kind: 'literal'; type: 'int'; value: bigint }
  | { kind: 'literal'; type: 'decimal'; value: string }
  | { kind: 'literal'; type: 'float'; value: number }
  | { kind: 'literal'; type: 'string'; value: string }
  | { kind: 'literal'; type: 'bool'; value: boolean }
  | { kind: 'literal'; type: 'null'; value: null }
  | { kind: 'literal'; type: 'date'; value: string }
  | { kind: 'literal'; type: 'timestamp'; value: string };

/** What may stand on either side of a comparison, in an IN list or as a BETWEEN bound. */
export type Operand = ColumnExpr | LiteralExpr;

export interface CmpExpr {
  kind: 'cmp';
  op: CmpOp;
  left: Operand;
  right: Operand;
}
export interface AndExpr {
  kind: 'and';
  args: Expr[];
}
export interface OrExpr {
  kind: 'or';
  args: Expr[];
}
export interface NotExpr {
  kind: 'not';
  arg: Expr;
}
/** `arg [NOT] IN (list...)`; the list is never empty when parsed. */
export interface InExpr {
  kind: 'in';
  negated: boolean;
  arg: Operand;
  list: Operand[];
}
export interface IsNullExpr {
  kind: 'isNull';
  negated: boolean;
  arg: Operand;
}
/**
 * `arg [NOT] LIKE 'pattern'`: `%` matches any run of characters, `_` exactly one, and `\` makes
 * the next `%`, `_` or `\` literal (rendered to DuckDB with `ESCAPE '\'`). Case-sensitive.
 */
export interface LikeExpr {
  kind: 'like';
  negated: boolean;
  arg: Operand;
  pattern: string;
}
/** `arg [NOT] BETWEEN low AND high`, i.e. `arg >= low AND arg <= high`. */
export interface BetweenExpr {
  kind: 'between';
  negated: boolean;
  arg: Operand;
  low: Operand;
  high: Operand;
}

/**
 * A predicate. A bare column is a condition on a boolean column (`WHERE is_error`); a bare
 * literal is only ever TRUE, FALSE or NULL when parsed.
 */
export type Expr =
  | ColumnExpr
  | LiteralExpr
  | CmpExpr
  | AndExpr
  | OrExpr
  | NotExpr
  | InExpr
  | IsNullExpr
  | LikeExpr
  | BetweenExpr;

/** Longest predicate text accepted, in UTF-16 code units. */
export const MAX_PREDICATE_LENGTH = 64 * 1024;
/** Deepest nesting of parentheses and NOT accepted by the parser. */
export const MAX_NESTING_DEPTH = 256;
/**
 * Deepest AST the renderers and evaluators walk. Parsed ASTs stay far below it (each nesting
 * level adds at most two nodes); it only stops hand-built hostile trees from exhausting the stack.
 */
export const MAX_AST_DEPTH = 4 * MAX_NESTING_DEPTH;

/** The operands an expression reads, in order (used by every walker below). */
export function operandsOf(expr: Expr): Operand[] {
  switch (expr.kind) {
    case 'column':
    case 'literal':
      return [expr];
    case 'cmp':
      return [expr.left, expr.right];
    case 'in':
      return [expr.arg, ...expr.list];
    case 'isNull':
    case 'like':
      return [expr.arg];
    case 'between':
      return [expr.arg, expr.low, expr.high];
    case 'and':
    case 'or':
    case 'not':
      return [];
  }
}

/** Column paths referenced by `expr`, each once, in order of first appearance. */
export function columnsOf(expr: Expr): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  const visit = (e: Expr, depth: number): void => {
    if (depth > MAX_AST_DEPTH) throw tooDeep();
    if (e.kind === 'and' || e.kind === 'or') for (const a of e.args) visit(a, depth + 1);
    else if (e.kind === 'not') visit(e.arg, depth + 1);
    else
      for (const o of operandsOf(e)) {
        if (o.kind !== 'column') continue;
        const key = JSON.stringify(o.path);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push([...o.path]);
      }
  };
  visit(expr, 0);
  return out;
}

export const tooDeep = () =>
  new TributaryError('BAD_INPUT', `predicate AST is nested more than ${MAX_AST_DEPTH} levels deep`);
