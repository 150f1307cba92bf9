/**
 * The SQL half of conforming. A staged line whose JSON shape (DuckDB's `json_structure`) fits the batch
 * schema with nothing to rescue and nothing to add is typed by DuckDB itself (`json_transform`), straight
 * from the raw text; every other line goes through the JS Conformer (conform.ts), which stays the reference
 * semantics. The SQL side is conservative: a shape or value it cannot vouch for is left to JS.
 *
 * What "fits" means here is what Conformer.conform would keep unchanged: a string for a string column, an
 * integer literal within range for an integer column, a number (|x| < 2^53, so JS would not have read it as
 * a bigint) for a double, an ISO-8601 text that both JS and DuckDB read as an instant for a timestamp, and
 * objects whose keys are all fields of the struct (recursively). Value conditions (ranges, formats) are
 * checked per row: a row failing one is left out of the SQL rows (the caller counts them and hands them to JS).
 */
import { type DataType, type StructType, isArray, isStruct } from '../../lake/delta/schema';
import { sqlIdent, sqlString } from '../../lake/engine/duckdb';
import { duckType } from '../../lake/engine/types';
import { STAGED_HEAD, STAGED_HEAD_CHARS } from './staging';

/** A `json_structure` value: a type name, an object's fields, or a list's element shape. */
export type Shape = string | Shape[] | { [k: string]: Shape };

const INTEGER_RANGE: Record<string, [string, string]> = {
  long: ['-9223372036854775808', '9223372036854775807'],
  integer: ['-2147483648', '2147483647'],
  short: ['-32768', '32767'],
  byte: ['-128', '127'],
};
/** Timestamps with an offset V8's Date.parse also reads (hh:mm or hhmm, hours below 24). */
const TS_RE = String.raw`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]([01]\d|2[0-3]):?\d{2})`;
const DATE_RE = String.raw`\d{4}-\d{2}-\d{2}`;

/** Types whose transformed value needs no per-row check and already has the column's DuckDB type. */
function plain(t: DataType): boolean {
  if (t === 'string' || t === 'boolean') return true;
  if (typeof t === 'string') return false;
  if (isStruct(t)) return t.fields.every((f) => plain(f.type));
  if (isArray(t)) return plain(t.elementType);
  return false;
}

/** Whether every value of this shape fits `t` as the Conformer would keep it (value checks aside). */
export function shapeFits(shape: Shape, t: DataType): boolean {
  if (shape === 'NULL') return true;
  if (spec(t) === undefined) return false;
  if (typeof t === 'string') {
    if (typeof shape !== 'string') return false;
    switch (t) {
      case 'string':
      case 'timestamp':
      case 'date':
        return shape === 'VARCHAR';
      case 'boolean':
        return shape === 'BOOLEAN';
      case 'long':
      case 'integer':
      case 'short':
      case 'byte':
        return shape === 'BIGINT' || shape === 'UBIGINT';
      case 'double':
        return shape === 'DOUBLE' || shape === 'BIGINT' || shape === 'UBIGINT';
      default:
        return false;
    }
  }
  if (isStruct(t)) {
    if (typeof shape !== 'object' || Array.isArray(shape)) return false;
    return Object.entries(shape).every(([k, s]) => {
      const f = t.fields.find((x) => x.name === k);
      return f !== undefined && shapeFits(s, f.type);
    });
  }
  if (isArray(t))
    return (
      Array.isArray(shape) &&
      shape.length === 1 &&
      plain(t.elementType) &&
      shapeFits(shape[0]!, t.elementType)
    );
  return false;
}

/** The json_transform type to extract `t` with, or undefined when SQL never keeps a value of `t`. */
function spec(t: DataType): unknown {
  if (typeof t === 'string') {
    if (t === 'string' || t === 'timestamp' || t === 'date') return 'VARCHAR';
    if (t === 'boolean') return 'BOOLEAN';
    if (t in INTEGER_RANGE) return 'HUGEINT';
    if (t === 'double') return 'DOUBLE';
    return undefined;
  }
  if (isStruct(t)) {
    const o: Record<string, unknown> = {};
    for (const f of t.fields) {
      const s = spec(f.type);
      if (s !== undefined) o[f.name] = s;
    }
    return Object.keys(o).length ? o : undefined; // json_transform takes no empty object
  }
  if (isArray(t) && plain(t.elementType)) {
    const e = spec(t.elementType);
    return e === undefined ? undefined : [e];
  }
  return undefined;
}

/** SQL for the column value of transformed `x` of type `t`; pushes the row conditions it relies on. */
function typed(x: string, t: DataType, checks: string[]): string {
  if (spec(t) === undefined) return `CAST(NULL AS ${duckType(t)})`;
  if (typeof t === 'string') {
    const range = INTEGER_RANGE[t];
    if (range) {
      checks.push(`(${x} IS NULL OR ${x} BETWEEN ${range[0]} AND ${range[1]})`);
      return `TRY_CAST(${x} AS ${duckType(t)})`;
    }
    if (t === 'double') {
      checks.push(`(${x} IS NULL OR abs(${x}) < 9007199254740991)`);
      return x;
    }
    if (t === 'timestamp' || t === 'date') {
      // The value needs no format test of its own: rows failing it are left out by the row condition.
      const v = `TRY_CAST(${x} AS ${duckType(t)})`;
      checks.push(
        `(${x} IS NULL OR (regexp_full_match(${x}, ${sqlString(t === 'date' ? DATE_RE : TS_RE)}) AND ${v} IS NOT NULL))`,
      );
      return v;
    }
    return x;
  }
  if (isStruct(t)) {
    const fields = t.fields.map(
      (f) => `${sqlIdent(f.name)} := ${typed(`${x}.${sqlIdent(f.name)}`, f.type, checks)}`,
    );
    return `CASE WHEN ${x} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
  }
  return `CAST(${x} AS ${duckType(t)})`;
}

/** read_json's maximum_object_size for staged lines and JS rows of lines up to maxLineBytes. */
export const maxObjectSize = (maxLineBytes: number): number => Math.max(16 << 20, maxLineBytes * 4);

/** DuckDB type of a json_transform structure (`spec`), for read_json's `columns`. */
function specType(s: unknown): string {
  if (typeof s === 'string') return s;
  if (Array.isArray(s)) return `${specType(s[0])}[]`;
  return `STRUCT(${Object.entries(s as Record<string, unknown>)
    .map(([k, v]) => `${sqlIdent(k)} ${specType(v)}`)
    .join(', ')})`;
}

/**
 * Staged lines read by DuckDB's JSON reader, each line's record typed on the way in as `v` (one parse, no
 * json_transform): columns f, n, o, v. The whole read fails on a line that is not valid JSON inside a string
 * (the skeleton scanner does not look inside strings); the caller then falls back to `stagedText`.
 */
export function stagedJson(paths: readonly string[], schema: StructType, maxLineBytes: number): string {
  const columns = `{f: 'INTEGER', n: 'BIGINT', o: 'BIGINT', v: ${sqlString(specType(spec(schema)))}}`;
  return (
    `read_json([${paths.map(sqlString).join(', ')}], format = 'newline_delimited', columns = ${columns}, ` +
    `maximum_object_size = ${maxObjectSize(maxLineBytes)})`
  );
}

/** The same staged lines as text: columns f, n, o and j (the raw line), for typing line by line with try(). */
export function stagedText(paths: readonly string[], maxLineBytes: number): string {
  const lines =
    `read_csv([${paths.map(sqlString).join(', ')}], columns = {'s': 'VARCHAR'}, delim = ${sqlString('\x01')}, ` +
    `quote = '', escape = '', header = false, auto_detect = false, max_line_size = ${maxLineBytes + 128})`;
  const head = `regexp_extract(s, ${sqlString(STAGED_HEAD.source)}, ['f', 'n', 'o'])`;
  return (
    `(SELECT CAST(h.f AS INTEGER) AS f, CAST(h.n AS BIGINT) AS n, CAST(h.o AS BIGINT) AS o, ` +
    `s[length(h.f) + length(h.n) + length(h.o) + ${STAGED_HEAD_CHARS + 1} : -2] AS j FROM (SELECT s, ${head} AS h FROM ${lines}))`
  );
}

/**
 * The SQL that types staged lines with `schema`: its user columns, in order, and the row conditions;
 * undefined when no column can be taken from SQL (then every line goes through JS).
 */
export function sqlConform(
  schema: StructType,
): { transform: string; columns: string[]; ok: string } | undefined {
  if (spec(schema) === undefined) return undefined;
  const checks: string[] = [];
  const columns = schema.fields.map(
    (f) => `${typed(`v.${sqlIdent(f.name)}`, f.type, checks)} AS ${sqlIdent(f.name)}`,
  );
  return {
    // try(): the optimizer may type a line before the anti-join drops it (when it is not JSON).
    transform: `try(json_transform(j, ${sqlString(JSON.stringify(spec(schema)))}))`,
    columns,
    ok: ['v IS NOT NULL', ...checks].join(' AND '),
  };
}

/**
 * Staged text lines (stagedText) with `v` their typed value (`transform` of j). The one-element unnest keeps
 * the optimizer from pushing conditions on `v` below it, which would inline the transform (a JSON parse)
 * once per reference.
 */
export const typedLines = (staged: string, transform: string, keep: string[] = []): string =>
  `(SELECT f, n, ${keep.map((k) => `${k}, `).join('')}unnest([${transform}]) AS v FROM ${staged})`;
