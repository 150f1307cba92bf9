/** Additive schema evolution: new nullable columns (also nested); existing column types never change. */
import { TributaryError } from '../errors';
import { type DataType, type StructType, isArray, isMap, isStruct, typeToString } from './schema';

const INT_RANK: Record<string, number> = { byte: 1, short: 2, integer: 3, long: 4 };

/** Can a value of `input` type be stored in a column of `table` type without loss? */
function fits(input: DataType, table: DataType): boolean {
  if (typeof input === 'string' && typeof table === 'string') {
    if (input === table) return true;
    if (INT_RANK[input] && INT_RANK[table]) return INT_RANK[input]! <= INT_RANK[table]!;
    if (table === 'double' && (input === 'float' || (INT_RANK[input] ?? 9) <= 3)) return true;
    return false;
  }
  return false;
}

export interface MergeResult {
  schema: StructType;
  /** Dotted names of the columns added. */
  added: string[];
}

/** Merges `input` into `table`. `allowNewColumns: false` makes new columns an error (Delta's default without mergeSchema). */
export function mergeSchemas(
  table: StructType,
  input: StructType,
  opts: { allowNewColumns: boolean },
  prefix = '',
): MergeResult {
  const added: string[] = [];
  const fields = table.fields.map((f) => ({ ...f }));
  for (const inf of input.fields) {
    const name = prefix ? `${prefix}.${inf.name}` : inf.name;
    const idx = fields.findIndex((f) => f.name === inf.name);
    if (idx < 0) {
      const ci = fields.findIndex((f) => f.name.toLowerCase() === inf.name.toLowerCase());
      if (ci >= 0)
        throw new TributaryError(
          'BAD_INPUT',
          `column ${name} differs only in case from existing column ${fields[ci]!.name}`,
        );
      if (!opts.allowNewColumns)
        throw new TributaryError(
          'BAD_INPUT',
          `column ${name} is not in the table schema; enable schema merging to add it`,
        );
      fields.push({ ...inf, nullable: true });
      added.push(name);
      continue;
    }
    const cur = fields[idx]!;
    const merged = mergeType(cur.type, inf.type, opts, name);
    fields[idx] = { ...cur, type: merged.type };
    added.push(...merged.added);
  }
  return { schema: { type: 'struct', fields }, added };
}

function mergeType(
  table: DataType,
  input: DataType,
  opts: { allowNewColumns: boolean },
  name: string,
): { type: DataType; added: string[] } {
  if (isStruct(table) && isStruct(input)) {
    const r = mergeSchemas(table, input, opts, name);
    return { type: r.schema, added: r.added };
  }
  if (isArray(table) && isArray(input)) {
    const r = mergeType(table.elementType, input.elementType, opts, `${name}[]`);
    return { type: { ...table, elementType: r.type }, added: r.added };
  }
  if (isMap(table) && isMap(input)) {
    const k = mergeType(table.keyType, input.keyType, opts, `${name}{key}`);
    const v = mergeType(table.valueType, input.valueType, opts, `${name}{value}`);
    return { type: { ...table, keyType: k.type, valueType: v.type }, added: [...k.added, ...v.added] };
  }
  if (fits(input, table)) return { type: table, added: [] };
  throw new TributaryError(
    'BAD_INPUT',
    `column ${name}: input type ${typeToString(input)} does not fit table type ${typeToString(table)}`,
  );
}
