/**
 * Fits parsed JSON records to a table schema, like Auto Loader's addNewColumns + rescue: unknown fields
 * become new nullable columns (type inferred from the first non-null value, nested too); a value whose
 * type does not fit its column goes into `_rescued_data` (JSON of the misfits, by path) and the column is
 * NULL in that row. Nothing is dropped.
 */
import type { DataType, StructField, StructType } from '../../lake/delta/schema';
// A key no column can be named (badColumnName, the one rule shared with `table append`) is rescued.
import { badColumnName, decimalOf, isArray, isMap, isStruct } from '../../lake/delta/schema';
import type { JsonValue } from './lossless-json';

const ISO_TS = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const TS_PARTS = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?(?:(Z)|([+-]\d{2}):?(\d{2})?)$/;

/**
 * An accepted timestamp text (ISO_TS) in the one form DuckDB reads back as the same instant: seconds and a
 * ±hh:mm offset spelled out (`10:00+02` and `10:00:00+0200` are valid ISO-8601 but not DuckDB input).
 */
export function canonicalTimestamp(v: string): string {
  const m = TS_PARTS.exec(v);
  if (!m) return v;
  const [, date, hm, sec, z, offH, offM] = m;
  return `${date}T${hm}${sec ?? ':00'}${z ? 'Z' : `${offH}:${offM ?? '00'}`}`;
}
/**
 * Whether a text matching ISO_TS or ISO_DATE names a real instant or day: the calendar checked field by
 * field. Date.parse rolls `2024-02-30` over to March 1st where DuckDB refuses it, and a value JS takes
 * but DuckDB refuses would fail the whole batch; refused here, it is rescued.
 */
export function isRealDateTime(v: string): boolean {
  const y = Number(v.slice(0, 4));
  const mo = Number(v.slice(5, 7));
  const d = Number(v.slice(8, 10));
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = mo === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(mo) ? 30 : 31;
  if (mo < 1 || mo > 12 || d < 1 || d > days) return false;
  if (v.length === 10) return true;
  const m = TS_PARTS.exec(v);
  if (!m) return false;
  const [h, mi] = m[2]!.split(':').map(Number) as [number, number];
  const sec = m[3] ? Number(m[3].slice(1, 3)) : 0;
  // 24:00:00 is the end of the day (ISO 8601), the next day's midnight to DuckDB and to Date.parse alike.
  const endOfDay = h === 24 && mi === 0 && /^(:00(\.0*)?)?$/.test(m[3] ?? '');
  return (h <= 23 || endOfDay) && mi <= 59 && sec <= 59 && Number(m[5] ?? 0) <= 23 && Number(m[6] ?? 0) <= 59;
}
const isTimestampText = (v: string): boolean =>
  ISO_TS.test(v) && isRealDateTime(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T')));

const INT_RANGE: Record<string, [number, number]> = {
  byte: [-128, 127],
  short: [-32768, 32767],
  integer: [-2147483648, 2147483647],
};
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** How many columns a batch may add and a table may have (struct fields counted at every depth). */
export interface ColumnLimits {
  /** New columns one batch may add (`ingest.maxNewColumnsPerBatch`). */
  maxNewColumns: number;
  /** Columns the table may have in all (`ingest.maxColumns`). */
  maxColumns: number;
}
export const DEFAULT_COLUMN_LIMITS: ColumnLimits = { maxNewColumns: 500, maxColumns: 2000 };

/** Fields of a type at every depth (a struct field counts once, plus its own fields). */
export function countFields(t: DataType): number {
  let n = 0;
  const todo: DataType[] = [t];
  while (todo.length) {
    const x = todo.pop()!;
    if (isStruct(x)) {
      n += x.fields.length;
      for (const f of x.fields) todo.push(f.type);
    } else if (isArray(x)) todo.push(x.elementType);
    else if (isMap(x)) todo.push(x.keyType, x.valueType);
  }
  return n;
}

type Obj = { [k: string]: JsonValue };
const isObj = (v: JsonValue): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Delta type for a JSON value, or undefined when nothing can be inferred (null). */
export function inferType(v: JsonValue): DataType | undefined {
  if (v === null) return undefined;
  switch (typeof v) {
    case 'string':
      return isTimestampText(v) ? 'timestamp' : 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'long' : 'double';
    case 'bigint':
      return v >= LONG_MIN && v <= LONG_MAX ? 'long' : 'decimal(38,0)';
  }
  if (Array.isArray(v)) {
    const first = v.find((x) => x !== null);
    return {
      type: 'array',
      elementType: (first === undefined ? undefined : inferType(first)) ?? 'string',
      containsNull: true,
    };
  }
  const fields: StructField[] = [];
  const names = new Set<string>();
  for (const [k, x] of Object.entries(v)) {
    const t = inferType(x);
    // A key differing only in case from an earlier one gets no field (column names are case-insensitive),
    // nor does a key no column can be named: conforming the value then rescues it, as at the top level.
    if (!t || names.has(k.toLowerCase()) || badColumnName(k)) continue;
    names.add(k.toLowerCase());
    fields.push({ name: k, type: t, nullable: true, metadata: {} });
  }
  // An object with nothing to infer from (`{}`, only nulls) gives no type: Parquet has no empty struct.
  return fields.length ? { type: 'struct', fields } : undefined;
}

/**
 * name → first field of that name (what `fields.find` gives), per struct type, kept in step as fields are
 * pushed; rebuilt if the field list changed length behind its back.
 */
interface FieldIndex {
  /** fields.length when last synced. */
  n: number;
  map: Map<string, StructField>;
}
const indexes = new WeakMap<StructType, FieldIndex>();
function fieldIndex(st: StructType): FieldIndex {
  let ix = indexes.get(st);
  if (!ix || ix.n !== st.fields.length) {
    const map = new Map<string, StructField>();
    for (const f of st.fields) if (!map.has(f.name)) map.set(f.name, f);
    ix = { n: st.fields.length, map };
    indexes.set(st, ix);
  }
  return ix;
}

const MISFIT = Symbol('misfit');
type Fitted = JsonValue | typeof MISFIT;

/**
 * A schema that grows as a batch meets new fields. `conform` returns the row to stage (values that
 * fit) and the rescued misfits.
 */
export class Conformer {
  readonly schema: StructType;
  /** Dotted names of fields added by this batch. */
  readonly added: string[] = [];
  /** Dotted names of new fields refused by the column limits (their values were rescued). */
  readonly refused = new Set<string>();
  private columns: number;
  private newColumns = 0;

  constructor(
    base: StructType,
    private readonly reserved: ReadonlySet<string>,
    private readonly limits: ColumnLimits = DEFAULT_COLUMN_LIMITS,
  ) {
    this.schema = structuredClone(base);
    this.columns = countFields(this.schema);
  }

  conform(rec: Obj): { row: Obj; rescued: Obj | undefined } {
    const rescued: Obj = {};
    const row = this.conformStruct(rec, this.schema, rescued, '');
    return { row, rescued: Object.keys(rescued).length ? rescued : undefined };
  }

  private conformStruct(rec: Obj, st: StructType, rescued: Obj, prefix: string): Obj {
    const out: Obj = {};
    const byName = fieldIndex(st);
    for (const k of Object.keys(rec)) {
      const v = rec[k] as JsonValue;
      if (!prefix && this.reserved.has(k)) {
        rescued[k] = v; // a source field named like one of our metadata columns is kept, not overwritten
        continue;
      }
      let f = byName.map.get(k);
      if (!f) {
        if (st.fields.some((x) => x.name.toLowerCase() === k.toLowerCase())) {
          rescued[k] = v; // differs only in case from a column (Auto Loader rescues these too)
          continue;
        }
        if (v === null) continue; // null: nothing to keep beyond absence
        const t = badColumnName(k) ? undefined : inferType(v);
        if (!t) {
          // `{}`, an object of nulls, or a key no column can be named (empty, control characters, over
          // long): no column can hold it, it is kept as rescued data.
          rescued[k] = v;
          continue;
        }
        const cost = 1 + countFields(t);
        if (
          this.newColumns + cost > this.limits.maxNewColumns ||
          this.columns + cost > this.limits.maxColumns
        ) {
          // Beyond the column limits: the value is rescued, the schema does not grow.
          if (this.refused.size < 1000) this.refused.add(prefix + k);
          rescued[k] = v;
          continue;
        }
        this.newColumns += cost;
        this.columns += cost;
        f = { name: k, type: t, nullable: true, metadata: {} };
        st.fields.push(f);
        byName.map.set(k, f); // k matched no field, so it is new in the index too
        byName.n = st.fields.length;
        this.added.push(prefix + k);
      }
      if (isStruct(f.type) && isObj(v)) {
        const nested: Obj = {};
        out[k] = this.conformStruct(v, f.type, nested, `${prefix}${k}.`);
        if (Object.keys(nested).length) rescued[k] = nested;
        continue;
      }
      const fitted = fit(v, f.type);
      if (fitted === MISFIT) rescued[k] = v;
      else out[k] = fitted;
    }
    return out;
  }
}

/** Whether a JSON number is exactly a decimal(precision, scale) value (else it would be rounded). */
function fitsDecimal(v: JsonValue, d: { precision: number; scale: number }): boolean {
  let text: string;
  if (typeof v === 'bigint') text = v.toString();
  else if (typeof v === 'number' && Number.isFinite(v)) text = String(v);
  else return false;
  const m = /^-?(\d+)(?:\.(\d+))?$/.exec(text); // exponent forms (1e+21, 1e-7) are not taken
  if (!m) return false;
  const int = m[1]!.replace(/^0+(?=\d)/, '');
  const frac = m[2] ?? '';
  return frac.length <= d.scale && (int === '0' ? 0 : int.length) <= d.precision - d.scale;
}

function fit(v: JsonValue, t: DataType): Fitted {
  if (v === null) return null;
  if (typeof t === 'string') {
    switch (t) {
      case 'string':
        return typeof v === 'string' ? v : MISFIT;
      case 'boolean':
        return typeof v === 'boolean' ? v : MISFIT;
      case 'long':
        if (typeof v === 'bigint') return v >= LONG_MIN && v <= LONG_MAX ? v : MISFIT;
        return typeof v === 'number' && Number.isInteger(v) ? v : MISFIT;
      case 'integer':
      case 'short':
      case 'byte': {
        const [lo, hi] = INT_RANGE[t]!;
        return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : MISFIT;
      }
      case 'double':
      case 'float':
        return typeof v === 'number' ? v : MISFIT;
      case 'timestamp':
      case 'timestamp_ntz':
        return typeof v === 'string' && isTimestampText(v) ? canonicalTimestamp(v) : MISFIT;
      case 'date':
        return typeof v === 'string' && ISO_DATE.test(v) && isRealDateTime(v) ? v : MISFIT;
      default:
        if (decimalOf(t)) return fitsDecimal(v, decimalOf(t)!) ? v : MISFIT;
        return MISFIT; // binary and anything JSON cannot carry
    }
  }
  if (isArray(t)) {
    if (!Array.isArray(v)) return MISFIT;
    const out: JsonValue[] = [];
    for (const e of v) {
      const x = fit(e, t.elementType);
      if (x === MISFIT) return MISFIT;
      out.push(x);
    }
    return out;
  }
  if (isMap(t)) {
    if (!isObj(v) || t.keyType !== 'string') return MISFIT;
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) {
      const y = fit(x, t.valueType);
      if (y === MISFIT) return MISFIT;
      out[k] = y;
    }
    return out;
  }
  // Struct reached here only for non-object values, or inside arrays: nested misfits fail the whole value.
  if (!isObj(v)) return MISFIT;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    const f = t.fields.find((ff) => ff.name === k);
    if (!f) return MISFIT;
    const y = fit(x, f.type);
    if (y === MISFIT) return MISFIT;
    out[k] = y;
  }
  return out;
}
