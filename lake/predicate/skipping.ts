import { MAX_AST_DEPTH, tooDeep } from './ast';
import type { CmpOp, Expr, LikeExpr, Operand } from './ast';
import { applyCmp, asCondition, likeTokens, likeTruth } from './evaluate';
import { likePrefix } from './like';
import { compareCodePoints, fromLiteral, fromRow } from './values';
import type { Val } from './values';

/**
 * What is known about one data file. Every function answers for a column path and returns
 * undefined when it does not know.
 *
 * - `min`/`max`: bounds on the column's non-null values, in the order `evaluate` compares them
 *   (they need not be tight, so truncated string stats are fine as long as min ≤ every value ≤
 *   max). NaN sorts above +Infinity: a max that ignores NaNs is not a valid bound for a column
 *   holding NaN. Dates and timestamps must be given as `Date` (or bigint/number for numeric
 *   columns); a string bound is compared as a string, never parsed as a date, so ISO strings in
 *   stats only disable skipping for date predicates. Widen timestamp maxima truncated to
 *   milliseconds (Delta stats) by 1 ms.
 * - `nullCount` with `numRecords`: how many rows hold NULL.
 * - `partitionValue`: `present: true` when the column is a partition column, with the one value
 *   every row of the file has (null for a null partition), typed as rows would hold it.
 */
export interface FileStats {
  numRecords?: number;
  min: (path: string[]) => unknown | undefined;
  max: (path: string[]) => unknown | undefined;
  nullCount: (path: string[]) => number | undefined;
  partitionValue?: (path: string[]) => { present: boolean; value: unknown };
}

// Which truth values some row of the file might produce.
const T = 1;
const F = 2;
const N = 4;
const ALL = T | F | N;
type Outcomes = number;

/** What an operand can be over the file's rows. */
interface Range {
  /** Some row may have a non-null value, lying in [lo, hi] (undefined bound: unknown). */
  nonNull: boolean;
  /** Some row may be NULL. */
  nullable: boolean;
  lo?: Val;
  hi?: Val;
  /** Every row has exactly the value `lo` (=== hi), or NULL when !nonNull. */
  exact: boolean;
}

const point = (v: Val | null): Range =>
  v === null
    ? { nonNull: false, nullable: true, exact: true }
    : { nonNull: true, nullable: false, lo: v, hi: v, exact: true };

/**
 * A min (side -1) or max (side +1) statistic as a bound. A double at or beyond 2^53 may be a
 * 64-bit integer rounded by JSON.parse (Delta stats of a long column), so it is widened by at
 * least one ulp to stay a bound of the exact values.
 */
function statBound(x: unknown, side: -1 | 1): Val | undefined {
  if (typeof x === 'number' && Number.isFinite(x) && Math.abs(x) >= 2 ** 53)
    x = x + side * Math.abs(x) * 2 ** -52;
  const v = fromRow(x);
  return v === null || v.k === 'opaque' ? undefined : v;
}

function rangeOf(o: Operand, stats: FileStats): Range {
  if (o.kind === 'literal') return point(fromLiteral(o));
  const path = [...o.path];
  const part = stats.partitionValue?.([...path]);
  if (part?.present) {
    const v = part.value;
    // Possibly a rounded 64-bit integer (Number(partitionValue)): a tiny range, not a point.
    if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) >= 2 ** 53)
      return { nonNull: true, nullable: false, lo: statBound(v, -1), hi: statBound(v, 1), exact: false };
    return point(fromRow(v));
  }
  const nulls = stats.nullCount([...path]);
  const rows = stats.numRecords;
  const known = typeof nulls === 'number' && Number.isFinite(nulls);
  return {
    nullable: !known || nulls > 0,
    nonNull: !known || typeof rows !== 'number' || nulls < rows,
    lo: statBound(stats.min([...path]), -1),
    hi: statBound(stats.max([...path]), 1),
    exact: false,
  };
}

/** Truth of `cmp(x, y)`; undefined when a bound is missing or the two are not comparable. */
function holds(op: CmpOp, x: Val | undefined, y: Val | undefined): boolean | undefined {
  if (x === undefined || y === undefined) return undefined;
  return applyCmp(op, x, y, 'bounds') ?? undefined;
}

/** May `cond` hold for some pair of values from the two ranges? Unknown counts as possible. */
const may = (cond: boolean | undefined) => cond !== false;

function cmpOutcomes(op: CmpOp, l: Range, r: Range): Outcomes {
  let out = l.nullable || r.nullable ? N : 0;
  if (!(l.nonNull && r.nonNull)) return out;
  if (l.exact && r.exact) {
    // Both sides are single values: evaluate exactly. A type mismatch here most likely means the
    // stats source typed a partition value differently from the rows, so do not rely on it.
    const t = applyCmp(op, l.lo!, r.lo!);
    return t === null ? ALL : out | (t ? T : F);
  }
  let canTrue: boolean;
  let canFalse: boolean;
  switch (op) {
    case '<':
      [canTrue, canFalse] = [may(holds('<', l.lo, r.hi)), may(holds('>=', l.hi, r.lo))];
      break;
    case '<=':
      [canTrue, canFalse] = [may(holds('<=', l.lo, r.hi)), may(holds('>', l.hi, r.lo))];
      break;
    case '>':
      [canTrue, canFalse] = [may(holds('>', l.hi, r.lo)), may(holds('<=', l.lo, r.hi))];
      break;
    case '>=':
      [canTrue, canFalse] = [may(holds('>=', l.hi, r.lo)), may(holds('<', l.lo, r.hi))];
      break;
    case '=':
    case '<>': {
      const overlap = may(holds('<=', l.lo, r.hi)) && may(holds('<=', r.lo, l.hi));
      // Both ranges collapsed onto the same single value: every comparison is equal.
      const allEqual =
        holds('=', l.lo, l.hi) === true && holds('=', r.lo, r.hi) === true && holds('=', l.lo, r.lo) === true;
      [canTrue, canFalse] = op === '=' ? [overlap, !allEqual] : [!allEqual, overlap];
      break;
    }
  }
  // Row values may also be of a type the other side cannot be compared with (NULL). Only T and F
  // decide the answer, so N is kept as a safe over-approximation.
  out |= N;
  return out | (canTrue ? T : 0) | (canFalse ? F : 0);
}

const notOutcomes = (o: Outcomes): Outcomes => (o & N) | (o & T ? F : 0) | (o & F ? T : 0);

function andOutcomes(parts: Outcomes[]): Outcomes {
  let out = T;
  for (const p of parts) {
    if (!(p & T)) out &= ~T;
    out |= p & (F | N);
  }
  return out;
}

function orOutcomes(parts: Outcomes[]): Outcomes {
  let out = F;
  for (const p of parts) {
    if (!(p & F)) out &= ~F;
    out |= p & (T | N);
  }
  return out;
}

function exactOutcome(t: boolean | null): Outcomes {
  return t === null ? N : t ? T : F;
}

function likeOutcomes(e: LikeExpr, r: Range): Outcomes {
  const out = r.nullable ? N : 0;
  if (!r.nonNull) return out;
  if (r.exact) return r.lo!.k === 'str' ? out | exactOutcome(likeTruth(e, r.lo!)) : ALL;
  const { lo, hi } = r;
  if (lo?.k !== 'str' || hi?.k !== 'str') return ALL;
  // Every match starts with the pattern's literal prefix p, so it lies within the bounds only if
  // lo and hi, cut to p's length, enclose p (cutting preserves the order).
  const prefix = likePrefix(likeTokens(e));
  const cps = Array.from(prefix).length;
  const cut = (s: string) => Array.from(s).slice(0, cps).join('');
  const canMatch = compareCodePoints(cut(lo.v), prefix) <= 0 && compareCodePoints(cut(hi.v), prefix) >= 0;
  const matchOutcome = e.negated ? F : T;
  return out | (canMatch ? matchOutcome : 0) | (matchOutcome === T ? F : T);
}

function conditionOutcomes(r: Range): Outcomes {
  const out = r.nullable ? N : 0;
  if (!r.nonNull) return out;
  if (r.exact) {
    const t = asCondition(r.lo!);
    return t === null ? ALL : out | exactOutcome(t);
  }
  if (r.lo?.k !== 'bool' || r.hi?.k !== 'bool') return ALL;
  return out | (r.hi.v ? T : 0) | (r.lo.v ? 0 : F);
}

function outcomes(e: Expr, stats: FileStats, depth: number): Outcomes {
  if (depth > MAX_AST_DEPTH) throw tooDeep();
  const range = (o: Operand) => rangeOf(o, stats);
  switch (e.kind) {
    case 'column':
    case 'literal':
      return conditionOutcomes(range(e));
    case 'cmp':
      return cmpOutcomes(e.op, range(e.left), range(e.right));
    case 'and':
      return andOutcomes(e.args.map((a) => outcomes(a, stats, depth + 1)));
    case 'or':
      return orOutcomes(e.args.map((a) => outcomes(a, stats, depth + 1)));
    case 'not':
      return notOutcomes(outcomes(e.arg, stats, depth + 1));
    case 'in': {
      const v = range(e.arg);
      const o = orOutcomes(e.list.map((item) => cmpOutcomes('=', v, range(item))));
      return e.negated ? notOutcomes(o) : o;
    }
    case 'isNull': {
      const r = range(e.arg);
      const isNull = (r.nullable ? T : 0) | (r.nonNull ? F : 0);
      return e.negated ? notOutcomes(isNull) : isNull;
    }
    case 'like':
      return likeOutcomes(e, range(e.arg));
    case 'between': {
      const v = range(e.arg);
      const o = andOutcomes([cmpOutcomes('>=', v, range(e.low)), cmpOutcomes('<=', v, range(e.high))]);
      return e.negated ? notOutcomes(o) : o;
    }
  }
}

/**
 * Conservative file skipping: false only when no row of the file can make the predicate TRUE
 * (NULL does not match, as in a WHERE clause). Anything the stats do not settle counts as a
 * possible match.
 *
 * It tracks, bottom-up, which of TRUE/FALSE/NULL some row might produce, so NOT, NOT IN and
 * NOT BETWEEN are pruned as soundly as their positive forms.
 */
export function mightMatch(expr: Expr, stats: FileStats): boolean {
  if (stats.numRecords === 0) return false;
  return (outcomes(expr, stats, 0) & T) !== 0;
}
