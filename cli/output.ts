/** Row output formats: canonical JSON lines, CSV, Arrow IPC stream. */
import { type Writable } from 'node:stream';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { StructType } from '../lake/delta/schema';
import { sortLines } from '../lake/engine/canonical';

export type Format = 'jsonl' | 'csv' | 'arrow';

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function write(out: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
}

/** Writes rows (canonical values, see lake/engine/canonical.ts). JSON lines are sorted like the conformance corpus. */
export async function writeRows(
  out: Writable,
  rows: Record<string, unknown>[],
  schema: StructType,
  format: Format,
): Promise<void> {
  const names = schema.fields.map((f) => f.name);
  if (format === 'jsonl') {
    for (const line of sortLines(rows.map((r) => JSON.stringify(r)))) await write(out, `${line}\n`);
  } else if (format === 'csv') {
    await write(out, `${names.map(csvCell).join(',')}\n`);
    for (const r of rows) await write(out, `${names.map((n) => csvCell(r[n])).join(',')}\n`);
  } else {
    // Columns as their canonical values: numbers stay numbers, exact-width values (longs, decimals, instants)
    // travel as strings, nested values as JSON text.
    const cols: Record<string, unknown[]> = {};
    for (const f of schema.fields) {
      const vals = rows.map((r) => r[f.name] ?? null);
      const simple =
        typeof f.type === 'string' &&
        ['integer', 'short', 'byte', 'double', 'float', 'boolean'].includes(f.type);
      cols[f.name] = simple
        ? vals
        : vals.map((v) => (v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)));
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await write(out, tableToIPC(tableFromArrays(cols as any), 'stream'));
  }
}
