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
