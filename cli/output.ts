/**
 * Rows as the CLI writes them (`table read` and `query`): one rendering of DuckDB values for every command
 * and format — an aligned text table, CSV, JSON lines and Arrow IPC — written chunk by chunk as they arrive.
 *
 * JSON (lines, and nested values in CSV and the text table):
 * - integers of every width (BIGINT/long included) and DECIMALs are JSON numbers with all their digits, as
 *   DuckDB, Spark and delta-rs write them; beyond 2^53 parse them with a big-number-aware reader;
 *   FLOAT/DOUBLE are the shortest decimal that reads back as the same value; NaN and ±Infinity are strings;
 * - timestamps are ISO 8601 with six fractional digits: `2024-05-01T12:00:00.000000Z` for `timestamp`
 *   (TIMESTAMP WITH TIME ZONE, an instant in UTC), no `Z` for `timestamp_ntz`; dates `YYYY-MM-DD`;
 * - binary is base64, lists are arrays, structs objects, maps objects (VARCHAR keys) or `[{key, value}]`.
 *
 * The text table shows at most `maxTableRows` rows (default 1000) and says how many it left out; the other
 * formats hold one chunk at a time, whatever the result's size.
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
import { AsyncByteQueue, RecordBatchStreamWriter } from 'apache-arrow';
import { shortestFloat32 } from '../lake/engine/canonical';
import { type Columns, toArrowTable } from '../lake/query';

export type Format = 'table' | 'csv' | 'jsonl' | 'arrow';
export const QUERY_FORMATS: readonly Format[] = ['table', 'csv', 'jsonl', 'arrow'];
export const READ_FORMATS: readonly Format[] = ['jsonl', 'csv', 'arrow'];
/** Rows the text table shows at most. */
export const MAX_TABLE_ROWS = 1000;

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Microseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffff`, or undefined outside JS Date's range. */
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
  return `${base}.${String(frac).padStart(6, '0')}`;
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
  if (NUMERIC.has(t.typeId)) return numberText(v, t);
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

/** A number with all its digits; FLOAT as the shortest decimal that reads back as the same float32. */
function numberText(v: Exclude<DuckDBValue, null>, t: DuckDBType): string {
  if (t.typeId === DuckDBTypeId.FLOAT && typeof v === 'number') return String(shortestFloat32(v));
  return String(v);
}

/** A value as JSON text. */
export function jsonText(v: DuckDBValue, t: DuckDBType): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (NUMERIC.has(t.typeId)) {
    if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(String(v));
    return numberText(v, t);
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
  if (chunk.length === 0) return;
  if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
}

const MAX_CELL = 80;

function tableCell(v: DuckDBValue, t: DuckDBType): string {
  const s = cellText(v, t);
  const one = s === undefined ? 'NULL' : s.replace(/[\r\n\t]/g, ' ');
  return one.length > MAX_CELL ? `${one.slice(0, MAX_CELL - 1)}…` : one;
}

/** psql-style aligned table; long cells are cut at 80 characters, NULL is shown as NULL. */
function textTable(
  names: readonly string[],
  types: readonly DuckDBType[],
  rows: string[][],
  total: number,
): string {
  const widths = names.map((n) => n.length);
  for (const r of rows) r.forEach((s, c) => (widths[c] = Math.max(widths[c]!, s.length)));
  const right = types.map((t) => NUMERIC.has(t.typeId));
  const line = (vals: readonly string[], alignRight: boolean) =>
    ` ${vals.map((v, c) => (alignRight && right[c] ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join(' | ')}`.trimEnd();
  const plural = `${total} row${total === 1 ? '' : 's'}`;
  const footer =
    total > rows.length
      ? `(${plural}; the first ${rows.length} shown, ${total - rows.length} left out: --format csv, jsonl or arrow writes them all)`
      : `(${plural})`;
  return `${[line(names, false), widths.map((w) => '-'.repeat(w + 2)).join('+'), ...rows.map((r) => line(r, true)), footer].join('\n')}\n`;
}

/** Collects what the Arrow IPC writer emits, so each chunk is written out (with backpressure) as it is made. */
class Collected extends AsyncByteQueue {
  parts: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.parts.push(value);
  }
  take(): Uint8Array {
    const all = Buffer.concat(this.parts);
    this.parts = [];
    return all;
  }
}

export interface ResultWriter {
  /** Writes a chunk of rows (the first one also names the columns). */
  write(chunk: Columns): Promise<void>;
  /** Writes what is left (the text table, the Arrow end-of-stream). */
  end(): Promise<void>;
}

/** A writer of result chunks in one format onto `out`. */
export function resultWriter(
  out: Writable,
  format: Format,
  opts: { maxTableRows?: number } = {},
): ResultWriter {
  let head: Pick<Columns, 'names' | 'types'> | undefined;
  const rowsOf = (c: Columns) => c.values[0]?.length ?? 0;
  if (format === 'table') {
    const max = opts.maxTableRows ?? MAX_TABLE_ROWS;
    const shown: string[][] = [];
    let total = 0;
    return {
      async write(c) {
        head ??= c;
        const n = rowsOf(c);
        for (let r = 0; r < n && shown.length < max; r++)
          shown.push(c.names.map((_, i) => tableCell(c.values[i]![r]!, c.types[i]!)));
        total += n;
      },
      async end() {
        if (head) await write(out, textTable(head.names, head.types, shown, total));
      },
    };
  }
  if (format === 'arrow') {
    const sink = new Collected();
    const ipc = new RecordBatchStreamWriter();
    ipc.reset(sink);
    return {
      async write(c) {
        if (head && rowsOf(c) === 0) return;
        head = c;
        for (const batch of toArrowTable(c).batches) ipc.write(batch);
        await write(out, sink.take());
      },
      async end() {
        ipc.finish();
        await write(out, sink.take());
      },
    };
  }
  return {
    async write(c) {
      let text = '';
      if (!head && format === 'csv') text += `${c.names.map(csvCell).join(',')}\n`;
      head ??= c;
      const n = rowsOf(c);
      for (let r = 0; r < n; r++)
        text +=
          format === 'csv'
            ? `${c.names.map((_, i) => csvCell(cellText(c.values[i]![r]!, c.types[i]!))).join(',')}\n`
            : `{${c.names.map((name, i) => `${JSON.stringify(name)}:${jsonText(c.values[i]![r]!, c.types[i]!)}`).join(',')}}\n`;
      await write(out, text);
    },
    async end() {},
  };
}
