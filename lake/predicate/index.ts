/**
 * Tributary's predicate language: a small, safe subset of SQL boolean expressions.
 *
 * parse (text → AST) · toDuckDbSql (AST → SQL, never echoing user text) · evaluate (row → 3VL)
 * · mightMatch (file statistics → can this file hold a match?).
 */
export type {
  AndExpr,
  BetweenExpr,
  CmpExpr,
  CmpOp,
  ColumnExpr,
  Expr,
  InExpr,
  IsNullExpr,
  LikeExpr,
  LiteralExpr,
  LiteralType,
  NotExpr,
  Operand,
  OrExpr,
} from './ast';
export { MAX_NESTING_DEPTH, MAX_PREDICATE_LENGTH, columnsOf } from './ast';
export { parsePredicate, parsePredicateWithPositions, predicateError, safeParsePredicate } from './parser';
export type { PositionedPredicate, PredicateIssue, SafeParseResult } from './parser';
export { parseTypedPredicate } from './typecheck';
export type { TypeCheckOptions } from './typecheck';
export { formatPredicate } from './format';
export { quoteIdentifier, quoteString, toDuckDbSql, toDuckDbSqlOver } from './sql';
export type { SqlOptions } from './sql';
export { evaluate } from './evaluate';
export { mightMatch } from './skipping';
export type { FileStats } from './skipping';
