/** Rows as a JSON-lines file in a private temp directory, named as the DuckDB relation that reads it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { sqlString } from '../../lake/engine/duckdb';

let dir: string | undefined;
let n = 0;
export function jsonlRelation(rows: readonly object[]): string {
  dir ??= mkdtempSync(path.join(tmpdir(), 'tributary-jsonl-'));
  const f = path.join(dir, `in-${n++}.jsonl`);
  writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return `read_json(${sqlString(f)}, format = 'newline_delimited')`;
}
