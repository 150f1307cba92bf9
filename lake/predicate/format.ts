import { TributaryError } from '../errors';
import { MAX_AST_DEPTH, tooDeep } from './ast';
import type { Expr, LiteralExpr, Operand } from './ast';
import { isReservedWord } from './parser';

const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const name = (s: string) => (BARE_NAME.test(s) && !isReservedWord(s) ? s : `\`${s.replace(/`/g, '``')}\``);
const str = (s: string) => `'${s.replace(/'/g, "''")}'`;

function literal(l: LiteralExpr): string {
  switch (l.type) {
    case 'null':
      return 'NULL';
    case 'bool':
      return l.value ? 'TRUE' : 'FALSE';
    case 'int':
    case 'decimal':
      return String(l.value);
    case 'float':
      if (!Number.isFinite(l.value)) throw new TributaryError('BAD_INPUT', 'a float literal must be finite');
      return Object.is(l.value, -0) ? '-0e+0' : l.value.toExponential();
    case 'string':
      return str(l.value);
    case 'date':
      return `DATE ${str(l.value)}`;
    case 'timestamp':
      return `TIMESTAMP ${str(l.value)}`;
  }
}

const operand = (o: Operand) => (o.kind === 'literal' ? literal(o) : o.path.map(name).join('.'));

/**
 * Writes a predicate back in the predicate language (for logs and messages); parsing the result
 * gives the same AST. Compound operands of AND/OR/NOT are parenthesised.
 */
export function formatPredicate(expr: Expr): string {
  const nested = (e: Expr, depth: number) =>
    e.kind === 'column' || e.kind === 'literal' ? fmt(e, depth) : `(${fmt(e, depth)})`;
  const fmt = (e: Expr, depth: number): string => {
    if (depth > MAX_AST_DEPTH) throw tooDeep();
    const not = (neg: boolean) => (neg ? 'NOT ' : '');
    switch (e.kind) {
      case 'column':
      case 'literal':
        return operand(e);
      case 'cmp':
        return `${operand(e.left)} ${e.op} ${operand(e.right)}`;
      case 'and':
      case 'or':
        if (e.args.length === 0) return e.kind === 'and' ? 'TRUE' : 'FALSE';
        return e.args.map((a) => nested(a, depth + 1)).join(e.kind === 'and' ? ' AND ' : ' OR ');
      case 'not':
        return `NOT ${nested(e.arg, depth + 1)}`;
      case 'in':
        return `${operand(e.arg)} ${not(e.negated)}IN (${e.list.map(operand).join(', ')})`;
      case 'isNull':
        return `${operand(e.arg)} IS ${not(e.negated)}NULL`;
      case 'like':
        return `${operand(e.arg)} ${not(e.negated)}LIKE ${str(e.pattern)}`;
      case 'between':
        return `${operand(e.arg)} ${not(e.negated)}BETWEEN ${operand(e.low)} AND ${operand(e.high)}`;
    }
  };
  return fmt(expr, 0);
}
