/** Delta's JSON schema (PROTOCOL.md "Schema Serialization Format") as typed values. */
import { TributaryError } from '../errors';

export type PrimitiveType = string; // 'string' | 'long' | … | 'decimal(p,s)'
export interface StructField {
  name: string;
  type: DataType;
  nullable: boolean;
  metadata: Record<string, unknown>;
}
export interface StructType {
  type: 'struct';
  fields: StructField[];
}
export interface ArrayType {
  type: 'array';
  elementType: DataType;
  containsNull: boolean;
}
export interface MapType {
  type: 'map';
  keyType: DataType;
  valueType: DataType;
  valueContainsNull: boolean;
}
export type DataType = PrimitiveType | StructType | ArrayType | MapType;

const PRIMITIVES = new Set([
  'string',
  'long',
  'integer',
  'short',
  'byte',
  'float',
  'double',
  'boolean',
  'binary',
  'date',
  'timestamp',
  'timestamp_ntz',
]);
const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

export const isStruct = (t: DataType): t is StructType => typeof t === 'object' && t.type === 'struct';
export const isArray = (t: DataType): t is ArrayType => typeof t === 'object' && t.type === 'array';
export const isMap = (t: DataType): t is MapType => typeof t === 'object' && t.type === 'map';

/** Longest key that becomes a column name (Unity Catalog's limit too). */
export const MAX_COLUMN_NAME_LENGTH = 255;

const hasControl = (k: string): boolean => {
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

/**
 * The one rule for names a JSON key may give a column or struct field: why `k` cannot be one, or
 * undefined. DuckDB refuses empty names (and NUL in them); control characters break every text rendering
 * of a schema and Spark refuses tabs and newlines in names. Ingest rescues such a key's value into
 * `_rescued_data`; `table append` refuses the input.
 */
export function badColumnName(k: string): string | undefined {
  if (k.length === 0) return 'empty';
  if (k.length > MAX_COLUMN_NAME_LENGTH) return `longer than ${MAX_COLUMN_NAME_LENGTH} characters`;
  if (hasControl(k)) return 'holds a control character';
  return undefined;
}

/** The rule of badColumnName in words, for messages. */
export const COLUMN_NAME_RULE = `a column or field name must be non-empty, at most ${MAX_COLUMN_NAME_LENGTH} characters long and free of control characters`;

/** A name for messages: JSON-quoted (control characters escaped), long names cut. */
export function displayName(k: string): string {
  const q = JSON.stringify(k.length > 60 ? k.slice(0, 60) : k);
  return k.length > 60 ? `${q.slice(0, -1)}…" (${k.length} characters)` : q;
}

/**
 * The first field name, at any depth, of `t` that breaks badColumnName and is not already a field at that
 * path of `existing` (the table's schema, when appending): names a table already has are its own business.
 */
export function badNewFieldName(
  t: DataType,
  existing?: DataType,
): { path: string[]; reason: string } | undefined {
  const todo: { t: DataType; ex: DataType | undefined; path: string[] }[] = [{ t, ex: existing, path: [] }];
  while (todo.length) {
    const { t: x, ex, path } = todo.pop()!;
    if (isStruct(x)) {
      for (const f of x.fields) {
        const old = ex && isStruct(ex) ? ex.fields.find((g) => g.name === f.name) : undefined;
        const reason = old ? undefined : badColumnName(f.name);
        if (reason) return { path: [...path, f.name], reason };
        todo.push({ t: f.type, ex: old?.type, path: [...path, f.name] });
      }
    } else if (isArray(x)) {
      todo.push({ t: x.elementType, ex: ex && isArray(ex) ? ex.elementType : undefined, path });
    } else if (isMap(x)) {
      todo.push({ t: x.keyType, ex: ex && isMap(ex) ? ex.keyType : undefined, path });
      todo.push({ t: x.valueType, ex: ex && isMap(ex) ? ex.valueType : undefined, path });
    }
  }
  return undefined;
}

export function decimalOf(t: DataType): { precision: number; scale: number } | undefined {
  if (typeof t !== 'string') return undefined;
  if (t === 'decimal') return { precision: 10, scale: 0 };
  const m = DECIMAL.exec(t);
  return m ? { precision: Number(m[1]), scale: Number(m[2]) } : undefined;
}

function checkType(t: unknown, where: string): DataType {
  if (typeof t === 'string') {
    if (PRIMITIVES.has(t) || decimalOf(t)) return t;
    throw new TributaryError('PROTOCOL_UNSUPPORTED', `${where}: unsupported data type '${t}'`);
  }
  if (t && typeof t === 'object') {
    const o = t as Record<string, unknown>;
    if (o.type === 'struct') return parseStruct(o, where);
    if (o.type === 'array')
      return {
        type: 'array',
        elementType: checkType(o.elementType, `${where}[]`),
        containsNull: o.containsNull !== false,
      };
    if (o.type === 'map')
      return {
        type: 'map',
        keyType: checkType(o.keyType, `${where}{key}`),
        valueType: checkType(o.valueType, `${where}{value}`),
        valueContainsNull: o.valueContainsNull !== false,
      };
  }
  throw new TributaryError('INVALID_LOG', `${where}: malformed type ${JSON.stringify(t)}`);
}

function parseStruct(o: Record<string, unknown>, where: string): StructType {
  if (!Array.isArray(o.fields)) throw new TributaryError('INVALID_LOG', `${where}: struct without fields`);
  return {
    type: 'struct',
    fields: o.fields.map((f: Record<string, unknown>) => {
      if (typeof f?.name !== 'string')
        throw new TributaryError('INVALID_LOG', `${where}: field without a name`);
      return {
        name: f.name,
        type: checkType(f.type, where ? `${where}.${f.name}` : f.name),
        nullable: f.nullable !== false,
        metadata: (f.metadata as Record<string, unknown> | undefined) ?? {},
      };
    }),
  };
}

export function parseSchema(schemaString: string): StructType {
  let raw: unknown;
  try {
    raw = JSON.parse(schemaString);
  } catch (e) {
    throw new TributaryError('INVALID_LOG', `schemaString is not JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const t = checkType(raw, '');
  if (!isStruct(t)) throw new TributaryError('INVALID_LOG', 'table schema must be a struct');
  return t;
}

export const serializeSchema = (s: StructType): string => JSON.stringify(s);

export type ColumnMappingMode = 'none' | 'name' | 'id';

/** The name a field has inside data files: its physical name under column mapping. */
export function physicalName(f: StructField, mode: ColumnMappingMode): string {
  if (mode === 'none') return f.name;
  const p = f.metadata['delta.columnMapping.physicalName'];
  return typeof p === 'string' ? p : f.name;
}

export function fieldId(f: StructField): number | undefined {
  const id = f.metadata['delta.columnMapping.id'];
  return typeof id === 'number' ? id : undefined;
}

/**
 * The type as another table would declare it: column-mapping metadata (ids, physical names) and other
 * table-specific field metadata dropped, at every depth. For copying a schema into a new table.
 */
export function withoutFieldMetadata<T extends DataType>(t: T): T {
  const strip = (x: DataType): DataType => {
    if (isStruct(x))
      return {
        type: 'struct',
        fields: x.fields.map((f) => ({ ...f, type: strip(f.type), metadata: {} })),
      };
    if (isArray(x)) return { ...x, elementType: strip(x.elementType) };
    if (isMap(x)) return { ...x, keyType: strip(x.keyType), valueType: strip(x.valueType) };
    return x;
  };
  return strip(t) as T;
}

export function typeToString(t: DataType): string {
  if (typeof t === 'string') return t;
  if (isStruct(t)) return `struct<${t.fields.map((f) => `${f.name}:${typeToString(f.type)}`).join(',')}>`;
  if (isArray(t)) return `array<${typeToString(t.elementType)}>`;
  return `map<${typeToString(t.keyType)},${typeToString(t.valueType)}>`;
}
