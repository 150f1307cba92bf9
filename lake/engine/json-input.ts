/**
 * A JSON-lines file as the input of a write (`table append`), checked before DuckDB reads it: DuckDB's
 * reader renames keys no column can carry (`""` became `C5`, `A` next to `a` became `A_1`), reads an empty
 * file or a file of `{}` as a phantom `json` column, and reports malformed JSON with its own internal SQL.
 * Here every line is parsed once (values walked without recursion) and the input is refused, naming the
 * line and the key, before anything is written; empty input is told apart so the caller can write nothing.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { COLUMN_NAME_RULE, badColumnName, displayName } from '../delta/schema';
import { TributaryError } from '../errors';
import { sqlString } from './duckdb';

/** Deepest nesting of objects and arrays accepted in an appended line (DuckDB refuses ~190 levels). */
export const MAX_APPEND_NESTING_DEPTH = 128;

export interface JsonLinesInput {
  /** The DuckDB relation reading the file (compression by content, not by name). */
  relation: string;
  /** Lines holding a JSON object (blank lines are skipped, as DuckDB does). */
  rows: number;
  /** Of those, lines that are `{}`: no value at all. */
  emptyObjects: number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

async function isGzip(path: string): Promise<boolean> {
  const h = await fs.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await h.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === GZIP_MAGIC[0] && b[1] === GZIP_MAGIC[1];
  } finally {
    await h.close();
  }
}

const kindOf = (v: unknown) => (Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`);
const pathText = (p: readonly string[]) => {
  const shown = p.length > 6 ? [...p.slice(0, 3), `…${p.length - 5} more…`, ...p.slice(-2)] : p;
  return shown.map((s, i) => (p.length > 6 && i === 3 ? s : displayName(s))).join('.');
};

/** Reads and checks a JSON-lines file (gzip by its magic bytes); throws BAD_INPUT naming line and key. */
export async function jsonLinesInput(path: string, label = path): Promise<JsonLinesInput> {
  const gzip = await isGzip(path);
  let stream: Readable = createReadStream(path);
  if (gzip) stream = stream.pipe(createGunzip());
  const bad = (line: number, what: string) =>
    new TributaryError('BAD_INPUT', `input ${label} line ${line}: ${what}`);
  /** Per struct path, the spelling of each key by its lower case (column names are case-insensitive). */
  const spellings = new Map<string, { key: string; line: number }>();
  let rows = 0;
  let emptyObjects = 0;
  let n = 0;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      n++;
      const text = raw.trim();
      if (text === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        const why = (e as Error).message;
        throw bad(n, `not valid JSON (${why.length > 160 ? `${why.slice(0, 160)}…` : why})`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw bad(n, `expected a JSON object, found ${kindOf(value)}`);
      rows++;
      if (Object.keys(value).length === 0) emptyObjects++;
      // Iterative walk: objects at any depth (also inside arrays) name struct fields.
      const todo: { v: unknown; path: string[]; depth: number }[] = [{ v: value, path: [], depth: 1 }];
      while (todo.length) {
        const { v, path: at, depth } = todo.pop()!;
        if (depth > MAX_APPEND_NESTING_DEPTH)
          throw bad(
            n,
            `values nest deeper than ${MAX_APPEND_NESTING_DEPTH} levels${at.length ? ` (at ${pathText(at)})` : ''}`,
          );
        if (Array.isArray(v)) {
          for (const x of v)
            if (typeof x === 'object' && x !== null) todo.push({ v: x, path: at, depth: depth + 1 });
          continue;
        }
        const seen = new Map<string, string>();
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
          const where = at.length ? ` in ${pathText(at)}` : '';
          const why = badColumnName(k);
          if (why)
            throw bad(
              n,
              `key ${displayName(k)}${where} cannot be a column name (${why}; ${COLUMN_NAME_RULE})`,
            );
          const lower = k.toLowerCase();
          const twin = seen.get(lower);
          if (twin !== undefined)
            throw bad(
              n,
              `keys ${displayName(twin)} and ${displayName(k)}${where} differ only in case; column names are case-insensitive`,
            );
          seen.set(lower, k);
          const id = `${JSON.stringify(at)}\u0000${lower}`;
          const first = spellings.get(id);
          if (!first) spellings.set(id, { key: k, line: n });
          else if (first.key !== k)
            throw bad(
              n,
              `key ${displayName(k)}${where} differs only in case from key ${displayName(first.key)} on line ${first.line}; column names are case-insensitive`,
            );
          if (typeof x === 'object' && x !== null) todo.push({ v: x, path: [...at, k], depth: depth + 1 });
        }
      }
    }
  } catch (e) {
    if (e instanceof TributaryError) throw e;
    throw new TributaryError(
      'BAD_INPUT',
      `input ${label}: cannot be read${gzip ? ' as gzip' : ''} (${(e as Error).message})`,
    );
  } finally {
    lines.close();
    stream.destroy();
  }
  const compression = gzip ? `, compression = 'gzip'` : `, compression = 'uncompressed'`;
  return {
    relation: `read_json(${sqlString(path)}, format = 'newline_delimited'${compression})`,
    rows,
    emptyObjects,
  };
}
