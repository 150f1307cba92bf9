/**
 * DuckDB result columns → an apache-arrow Table with matching Arrow types, built buffer by buffer so
 * nothing is rounded: BIGINT stays Int64, DECIMAL and HUGEINT become Decimal128, timestamps keep their
 * microseconds (TIMESTAMPTZ as Timestamp(µs, "UTC")), nested LIST/STRUCT/MAP become List/Struct/Map.
 * Types Arrow has no counterpart for here (UUID, ENUM, BIT, TIME WITH TIME ZONE, UNION, …) travel as text.
 */
import {
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeValue,
} from '@duckdb/node-api';
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalMonthDayNano,
  List,
  Map_,
  Null,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeMicrosecond,
  TimeUnit,
  Timestamp,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  makeData,
} from 'apache-arrow';

/** The Arrow type a DuckDB column becomes. */
export function arrowType(t: DuckDBType): DataType {
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return new Bool();
    case DuckDBTypeId.TINYINT:
      return new Int8();
    case DuckDBTypeId.SMALLINT:
      return new Int16();
    case DuckDBTypeId.INTEGER:
      return new Int32();
    case DuckDBTypeId.BIGINT:
      return new Int64();
    case DuckDBTypeId.UTINYINT:
      return new Uint8();
    case DuckDBTypeId.USMALLINT:
      return new Uint16();
    case DuckDBTypeId.UINTEGER:
      return new Uint32();
    case DuckDBTypeId.UBIGINT:
      return new Uint64();
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return new Decimal(0, 38, 128);
    case DuckDBTypeId.DECIMAL:
      return new Decimal(t.scale, t.width, 128);
    case DuckDBTypeId.FLOAT:
      return new Float32();
    case DuckDBTypeId.DOUBLE:
      return new Float64();
    case DuckDBTypeId.VARCHAR:
      return new Utf8();
    case DuckDBTypeId.BLOB:
      return new Binary();
    case DuckDBTypeId.DATE:
      return new DateDay();
    case DuckDBTypeId.TIME:
      return new TimeMicrosecond();
    case DuckDBTypeId.TIMESTAMP:
      return new Timestamp(TimeUnit.MICROSECOND);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    case DuckDBTypeId.TIMESTAMP_S:
      return new Timestamp(TimeUnit.SECOND);
    case DuckDBTypeId.TIMESTAMP_MS:
      return new Timestamp(TimeUnit.MILLISECOND);
    case DuckDBTypeId.TIMESTAMP_NS:
      return new Timestamp(TimeUnit.NANOSECOND);
    case DuckDBTypeId.INTERVAL:
      return new IntervalMonthDayNano();
    case DuckDBTypeId.SQLNULL:
      return new Null();
    case DuckDBTypeId.LIST:
      return new List(new Field('item', arrowType(t.valueType), true));
    case DuckDBTypeId.ARRAY:
      return new FixedSizeList(t.length, new Field('item', arrowType(t.valueType), true));
    case DuckDBTypeId.STRUCT:
      return new Struct(t.entryNames.map((n, i) => new Field(n, arrowType(t.entryTypes[i]!), true)));
    case DuckDBTypeId.MAP:
      return new Map_(
        new Field(
          'entries',
          new Struct([
            new Field('key', arrowType(t.keyType), false),
            new Field('value', arrowType(t.valueType), true),
          ] as Field[]),
          false,
        ) as never,
      );
    default:
      return new Utf8();
  }
}

/** Validity bitmap (LSB first) and null count. */
function validity(values: readonly DuckDBValue[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null || v === undefined) nullCount++;
    else nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

const utf8 = new TextEncoder();

function bytesColumn(
  type: Utf8 | Binary,
  values: readonly DuckDBValue[],
  toBytes: (v: DuckDBValue) => Uint8Array,
): Data {
  const parts = values.map((v) => (v === null ? new Uint8Array(0) : toBytes(v)));
  const valueOffsets = new Int32Array(values.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    valueOffsets[i + 1] = total;
  });
  if (total > 0x7fffffff) throw new RangeError('column too large for a 32-bit offset Arrow array');
  const data = new Uint8Array(total);
  parts.forEach((p, i) => data.set(p, valueOffsets[i]!));
  return makeData({ type, length: values.length, ...validity(values), valueOffsets, data } as never);
}

/** A 128-bit two's-complement integer as four little-endian 32-bit words. */
function put128(out: Uint32Array, at: number, v: bigint): void {
  let x = BigInt.asUintN(128, v);
  for (let w = 0; w < 4; w++) {
    out[at + w] = Number(x & 0xffffffffn);
    x >>= 32n;
  }
}

/** Text for the types that travel as strings. */
function textOf(v: DuckDBValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** One column (or nested child) as Arrow data of `type`. */
function columnData(t: DuckDBType, type: DataType, values: readonly DuckDBValue[]): Data {
  const length = values.length;
  const base = () => ({ type, length, ...validity(values) });
  const fill = <A extends { [i: number]: number | bigint }>(
    arr: A,
    f: (v: DuckDBValue) => number | bigint,
  ): A => {
    values.forEach((v, i) => {
      if (v !== null) arr[i] = f(v) as never;
    });
    return arr;
  };
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN: {
      const data = new Uint8Array(Math.ceil(length / 8));
      values.forEach((v, i) => {
        if (v === true) data[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ ...base(), data } as never);
    }
    case DuckDBTypeId.TINYINT:
      return makeData({ ...base(), data: fill(new Int8Array(length), Number) } as never);
    case DuckDBTypeId.SMALLINT:
      return makeData({ ...base(), data: fill(new Int16Array(length), Number) } as never);
    case DuckDBTypeId.INTEGER:
      return makeData({ ...base(), data: fill(new Int32Array(length), Number) } as never);
    case DuckDBTypeId.UTINYINT:
      return makeData({ ...base(), data: fill(new Uint8Array(length), Number) } as never);
    case DuckDBTypeId.USMALLINT:
      return makeData({ ...base(), data: fill(new Uint16Array(length), Number) } as never);
    case DuckDBTypeId.UINTEGER:
      return makeData({ ...base(), data: fill(new Uint32Array(length), Number) } as never);
    case DuckDBTypeId.BIGINT:
      return makeData({
        ...base(),
        data: fill(new BigInt64Array(length), (v) => BigInt(v as bigint)),
      } as never);
    case DuckDBTypeId.UBIGINT:
      return makeData({
        ...base(),
        data: fill(new BigUint64Array(length), (v) => BigInt(v as bigint)),
      } as never);
    case DuckDBTypeId.FLOAT:
      return makeData({ ...base(), data: fill(new Float32Array(length), Number) } as never);
    case DuckDBTypeId.DOUBLE:
      return makeData({ ...base(), data: fill(new Float64Array(length), Number) } as never);
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.DECIMAL: {
      const data = new Uint32Array(length * 4);
      values.forEach((v, i) => {
        if (v !== null) put128(data, i * 4, v instanceof DuckDBDecimalValue ? v.value : BigInt(v as bigint));
      });
      return makeData({ ...base(), data } as never);
    }
    case DuckDBTypeId.DATE:
      return makeData({
        ...base(),
        data: fill(new Int32Array(length), (v) => (v as DuckDBDateValue).days),
      } as never);
    case DuckDBTypeId.TIME:
      return makeData({
        ...base(),
        data: fill(new BigInt64Array(length), (v) => (v as DuckDBTimeValue).micros),
      } as never);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return makeData({
        ...base(),
        data: fill(
          new BigInt64Array(length),
          (v) =>
            (v as { micros?: bigint; millis?: bigint; nanos?: bigint }).micros ??
            (v as { millis?: bigint }).millis ??
            (v as { nanos: bigint }).nanos,
        ),
      } as never);
    case DuckDBTypeId.TIMESTAMP_S:
      return makeData({
        ...base(),
        data: fill(new BigInt64Array(length), (v) => (v as { seconds: bigint }).seconds),
      } as never);
    case DuckDBTypeId.INTERVAL: {
      const data = new Int32Array(length * 4);
      values.forEach((v, i) => {
        if (!(v instanceof DuckDBIntervalValue)) return;
        data[i * 4] = v.months;
        data[i * 4 + 1] = v.days;
        const nanos = BigInt.asUintN(64, v.micros * 1000n);
        data[i * 4 + 2] = Number(nanos & 0xffffffffn) | 0;
        data[i * 4 + 3] = Number(nanos >> 32n) | 0;
      });
      return makeData({ ...base(), data } as never);
    }
    case DuckDBTypeId.SQLNULL:
      return makeData({ type: type as Null, length, nullCount: length });
    case DuckDBTypeId.BLOB:
      return bytesColumn(type as Binary, values, (v) => (v as DuckDBBlobValue).bytes);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const items: DuckDBValue[] = [];
      const valueOffsets = new Int32Array(length + 1);
      values.forEach((v, i) => {
        if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) items.push(...v.items);
        else if (t.typeId === DuckDBTypeId.ARRAY) for (let k = 0; k < t.length; k++) items.push(null);
        valueOffsets[i + 1] = items.length;
      });
      const childType = (type as List | FixedSizeList).children[0]!.type;
      const child = columnData(t.valueType, childType, items);
      if (t.typeId === DuckDBTypeId.ARRAY) return makeData({ ...base(), child } as never);
      return makeData({ ...base(), valueOffsets, child } as never);
    }
    case DuckDBTypeId.STRUCT: {
      const st = type as Struct;
      const children = t.entryNames.map((name, k) =>
        columnData(
          t.entryTypes[k]!,
          st.children[k]!.type,
          values.map((v) => (v instanceof DuckDBStructValue ? (v.entries[name] ?? null) : null)),
        ),
      );
      return makeData({ ...base(), children } as never);
    }
    case DuckDBTypeId.MAP: {
      const keys: DuckDBValue[] = [];
      const vals: DuckDBValue[] = [];
      const valueOffsets = new Int32Array(length + 1);
      values.forEach((v, i) => {
        if (v instanceof DuckDBMapValue)
          for (const e of v.entries) {
            keys.push(e.key);
            vals.push(e.value);
          }
        valueOffsets[i + 1] = keys.length;
      });
      const entries = (type as Map_).children[0]!.type as Struct;
      const child = makeData({
        type: entries,
        length: keys.length,
        nullCount: 0,
        children: [
          columnData(t.keyType, entries.children[0]!.type, keys),
          columnData(t.valueType, entries.children[1]!.type, vals),
        ],
      });
      return makeData({ ...base(), valueOffsets, child } as never);
    }
    default:
      return bytesColumn(type as Utf8, values, (v) => utf8.encode(textOf(v)));
  }
}

export interface Columns {
  names: readonly string[];
  types: readonly DuckDBType[];
  /** Column-major values, as DuckDB's node API returns them. */
  values: readonly (readonly DuckDBValue[])[];
}

/** An Arrow table holding the columns, one record batch. Duplicate column names are kept as they are. */
export function toArrowTable(cols: Columns): Table {
  const fields = cols.names.map((n, i) => new Field(n, arrowType(cols.types[i]!), true));
  const schema = new Schema(fields);
  const length = cols.values[0]?.length ?? 0;
  const children = cols.names.map((_, i) =>
    columnData(cols.types[i]!, fields[i]!.type, cols.values[i] ?? []),
  );
  const data = makeData({ type: new Struct(fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, data)]);
}
