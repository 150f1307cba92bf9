/**
 * Per-file statistics for add actions (PROTOCOL.md "Per-file Statistics"): numRecords and, for primitive
 * columns (nested struct leaves included), minValues / maxValues / nullCount. Strings are truncated to 32
 * characters as Spark does (max gets a tie-breaker so it stays an upper bound).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { type DataType, type StructType, decimalOf, isStruct } from '../delta/schema';
import { formatDays, formatMicros } from './canonical';
import { sqlIdent, sqlString } from './duckdb';

const STRING_PREFIX = 32;
const SKIP_MINMAX = new Set(['boolean', 'binary']);

interface Leaf {
  path: string[];
  type: DataType;
}

function leaves(s: StructType, prefix: string[] = []): Leaf[] {
  return s.fields.flatMap((f) => {
    const p = [...prefix, f.name];
    if (isStruct(f.type)) return leaves(f.type, p);
    return typeof f.type === 'string' ? [{ path: p, type: f.type }] : [];
  });
}

function statExpr(x: string, t: DataType): string {
  if (t === 'timestamp' || t === 'timestamp_ntz') return `CAST(epoch_us(${x}) AS VARCHAR)`;
  if (t === 'date') return `CAST(${x} - DATE '1970-01-01' AS INTEGER)`;
  if (t === 'long' || decimalOf(t)) return `CAST(${x} AS VARCHAR)`;
  return x;
}

function jsonStat(v: unknown, t: DataType, which: 'min' | 'max'): unknown {
  if (v === null || v === undefined) return undefined;
  if (t === 'timestamp' || t === 'timestamp_ntz') {
    // Spark writes millisecond precision; round the max up so it stays an upper bound.
    let us = BigInt(v as string);
    if (which === 'max' && us % 1000n !== 0n) us = us - (us % 1000n) + (us > 0n ? 1000n : 0n);
    const iso = formatMicros(us).slice(0, 23);
    return t === 'timestamp' ? `${iso}Z` : iso;
  }
  if (t === 'date') return formatDays(Number(v));
  if (t === 'long' || decimalOf(t)) {
    // A JSON number beyond 15 significant digits could be rounded by readers: leave that bound out.
    const digits = String(v).replace(/[-.]/g, '').replace(/^0+/, '');
    return digits.length <= 15 ? Number(v) : undefined;
  }
  if (t === 'string') {
    const s = v as string;
    const chars = [...s];
    if (chars.length <= STRING_PREFIX) return s;
    const prefix = chars.slice(0, STRING_PREFIX).join('');
    return which === 'min' ? prefix : `${prefix}\u{10FFFF}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return undefined;
  return v;
}

function setPath(o: Record<string, unknown>, path: string[], v: unknown): void {
  let cur = o;
  for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>;
  cur[path[path.length - 1]!] = v;
}

/** Computes the stats JSON of a Parquet file we just wrote (columns in logical schema order). */
export async function fileStats(
  c: DuckDBConnection,
  parquetPath: string,
  schema: StructType,
): Promise<{ numRecords: number; json: string }> {
  const ls = leaves(schema);
  const exprs = ['count(*) AS n'];
  ls.forEach((l, i) => {
    const col = l.path.map(sqlIdent).join('.');
    exprs.push(`count(*) - count(${col}) AS nc${i}`);
    if (!SKIP_MINMAX.has(l.type as string))
      exprs.push(
        `${statExpr(`min(${col})`, l.type)} AS mn${i}`,
        `${statExpr(`max(${col})`, l.type)} AS mx${i}`,
      );
  });
  const r = await c.runAndReadAll(`SELECT ${exprs.join(', ')} FROM read_parquet(${sqlString(parquetPath)})`);
  const row = r.getRowObjectsJS()[0] as Record<string, unknown>;
  const numRecords = Number(row.n);
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, unknown> = {};
  ls.forEach((l, i) => {
    setPath(nullCount, l.path, Number(row[`nc${i}`]));
    const mn = jsonStat(row[`mn${i}`], l.type, 'min');
    const mx = jsonStat(row[`mx${i}`], l.type, 'max');
    if (mn !== undefined) setPath(minValues, l.path, mn);
    if (mx !== undefined) setPath(maxValues, l.path, mx);
  });
  return { numRecords, json: JSON.stringify({ numRecords, minValues, maxValues, nullCount }) };
}

/** Column statistics of one written file as COPY … (RETURN_STATS) reports them: column key → stat → text. */
export type CopyColumnStats = Record<string, Record<string, string | null>>;

/** `"a"."b"`: how COPY … (RETURN_STATS) names the leaf at `path`. */
const copyStatsKey = (path: readonly string[]) => path.map((p) => `"${p.replace(/"/g, '""')}"`).join('.');

const TS_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(\+00)?$/;

/** Microseconds since the epoch (as a decimal string) of a DuckDB timestamp rendering, else undefined. */
function micros(text: string, tz: boolean): string | undefined {
  const m = TS_TEXT.exec(text);
  if (!m || (m[8] !== undefined) !== tz) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number(m[1]) < 100 || Number.isNaN(ms)) return undefined; // Date.UTC maps years 0–99 to 1900+
  return String(BigInt(ms) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0')));
}

/** A footer min/max text as the value `jsonStat` takes for that type (undefined: leave the bound out). */
function copyValue(text: string | null | undefined, t: DataType): unknown {
  if (text === null || text === undefined) return undefined;
  if (t === 'timestamp' || t === 'timestamp_ntz') return micros(text, t === 'timestamp');
  if (t === 'date') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
    const ms = Date.parse(`${text}T00:00:00Z`);
    return Number.isNaN(ms) ? undefined : ms / 86_400_000;
  }
  if (t === 'long' || decimalOf(t)) return text;
  if (t === 'string') return text;
  if (t === 'float') return Math.fround(Number(text));
  if (t === 'double' || t === 'integer' || t === 'short' || t === 'byte') return Number(text);
  return undefined;
}

/**
 * The stats JSON of a file from the statistics COPY … (RETURN_STATS) reported while writing it (no rescan),
 * the same as `fileStats` would compute; undefined when a leaf's null count is missing (then rescan).
 */
export function statsFromCopy(
  numRecords: number,
  cols: CopyColumnStats,
  schema: StructType,
): { numRecords: number; json: string } | undefined {
  const minValues: Record<string, unknown> = {};
  const maxValues: Record<string, unknown> = {};
  const nullCount: Record<string, unknown> = {};
  for (const l of leaves(schema)) {
    const st = cols[copyStatsKey(l.path)];
    const nulls = st?.null_count;
    if (nulls === undefined || nulls === null) return undefined;
    setPath(nullCount, l.path, Number(nulls));
    if (SKIP_MINMAX.has(l.type as string)) continue;
    const mn = jsonStat(copyValue(st!.min, l.type), l.type, 'min');
    // NaN sorts above every number, so a column holding one has no finite max (as fileStats finds).
    const mx = st!.has_nan === 'true' ? undefined : jsonStat(copyValue(st!.max, l.type), l.type, 'max');
    if (mn !== undefined) setPath(minValues, l.path, mn);
    if (mx !== undefined) setPath(maxValues, l.path, mx);
  }
  return { numRecords, json: JSON.stringify({ numRecords, minValues, maxValues, nullCount }) };
}
