/** Shared pieces of the clone tests: input rows as JSON-lines relations, and row sets of a table version. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lake/delta/snapshot';
import { sqlString } from '../../lake/engine/duckdb';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { defaultEngine } from '../../lake/table/operations';
import { rowSet } from '../interop/deltars';

const dir = mkdtempSync(path.join(tmpdir(), 'tributary-clone-'));
let n = 0;

/** A DuckDB relation over the rows, written to a fresh local JSON-lines file. */
export function jsonl(rows: object[]): string {
  const f = path.join(dir, `in-${process.pid}-${n++}.jsonl`);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return `read_json(${sqlString(f)}, format = 'newline_delimited')`;
}

export const rows = (from: number, count: number, extra?: (id: number) => object) =>
  Array.from({ length: count }, (_, i) => ({
    id: from + i,
    part: `p${(from + i) % 3}`,
    msg: `m${from + i}`,
    ...(extra ? extra(from + i) : {}),
  }));

/** The table's rows at a version (default latest), read by Tributary, as a sorted set of canonical lines. */
export async function tableRows(s: ObjectStore, version?: number): Promise<string[]> {
  const snap = await Snapshot.load(s, defaultEngine, version === undefined ? {} : { version });
  return rowSet(await scanRows(s, snap));
}
