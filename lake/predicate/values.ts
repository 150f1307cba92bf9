import type { LiteralExpr } from './ast';
import { checkDate, checkTimestamp, dateMicros, parseIsoMicros } from './datetime';
import { compareCodePoints } from '../strings';

export { compareCodePoints };

/**
 * Runtime values as the evaluator and file skipping see them. Exact numbers are bigint or
 * `Rational` (decimals); a JS number is a DOUBLE. Times are microseconds. A string remembers
 * whether it was written as a literal: only literals are cast to the other side's type (as in
 * DuckDB, where a string literal adapts to the column it is compared with).
 */
export interface Rational {
  n: bigint;
  d: bigint; // > 0
  /** The nearest double, used when the other side is a double. */
  f: number;
}
export type Num = number | bigint | Rational;
export type Val =
  | { k: 'num'; v: Num }
  | { k: 'str'; v: string; lit: boolean }
  | { k: 'bool'; v: boolean }
  | { k: 'time'; v: bigint }
  | { k: 'opaque' };

/** A row (or statistics) value; null and undefined are SQL NULL. */
export function fromRow(x: unknown): Val | null {
  switch (typeof x) {
    case 'undefined':
      return null;
    case 'number':
    case 'bigint':
      return { k: 'num', v: x };
    case 'string':
      return { k: 'str', v: x, lit: false };
    case 'boolean':
      return { k: 'bool', v: x };
    default:
      if (x === null) return null;
      if (x instanceof Date) {
        const micros = dateMicros(x);
        return micros === undefined ? { k: 'opaque' } : { k: 'time', v: micros };
      }
      return { k: 'opaque' };
  }
}

const DECIMAL_RE = /^(-?)(\d+)\.(\d+)$/;

export function decimalToRational(text: string): Rational | undefined {
  const m = DECIMAL_RE.exec(text);
  if (!m) return undefined;
  const n = BigInt(m[2]! + m[3]!);
  return { n: m[1] ? -n : n, d: 10n ** BigInt(m[3]!.length), f: Number(text) };
}

const literalCache = new WeakMap<LiteralExpr, Val | null>();

export function fromLiteral(lit: LiteralExpr): Val | null {
  const hit = literalCache.get(lit);
  if (hit !== undefined) return hit;
  const val = literalVal(lit);
  literalCache.set(lit, val);
  return val;
}

function literalVal(lit: LiteralExpr): Val | null {
  switch (lit.type) {
    case 'null':
      return null;
    case 'int':
    case 'float':
      return { k: 'num', v: lit.value };
    case 'decimal': {
      const r = decimalToRational(lit.value);
      return r ? { k: 'num', v: r } : { k: 'opaque' };
    }
    case 'string':
      return { k: 'str', v: lit.value, lit: true };
    case 'bool':
      return { k: 'bool', v: lit.value };
    case 'date': {
      const c = checkDate(lit.value);
      return c.ok ? { k: 'time', v: c.micros } : { k: 'opaque' };
    }
    case 'timestamp': {
      const c = checkTimestamp(lit.value);
      return c.ok ? { k: 'time', v: c.micros } : { k: 'opaque' };
    }
  }
}

// ---- numbers ----------------------------------------------------------------------------------

const toDouble = (x: Num): number => (typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : x.f);

/** Doubles order as in DuckDB: -Infinity < finite < +Infinity < NaN, and NaN equals NaN. */
function compareDoubles(a: number, b: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return Number(an) - Number(bn);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * DuckDB's numeric comparison: if either side is a DOUBLE, both are compared as doubles (the
 * exact side rounded to nearest, as `0.1 = 0.1::DOUBLE` is true in DuckDB); otherwise ints and
 * decimals compare exactly. Rounding is monotone, so min/max bounds stay bounds.
 */
export function compareNum(a: Num, b: Num): number {
  if (typeof a === 'number' || typeof b === 'number') return compareDoubles(toDouble(a), toDouble(b));
  if (typeof a === 'bigint' && typeof b === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  const x = typeof a === 'bigint' ? { n: a, d: 1n } : a;
  const y = typeof b === 'bigint' ? { n: b, d: 1n } : b;
  const diff = x.n * y.d - y.n * x.d;
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

const NUMERIC_TEXT_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** A string literal cast to a number: plain decimal notation only, exactly. */
export function parseNumericText(text: string): Num | undefined {
  const m = NUMERIC_TEXT_RE.exec(text.trim());
  if (!m) return undefined;
  const [, sgn, whole = '', frac = '', exp] = m;
  if (whole === '' && frac === '') return undefined;
  const scale = frac.length - Number(exp ?? 0);
  // Far-out exponents are not worth exact bigint arithmetic: let the double saturate (0 or ±Inf).
  const f = Number(text.trim());
  if (Math.abs(scale) > 1000) return f;
  let n = BigInt((whole || '0') + frac);
  if (sgn === '-') n = -n;
  if (scale <= 0) return n * 10n ** BigInt(-scale);
  return { n, d: 10n ** BigInt(scale), f };
}

const TRUE_TEXT = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE_TEXT = new Set(['false', 'f', 'no', 'n', '0']);

export function parseBoolText(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  return TRUE_TEXT.has(t) ? true : FALSE_TEXT.has(t) ? false : undefined;
}

// ---- strings ----------------------------------------------------------------------------------

// ---- comparison -------------------------------------------------------------------------------

/**
 * `'eval'` compares row values; `'bounds'` compares statistics bounds, where a row-side string must
 * not be parsed as a timestamp (the lexical min/max of strings says nothing about their instants).
 */
export type CompareMode = 'eval' | 'bounds';

/**
 * Three-way comparison, or null when SQL would not compare the two (NULL result).
 *
 * Same kinds compare naturally. A string literal is cast to the other side's kind (number, boolean
 * or timestamp) and yields null when the cast fails (DuckDB raises a conversion error). A boolean
 * meets a number as 0/1 (DuckDB casts BOOLEAN to the integer side). In 'eval' mode an ISO string
 * value meets a date/timestamp as the instant it names. Everything else is null.
 */
export function compareVals(a: Val, b: Val, mode: CompareMode = 'eval'): number | null {
  if (a.k === 'opaque' || b.k === 'opaque') return null;
  if (a.k === 'num' && b.k === 'num') return compareNum(a.v, b.v);
  if (a.k === 'str' && b.k === 'str') return compareCodePoints(a.v, b.v);
  if (a.k === 'bool' && b.k === 'bool') return Number(a.v) - Number(b.v);
  if (a.k === 'time' && b.k === 'time') return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  if (b.k === 'str') {
    const r = compareVals(b, a, mode);
    return r === null ? null : -r;
  }
  if (a.k === 'str') {
    if (b.k === 'time') {
      if (!a.lit && mode === 'bounds') return null;
      const t = parseIsoMicros(a.v);
      return t === undefined ? null : compareVals({ k: 'time', v: t }, b, mode);
    }
    if (!a.lit) return null;
    if (b.k === 'num') {
      const n = parseNumericText(a.v);
      return n === undefined ? null : compareNum(n, b.v);
    }
    if (b.k === 'bool') {
      const v = parseBoolText(a.v);
      return v === undefined ? null : Number(v) - Number(b.v);
    }
    return null;
  }
  if (a.k === 'bool' && b.k === 'num') return compareNum(a.v ? 1n : 0n, b.v);
  if (a.k === 'num' && b.k === 'bool') return compareNum(a.v, b.v ? 1n : 0n);
  return null;
}
