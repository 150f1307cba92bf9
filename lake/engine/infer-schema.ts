/** DuckDB column types → Delta types (for tables created from data). */
import { type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import { TributaryError } from '../errors';
import type { DataType, StructType } from '../delta/schema';

export function deltaTypeOf(t: DuckDBType, where: string): DataType {
  switch (t.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.ENUM:
      return 'string';
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.TINYINT:
      return 'byte';
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return 'short';
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return 'integer';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'long';
    case DuckDBTypeId.UBIGINT:
      return 'decimal(20,0)';
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return 'decimal(38,0)';
    case DuckDBTypeId.FLOAT:
      return 'float';
    case DuckDBTypeId.DOUBLE:
      return 'double';
    case DuckDBTypeId.DECIMAL: {
      const d = t as unknown as { width: number; scale: number };
      return `decimal(${d.width},${d.scale})`;
    }
    case DuckDBTypeId.DATE:
      return 'date';
    // Log timestamps are instants; naive timestamps detected in JSON are taken as UTC.
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'timestamp';
    case DuckDBTypeId.BLOB:
      return 'binary';
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const l = t as unknown as { valueType: DuckDBType };
      return { type: 'array', elementType: deltaTypeOf(l.valueType, `${where}[]`), containsNull: true };
    }
    case DuckDBTypeId.MAP: {
      const m = t as unknown as { keyType: DuckDBType; valueType: DuckDBType };
      return {
        type: 'map',
        keyType: deltaTypeOf(m.keyType, where),
        valueType: deltaTypeOf(m.valueType, where),
        valueContainsNull: true,
      };
    }
    case DuckDBTypeId.STRUCT: {
      const s = t as unknown as { entryNames: readonly string[]; entryTypes: readonly DuckDBType[] };
      return structOf(s.entryNames, s.entryTypes, where);
    }
    case DuckDBTypeId.SQLNULL:
      return 'string'; // a column that is NULL in every row: string is the widest safe choice
    default:
      // JSON values (mixed types) and anything else are kept as their JSON text.
      if (String(t.toString()).toUpperCase() === 'JSON') return 'string';
      throw new TributaryError('BAD_INPUT', `column ${where}: type ${t.toString()} has no Delta equivalent`);
  }
}

export function structOf(names: readonly string[], types: readonly DuckDBType[], prefix = ''): StructType {
  return {
    type: 'struct',
    fields: names.map((n, i) => ({
      name: n,
      type: deltaTypeOf(types[i]!, prefix ? `${prefix}.${n}` : n),
      nullable: true,
      metadata: {},
    })),
  };
}
