/** File skipping for a predicate: exact partition values and min/max/nullCount statistics of add actions. */
import type { AddFile } from '../delta/actions';
import type { Snapshot } from '../delta/snapshot';
import { type Expr, mightMatch, parseTypedPredicate } from '../predicate';

interface FileStats {
  numRecords?: number;
  minValues?: Record<string, unknown>;
  maxValues?: Record<string, unknown>;
  nullCount?: Record<string, unknown>;
}

function at(o: Record<string, unknown> | undefined, path: readonly string[]): unknown {
  let cur: unknown = o;
  for (const p of path)
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

/** Partition values typed the way predicates compare them. */
function typedPartition(raw: string | null | undefined, type: unknown): unknown {
  if (raw === null || raw === undefined || raw === '') return null;
  if (type === 'long' && /^-?\d+$/.test(raw)) return BigInt(raw);
  if (
    type === 'integer' ||
    type === 'short' ||
    type === 'byte' ||
    type === 'long' ||
    type === 'double' ||
    type === 'float'
  )
    return Number(raw);
  if (type === 'date') return new Date(`${raw}T00:00:00Z`);
  if (type === 'timestamp')
    return new Date(`${raw.replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? '' : 'Z'}`);
  if (type === 'boolean') return raw === 'true';
  return raw;
}

function typeAt(snap: Snapshot, path: readonly string[]): unknown {
  let fields = snap.schema.fields;
  let t: unknown;
  for (const p of path) {
    const f = fields.find((x) => x.name === p);
    if (!f) return undefined;
    t = f.type;
    fields =
      typeof t === 'object' && t !== null && (t as { type?: string }).type === 'struct'
        ? (t as { fields: typeof fields }).fields
        : [];
  }
  return t;
}

/**
 * Stats values typed for comparison: dates and timestamps become Dates. Delta writers truncate timestamp
 * stats to milliseconds, so a timestamp maximum is widened by 1 ms to stay an upper bound.
 */
function typedStat(v: unknown, type: unknown, which: 'min' | 'max'): unknown {
  if (typeof v !== 'string') return v;
  if (type === 'date') return new Date(`${v.slice(0, 10)}T00:00:00Z`);
  if (type === 'timestamp' || type === 'timestamp_ntz') {
    const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    return Number.isNaN(ms) ? undefined : new Date(which === 'max' ? ms + 1 : ms);
  }
  return v;
}

export function fileMightMatch(expr: Expr, f: AddFile, snap: Snapshot): boolean {
  let stats: FileStats = {};
  try {
    stats = f.stats ? (JSON.parse(f.stats) as FileStats) : {};
  } catch {
    stats = {};
  }
  const parts = new Set(snap.partitionColumns);
  return mightMatch(expr, {
    numRecords: stats.numRecords,
    min: (p) => typedStat(at(stats.minValues, p), typeAt(snap, p), 'min'),
    max: (p) => typedStat(at(stats.maxValues, p), typeAt(snap, p), 'max'),
    nullCount: (p) => {
      const n = at(stats.nullCount, p);
      return typeof n === 'number' ? n : undefined;
    },
    partitionValue: (p) => {
      if (p.length !== 1 || !parts.has(p[0]!)) return { present: false, value: undefined };
      const field = snap.schema.fields.find((x) => x.name === p[0]);
      return { present: true, value: typedPartition(f.partitionValues[p[0]!], field?.type) };
    },
  });
}

/**
 * Parses a predicate and type-checks it against the snapshot's schema: every column it names exists and
 * every comparison is one DuckDB evaluates without a cast error (see lake/predicate/typecheck.ts).
 */
export const bindPredicate = (text: string, snap: Snapshot): Expr =>
  parseTypedPredicate(text, snap.schema, { unknownColumns: 'error' });
