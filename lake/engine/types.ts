/** Delta types ⇄ DuckDB types, and SQL that turns values into lossless primitives for rendering. */
import {
  type DataType,
  type StructType,
  decimalOf,
  isArray,
  isMap,
  isStruct,
  physicalName,
  type ColumnMappingMode,
} from '../delta/schema';
import { sqlIdent } from './duckdb';

const PRIM: Record<string, string> = {
  string: 'VARCHAR',
  long: 'BIGINT',
  integer: 'INTEGER',
  short: 'SMALLINT',
  byte: 'TINYINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  binary: 'BLOB',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
  timestamp_ntz: 'TIMESTAMP',
};

/** A parenthesised relation with the schema's columns (logical names, DuckDB types) and no rows. */
export function emptyRelation(schema: StructType): string {
  return `(SELECT ${schema.fields.map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${sqlIdent(f.name)}`).join(', ')} WHERE false)`;
}

/** DuckDB type for a Delta type, with logical field names. */
export function duckType(t: DataType): string {
  if (typeof t === 'string') {
    const d = decimalOf(t);
    if (d) return `DECIMAL(${d.precision},${d.scale})`;
    const p = PRIM[t];
    if (!p) throw new Error(`no DuckDB type for ${t}`);
    return p;
  }
  if (isStruct(t))
    return `STRUCT(${t.fields.map((f) => `${sqlIdent(f.name)} ${duckType(f.type)}`).join(', ')})`;
  if (isArray(t)) return `${duckType(t.elementType)}[]`;
  return `MAP(${duckType(t.keyType)}, ${duckType(t.valueType)})`;
}

let lambdaN = 0;

/** The shape of a stored value, as DuckDB reports it (only what conforming needs). */
type SourceType = {
  typeId: number;
  /** DECIMAL only. */
  width?: number;
  scale?: number;
  entryNames?: readonly string[];
  entryTypes?: readonly SourceType[];
  valueType?: SourceType;
  keyType?: SourceType;
};

/** DuckDB type ids (DuckDBTypeId) of the Delta primitives, as duckType maps them. */
const PRIM_ID: Record<string, number> = {
  string: 17,
  long: 5,
  integer: 4,
  short: 3,
  byte: 2,
  float: 10,
  double: 11,
  boolean: 1,
  binary: 18,
  date: 13,
  timestamp: 31,
  timestamp_ntz: 12,
};
const STRUCT_ID = 25;
const LIST_ID = 24;
const MAP_ID = 26;
const DECIMAL_ID = 19;

/**
 * Whether a stored value already has exactly the logical type, with logical field names at every depth:
 * then it needs no conversion at all (rebuilding structs and lists row by row is the costly part of a scan).
 */
function alreadyTyped(t: DataType, mode: ColumnMappingMode, s: SourceType | undefined): boolean {
  if (!s) return false;
  if (typeof t === 'string') {
    const d = decimalOf(t);
    if (d) return s.typeId === DECIMAL_ID && s.width === d.precision && s.scale === d.scale;
    return PRIM_ID[t] === s.typeId;
  }
  if (isStruct(t))
    return (
      s.typeId === STRUCT_ID &&
      s.entryNames?.length === t.fields.length &&
      t.fields.every(
        (f, i) =>
          s.entryNames![i] === f.name &&
          physicalName(f, mode) === f.name &&
          alreadyTyped(f.type, mode, s.entryTypes?.[i]),
      )
    );
  if (isArray(t)) return s.typeId === LIST_ID && alreadyTyped(t.elementType, mode, s.valueType);
  return (
    s.typeId === MAP_ID &&
    alreadyTyped(t.keyType, mode, s.keyType) &&
    alreadyTyped(t.valueType, mode, s.valueType)
  );
}

/**
 * SQL turning a stored value (a data file column, or an input column) into the table's logical type:
 * casts leaves (type widening, INT96/millis timestamps), renames nested fields from physical to logical
 * names, and fills struct fields the source lacks (older files after schema evolution) with NULL.
 */
export function typedExpr(x: string, t: DataType, mode: ColumnMappingMode, source?: SourceType): string {
  if (alreadyTyped(t, mode, source)) return x;
  if (typeof t === 'string') return `CAST(${x} AS ${duckType(t)})`;
  if (isStruct(t)) {
    const fields = t.fields.map((f) => {
      const phys = physicalName(f, mode);
      const i = source?.entryNames?.indexOf(phys) ?? -2;
      if (i === -1) return `${sqlIdent(f.name)} := CAST(NULL AS ${duckType(f.type)})`;
      return `${sqlIdent(f.name)} := ${typedExpr(`${x}.${sqlIdent(phys)}`, f.type, mode, i >= 0 ? source?.entryTypes?.[i] : undefined)}`;
    });
    return `CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
  }
  const v = `e${lambdaN++}`;
  if (isArray(t))
    return `list_transform(${x}, ${v} -> ${typedExpr(v, t.elementType, mode, source?.valueType)})`;
  return `map_from_entries(list_transform(map_entries(${x}), ${v} -> struct_pack(k := ${typedExpr(`${v}.key`, t.keyType, mode, source?.keyType)}, v := ${typedExpr(`${v}.value`, t.valueType, mode, source?.valueType)})))`;
}

/** SQL that turns a logical value into primitives JS can hold exactly (longs, decimals, instants as strings). */
export function losslessExpr(x: string, t: DataType): string {
  if (typeof t === 'string') {
    if (t === 'long' || decimalOf(t)) return `CAST(${x} AS VARCHAR)`;
    if (t === 'timestamp' || t === 'timestamp_ntz') return `CAST(epoch_us(${x}) AS VARCHAR)`;
    if (t === 'date') return `CAST(${x} - DATE '1970-01-01' AS INTEGER)`;
    if (t === 'binary') return `base64(${x})`;
    return x;
  }
  if (isStruct(t)) {
    const fields = t.fields.map(
      (f) => `${sqlIdent(f.name)} := ${losslessExpr(`${x}.${sqlIdent(f.name)}`, f.type)}`,
    );
    return `CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
  }
  const v = `e${lambdaN++}`;
  if (isArray(t)) return `list_transform(${x}, ${v} -> ${losslessExpr(v, t.elementType)})`;
  return `list_transform(map_entries(${x}), ${v} -> struct_pack(k := ${losslessExpr(`${v}.key`, t.keyType)}, v := ${losslessExpr(`${v}.value`, t.valueType)}))`;
}

export { isMap };
