/**
 * The canonical JSON rendering of rows (shared/delta-conformance/MANIFEST.md): longs and decimals as
 * strings, floats as the shortest round-tripping decimal, instants with 6 fractional digits, maps as
 * sorted [key, value] pairs. Input values come from `losslessExpr` SQL.
 */
import { type DataType, decimalOf, isArray, isMap, isStruct, type StructType } from '../delta/schema';

const pad = (n: number | bigint, w: number) => String(n).padStart(w, '0');

export function shortestFloat32(x: number): number {
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function special(x: number): string | number {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return x === 0 ? 0 : x;
}

/** Microseconds since the epoch → "YYYY-MM-DDTHH:MM:SS.ffffff". */
export function formatMicros(us: bigint): string {
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const micro = us - ms * 1000n;
  const iso = new Date(Number(ms)).toISOString(); // …SS.mmmZ (±YYYYYY outside 0000–9999)
  return `${iso.slice(0, -1)}${pad(micro, 3)}`;
}

export const formatDays = (days: number): string => new Date(days * 86_400_000).toISOString().slice(0, 10);

export function renderValue(v: unknown, t: DataType): unknown {
  if (v === null || v === undefined) return null;
  if (typeof t === 'string') {
    if (t === 'long' || decimalOf(t)) return String(v);
    if (t === 'float') return special(shortestFloat32(Number(v)));
    if (t === 'double') return special(Number(v));
    if (t === 'timestamp') return `${formatMicros(BigInt(v as string))}Z`;
    if (t === 'timestamp_ntz') return formatMicros(BigInt(v as string));
    if (t === 'date') return formatDays(Number(v));
    if (t === 'byte' || t === 'short' || t === 'integer') return Number(v);
    return v;
  }
  if (isStruct(t)) {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(t.fields.map((f) => [f.name, renderValue(o[f.name], f.type)]));
  }
  if (isArray(t)) return (v as unknown[]).map((e) => renderValue(e, t.elementType));
  if (isMap(t)) {
    const pairs = (v as { k: unknown; v: unknown }[]).map(
      (e) => [renderValue(e.k, t.keyType), renderValue(e.v, t.valueType)] as const,
    );
    return pairs
      .map((p) => [JSON.stringify(p[0]), p] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map((x) => x[1]);
  }
  return v;
}

export function renderRow(
  row: Record<string, unknown>,
  schema: StructType,
  columns?: readonly string[],
): Record<string, unknown> {
  const fields = columns ? schema.fields.filter((f) => columns.includes(f.name)) : schema.fields;
  return Object.fromEntries(fields.map((f) => [f.name, renderValue(row[f.name], f.type)]));
}

/** Canonical JSONL line order: by JSON text, UTF-16 code unit order. */
export const sortLines = (lines: string[]): string[] => lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
