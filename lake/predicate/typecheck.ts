/**
 * Type-checking a predicate against a table schema before it runs: every column must exist (or, for the
 * egress filter, reads as NULL), and every comparison must be one DuckDB can evaluate without a cast error,
 * with the same meaning evaluate() gives it (see compareVals in values.ts). A problem is a BAD_INPUT error
 * with a caret under the operand (or operator) at fault, as for syntax errors.
 *
 *   numbers      compare with numbers, booleans (as 0/1) and strings that are numbers ('3', '2.5')
 *   booleans     compare with booleans, numbers and strings 'true'/'f'/'yes'/'0'…
 *   strings      compare with strings only (`s = 1` would cast every value of s to a number)
 *   dates, timestamps  compare with each other, DATE/TIMESTAMP literals and ISO-8601 strings
 *   binary       compares with binary and string literals
 *   structs, arrays, maps  only IS [NOT] NULL (compare a field instead: `s.f = 1`)
 *
 * LIKE needs a string; a bare column used as a condition must be a boolean; NULL goes with anything.
 */
import type { DataType, StructType } from '../delta/schema';
import { decimalOf, isArray, isMap, isStruct, typeToString } from '../delta/schema';
import { MAX_AST_DEPTH, tooDeep } from './ast';
import type { ColumnExpr, Expr, LiteralExpr, Operand } from './ast';
import { parseIsoMicros } from './datetime';
import { parsePredicateWithPositions, predicateError } from './parser';
import { parseBoolText, parseNumericText } from './values';

export interface TypeCheckOptions {
  /**
   * A column the schema does not have: 'error' (table read/delete: the predicate names a column that is
   * not there) or 'null' (egress: it reads as NULL, as in data files written before it was added).
   */
  unknownColumns: 'error' | 'null';
}

type Family = 'num' | 'bool' | 'str' | 'time' | 'binary' | 'nested' | 'null' | 'other';

const INTEGER_RANGE: Record<string, [bigint, bigint]> = {
  byte: [-(2n ** 7n), 2n ** 7n - 1n],
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  integer: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

function familyOfType(t: DataType): Family {
  if (isStruct(t) || isArray(t) || isMap(t)) return 'nested';
  if (t in INTEGER_RANGE || t === 'float' || t === 'double' || decimalOf(t)) return 'num';
  if (t === 'boolean') return 'bool';
  if (t === 'string') return 'str';
  if (t === 'date' || t === 'timestamp' || t === 'timestamp_ntz') return 'time';
  if (t === 'binary') return 'binary';
  return 'other';
}

function familyOfLiteral(l: LiteralExpr): Family {
  switch (l.type) {
    case 'int':
    case 'decimal':
    case 'float':
      return 'num';
    case 'bool':
      return 'bool';
    case 'string':
      return 'str';
    case 'date':
    case 'timestamp':
      return 'time';
    case 'null':
      return 'null';
  }
}

const FAMILY_WORD: Record<Family, string> = {
  num: 'a number',
  bool: 'a boolean',
  str: 'a string',
  time: 'a date or timestamp',
  binary: 'binary',
  nested: 'a nested value',
  null: 'NULL',
  other: 'a value',
};

/** A typed operand: a column (with its Delta type) or a literal. */
type Typed =
  | { kind: 'column'; path: string[]; type: DataType; family: Family; node: Operand }
  | { kind: 'literal'; lit: LiteralExpr; family: Family; node: Operand };

const short = (s: string) => (s.length > 40 ? `${s.slice(0, 40)}…` : s);
const show = (o: Typed): string =>
  o.kind === 'column'
    ? `column ${o.path.join('.')} (${short(typeToString(o.type))})`
    : o.lit.type === 'string'
      ? `'${short(o.lit.value)}'`
      : o.lit.type === 'date' || o.lit.type === 'timestamp'
        ? `${o.lit.type.toUpperCase()} '${o.lit.value}'`
        : `${FAMILY_WORD[o.family]} ${o.lit.type === 'null' ? '' : String(o.lit.value)}`.trim();

/** Whether a string literal casts to the column's type (DuckDB raises a conversion error otherwise). */
function stringCastsTo(text: string, t: DataType, family: Family): boolean {
  switch (family) {
    case 'num': {
      const n = parseNumericText(text);
      if (n === undefined) return false;
      const v = typeof n === 'bigint' ? Number(n) : typeof n === 'number' ? n : n.f;
      if (!Number.isFinite(v)) return false;
      const range = typeof t === 'string' ? INTEGER_RANGE[t] : undefined;
      if (range) return v >= Number(range[0]) && v <= Number(range[1]);
      const dec = decimalOf(t);
      // DuckDB rounds to the scale; the digits left of the point must fit (a conversion error otherwise).
      if (dec) return Math.abs(Number(v.toFixed(dec.scale))) < 10 ** (dec.precision - dec.scale);
      return true;
    }
    case 'bool':
      return parseBoolText(text) !== undefined;
    case 'time':
      return parseIsoMicros(text) !== undefined;
    case 'str':
    case 'binary':
      return true;
    default:
      return false;
  }
}

/** Why `a` and `b` cannot be compared, or undefined when they can. */
function mismatch(a: Typed, b: Typed): { at: Typed; reason: string } | undefined {
  if (a.family === 'null' || b.family === 'null') return undefined;
  for (const x of [a, b])
    if (x.family === 'nested' && x.kind === 'column')
      return {
        at: x,
        reason: `${show(x)} holds nested values and can only be tested with IS NULL / IS NOT NULL; compare one of its fields instead`,
      };
  if (a.family === b.family) return undefined;
  if (a.kind === 'literal' && b.kind === 'literal')
    return { at: b, reason: `${show(a)} cannot be compared with ${show(b)}: two values of different kinds` };
  const ok = (f: Family, g: Family) =>
    (a.family === f && b.family === g) || (a.family === g && b.family === f);
  if (ok('num', 'bool')) {
    // DuckDB casts a boolean to an integer side, not to DECIMAL or DOUBLE.
    const num = a.family === 'num' ? a : b;
    const integral =
      num.kind === 'literal'
        ? num.lit.type === 'int'
        : typeof num.type === 'string' && num.type in INTEGER_RANGE;
    if (integral) return undefined;
  }
  // A string literal is cast to the other side's type: fine when it is of that type.
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.kind !== 'literal' || x.lit.type !== 'string') continue;
    const t: DataType = y.kind === 'column' ? y.type : y.family === 'num' ? 'double' : 'string';
    if (y.family !== 'str' && stringCastsTo(x.lit.value, t, y.family)) return undefined;
    return {
      at: x,
      reason: `${show(y)} cannot be compared with ${show(x)}: it is not ${FAMILY_WORD[y.family]}`,
    };
  }
  const at = b.kind === 'literal' || a.kind === 'column' ? b : a;
  const other = at === a ? b : a;
  return {
    at,
    reason: `${show(other)} cannot be compared with ${show(at)}: ${FAMILY_WORD[other.family]} compares with ${compatibleWith(other.family)}`,
  };
}

function compatibleWith(f: Family): string {
  switch (f) {
    case 'num':
      return 'numbers, booleans and numeric strings';
    case 'bool':
      return "booleans, numbers and strings such as 'true'";
    case 'str':
      return "strings only (quote the value: '…')";
    case 'time':
      return "dates, timestamps and ISO-8601 strings (DATE 'YYYY-MM-DD', TIMESTAMP 'YYYY-MM-DD HH:MM:SS')";
    case 'binary':
      return 'binary values and string literals';
    default:
      return 'NULL only';
  }
}

/**
 * Parses `text` and checks it against `schema`; returns the predicate (with unknown columns replaced by
 * NULL when `unknownColumns` is 'null'). Throws BAD_INPUT pointing at the problem.
 */
export function parseTypedPredicate(text: string, schema: StructType, opts: TypeCheckOptions): Expr {
  const { expr, offsetOf } = parsePredicateWithPositions(text);
  const fail = (node: object, reason: string): never => {
    throw predicateError(text, offsetOf(node) ?? 0, reason);
  };
  const NULL: LiteralExpr = { kind: 'literal', type: 'null', value: null };

  /** The column's type, or undefined when it is not in the schema. */
  const resolve = (c: ColumnExpr): DataType | undefined => {
    let t: DataType = schema;
    for (const [i, seg] of c.path.entries()) {
      if (!isStruct(t)) {
        if (i > 0 && opts.unknownColumns === 'error')
          fail(
            c,
            `column ${c.path.slice(0, i).join('.')} is ${typeToString(t)}, not a struct: it has no field ${seg}`,
          );
        return undefined;
      }
      const f: { type: DataType } | undefined = t.fields.find((x) => x.name === seg);
      if (!f) {
        if (opts.unknownColumns === 'null') return undefined;
        fail(
          c,
          i === 0
            ? `predicate refers to unknown column ${c.path.join('.')} (table columns: ${schema.fields.map((x) => x.name).join(', ')})`
            : `predicate refers to unknown field ${c.path.join('.')} (fields of ${c.path.slice(0, i).join('.')}: ${t.fields.map((x) => x.name).join(', ')})`,
        );
      }
      t = f!.type;
    }
    return t;
  };

  const typed = (o: Operand): Typed => {
    if (o.kind === 'literal') return { kind: 'literal', lit: o, family: familyOfLiteral(o), node: o };
    const t = resolve(o);
    if (t === undefined) return { kind: 'literal', lit: NULL, family: 'null', node: o };
    return { kind: 'column', path: o.path, type: t, family: familyOfType(t), node: o };
  };
  const bound = (o: Operand): Operand => (o.kind === 'column' && typed(o).kind === 'literal' ? NULL : o);
  const pair = (a: Operand, b: Operand) => {
    const m = mismatch(typed(a), typed(b));
    if (m) fail(m.at.node, m.reason);
  };
  /** IN and BETWEEN: DuckDB casts all operands to one type, so every two of them must compare. */
  const all = (ops: Operand[], what: string) => {
    ops.forEach((a, i) => ops.slice(i + 1).forEach((b) => pair(a, b)));
    // Casts between kinds (a string as a number) only when a column is tested against values.
    const [arg, ...rest] = ops.map(typed);
    const fam = (t: Typed) => (t.family === 'null' ? arg!.family : t.family);
    const odd = rest.find((t) => fam(t) !== arg!.family);
    if (odd && arg!.family !== 'null' && (arg!.kind !== 'column' || rest.some((t) => t.kind === 'column')))
      fail(
        odd.node,
        `${what}: ${show(odd)} is not of the same kind as ${show(arg!)}; write values of one kind`,
      );
  };

  const visit = (e: Expr, depth: number): Expr => {
    if (depth > MAX_AST_DEPTH) throw tooDeep();
    switch (e.kind) {
      case 'and':
      case 'or':
        return { ...e, args: e.args.map((a) => visit(a, depth + 1)) };
      case 'not':
        return { ...e, arg: visit(e.arg, depth + 1) };
      case 'literal':
        return e;
      case 'column': {
        const t = typed(e);
        if (t.family !== 'bool' && t.family !== 'null')
          fail(
            e,
            `${show(t)} is not a boolean, so it is not a condition on its own; compare it, e.g. ${e.path.join('.')} = …`,
          );
        return bound(e);
      }
      case 'cmp':
        pair(e.left, e.right);
        return { ...e, left: bound(e.left), right: bound(e.right) };
      case 'in':
        all([e.arg, ...e.list], 'IN');
        return { ...e, arg: bound(e.arg), list: e.list.map(bound) };
      case 'between':
        all([e.arg, e.low, e.high], 'BETWEEN');
        return { ...e, arg: bound(e.arg), low: bound(e.low), high: bound(e.high) };
      case 'isNull':
        typed(e.arg);
        return { ...e, arg: bound(e.arg) };
      case 'like': {
        const t = typed(e.arg);
        if (t.family !== 'str' && t.family !== 'null')
          fail(e.arg, `LIKE matches strings, but ${show(t)} is not a string`);
        return { ...e, arg: bound(e.arg) };
      }
    }
  };
  return visit(expr, 0);
}
