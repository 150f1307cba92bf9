/**
 * Query results (DuckDB columns, see lake/query) as text: an aligned table, CSV, JSON lines; and Arrow IPC.
 *
 * JSON lines keep numbers exact: BIGINT, HUGEINT and DECIMAL values are written as JSON numbers with all
 * their digits (parse with a big-number-aware reader if they exceed 2^53); NaN and ±Infinity become strings.
 * Timestamps are ISO 8601 with microseconds (`Z` for TIMESTAMP WITH TIME ZONE), dates `YYYY-MM-DD`, blobs
 * base64, lists arrays, structs objects, maps objects (VARCHAR keys) or `[{key, value}]` lists.
 */
import type { Writable } from 'node:stream';
import {
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
import { tableToIPC } from 'apache-arrow';
import { type Columns, toArrowTable } from '../lake/query';

export type QueryFormat = 'table' | 'csv' | 'jsonl' | 'arrow';
export const QUERY_FORMATS: readonly QueryFormat[] = ['table', 'csv', 'jsonl', 'arrow'];

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.ffffff]`, or undefined outside JS Date's range. */
function isoMicros(micros: bigint): string | undefined {
  const ms = micros / 1000n;
  let frac = micros % 1000000n;
  if (frac < 0n) frac += 1000000n;
  const d = new Date(Number(micros < 0n && micros % 1000n !== 0n ? ms - 1n : ms));
  if (Number.isNaN(d.getTime())) return undefined;
  const y = d.getUTCFullYear();
  const year =
    y >= 0 && y <= 9999
      ? String(y).padStart(4, '0')
      : (y < 0 ? '-' : '+') + String(Math.abs(y)).padStart(6, '0');
  const base = `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return frac === 0n ? base : `${base}.${String(frac).padStart(6, '0')}`;
}

/** A non-null scalar as text (no quoting). */
function scalarText(v: Exclude<DuckDBValue, null>, t: DuckDBType): string {
  if (t.typeId === DuckDBTypeId.TIMESTAMP && v instanceof DuckDBTimestampValue)
    return isoMicros(v.micros) ?? v.toString();
  if (t.typeId === DuckDBTypeId.TIMESTAMP_TZ && v instanceof DuckDBTimestampTZValue) {
    const s = isoMicros(v.micros);
    return s ? `${s}Z` : v.toString();
  }
  if (v instanceof DuckDBBlobValue) return Buffer.from(v.bytes).toString('base64');
  return typeof v === 'string' ? v : String(v);
}

const NUMERIC = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.FLOAT,
  DuckDBTypeId.DOUBLE,
]);

/** A value as JSON text. */
export function jsonText(v: DuckDBValue, t: DuckDBType): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (NUMERIC.has(t.typeId)) {
    if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(String(v));
    return String(v);
  }
  if (t.typeId === DuckDBTypeId.LIST || t.typeId === DuckDBTypeId.ARRAY) {
    const items = v instanceof DuckDBListValue || v instanceof DuckDBArrayValue ? v.items : [];
    return `[${items.map((x) => jsonText(x, t.valueType)).join(',')}]`;
  }
  if (t.typeId === DuckDBTypeId.STRUCT && v instanceof DuckDBStructValue)
    return `{${t.entryNames.map((n, i) => `${JSON.stringify(n)}:${jsonText(v.entries[n] ?? null, t.entryTypes[i]!)}`).join(',')}}`;
  if (t.typeId === DuckDBTypeId.MAP && v instanceof DuckDBMapValue) {
    if (t.keyType.typeId === DuckDBTypeId.VARCHAR)
      return `{${v.entries.map((e) => `${JSON.stringify(String(e.key))}:${jsonText(e.value, t.valueType)}`).join(',')}}`;
    return `[${v.entries.map((e) => `{"key":${jsonText(e.key, t.keyType)},"value":${jsonText(e.value, t.valueType)}}`).join(',')}]`;
  }
  return JSON.stringify(scalarText(v, t));
}

const NESTED = new Set<DuckDBTypeId>([
  DuckDBTypeId.LIST,
  DuckDBTypeId.ARRAY,
  DuckDBTypeId.STRUCT,
  DuckDBTypeId.MAP,
]);

/** A value as one cell of CSV or the text table; undefined for NULL. */
function cellText(v: DuckDBValue, t: DuckDBType): string | undefined {
  if (v === null || v === undefined) return undefined;
  return NESTED.has(t.typeId) ? jsonText(v, t) : scalarText(v, t);
}

function csvCell(s: string | undefined): string {
  if (s === undefined) return '';
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function write(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
}

const MAX_CELL = 80;

/** psql-style aligned table; long cells are cut at 80 characters, NULL is shown as NULL. */
function textTable(cols: Columns): string {
  const n = cols.values[0]?.length ?? 0;
  const cells = cols.names.map((_, c) =>
    Array.from({ length: n }, (__, r) => {
      const s = cellText(cols.values[c]![r]!, cols.types[c]!);
      const one = s === undefined ? 'NULL' : s.replace(/[\r\n\t]/g, ' ');
      return one.length > MAX_CELL ? `${one.slice(0, MAX_CELL - 1)}…` : one;
    }),
  );
  const widths = cols.names.map((name, c) => Math.max(name.length, ...cells[c]!.map((s) => s.length)));
  const right = cols.types.map((t) => NUMERIC.has(t.typeId));
  const line = (vals: string[], alignRight: boolean[]) =>
    ` ${vals.map((v, c) => (alignRight[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join(' | ')}`.trimEnd();
  const out = [
    line(
      [...cols.names],
      cols.names.map(() => false),
    ),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
    ...Array.from({ length: n }, (_, r) =>
      line(
        cells.map((col) => col[r]!),
        right,
      ),
    ),
    `(${n} row${n === 1 ? '' : 's'})`,
  ];
  return `${out.join('\n')}\n`;
}

export async function writeQueryResult(out: Writable, cols: Columns, format: QueryFormat): Promise<void> {
  const n = cols.values[0]?.length ?? 0;
  if (format === 'arrow') return write(out, tableToIPC(toArrowTable(cols), 'stream'));
  if (format === 'table') return write(out, textTable(cols));
  if (format === 'csv') {
    await write(out, `${cols.names.map(csvCell).join(',')}\n`);
    for (let r = 0; r < n; r++)
      await write(
        out,
        `${cols.names.map((_, c) => csvCell(cellText(cols.values[c]![r]!, cols.types[c]!))).join(',')}\n`,
      );
    return;
  }
  for (let r = 0; r < n; r++)
    await write(
      out,
      `{${cols.names.map((name, c) => `${JSON.stringify(name)}:${jsonText(cols.values[c]![r]!, cols.types[c]!)}`).join(',')}}\n`,
    );
}
