/**
 * Decides which staged lines DuckDB types by itself (sql-conform.ts) and which go through the JS
 * Conformer, so that the result is exactly what conforming every line in order would give.
 *
 * The Conformer only changes the schema at the first non-null occurrence of a field, so every change
 * happens on the first line of some shape (a `json_structure` class). Lines that go through JS are:
 * the first line of every shape, every line DuckDB does not read as strict JSON, every line of a shape
 * that does not fit the final schema, and (found later, see batch.ts) lines failing a value check.
 * Fed to the Conformer in line order (`g`), they see the same schema the full sequential run would, and
 * every other line fits that schema with nothing to rescue, so DuckDB can type it alone.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import type { StructType } from '../../lake/delta/schema';
import { sqlString } from '../../lake/engine/duckdb';
import { Conformer } from './conform';
import { parseRecord } from './decode';
import { type Shape, laxJson, shapeFits } from './sql-conform';

/** One line for the JS path: global line id g (file index · 2^32 + line number), byte offset, raw bytes. */
export interface JsLine {
  g: number;
  o: number;
  raw: Buffer;
}

export interface Routing {
  /** Table (in the shared in-memory database) of the g of every staged line that goes through JS. */
  table: string;
  /** Those lines, in g order. */
  lines: JsLine[];
  /** Staged lines DuckDB types by itself. */
  sqlLines: number;
  /** The user schema after the whole batch (what the Conformer ends with). */
  schema: StructType;
}

const rowsOf = async (c: DuckDBConnection, sql: string): Promise<JsLine[]> =>
  (await c.runAndReadAll(sql))
    .getRows()
    .map(([g, o, j]) => ({ g: Number(g), o: Number(o), raw: Buffer.from(j as string, 'utf8') }));

const byG = (a: JsLine, b: JsLine) => a.g - b.g;

/**
 * The line's json_structure, NULL when it is not strict JSON: try() turns DuckDB's parse error into NULL
 * (one parse, no separate json_valid), and a CASE (never reordered, unlike filters) leaves out what
 * DuckDB accepts and JSON.parse does not.
 */
const shapeOf = (j: string) => `CASE WHEN NOT ${laxJson(j)} THEN try(json_structure(${j})) END`;

/** Lines of one JSON shape (null: not strict JSON): the first line's g and the count. */
export interface ShapeClass {
  s: string | null;
  first: number;
  n: number;
}

/** The shape classes of the lines of `staged` (one pass: a JSON parse per line). */
export async function shapeClasses(c: DuckDBConnection, staged: string): Promise<ShapeClass[]> {
  const rows = (
    await c.runAndReadAll(
      `SELECT s, min(g) AS first, count(*) AS n FROM (SELECT g, ${shapeOf('j')} AS s FROM ${staged}) GROUP BY s`,
    )
  ).getRowObjectsJS() as { s: string | null; first: bigint; n: bigint }[];
  return rows.map((r) => ({ s: r.s, first: Number(r.first), n: Number(r.n) }));
}

/** The classes of several parts of the staged lines (e.g. one per file), as one. */
export function mergeClasses(parts: readonly ShapeClass[][]): ShapeClass[] {
  const by = new Map<string | null, ShapeClass>();
  for (const k of parts.flat()) {
    const m = by.get(k.s);
    if (!m) by.set(k.s, { ...k });
    else {
      m.first = Math.min(m.first, k.first);
      m.n += k.n;
    }
  }
  return [...by.values()];
}

/**
 * Routes the lines of `staged` (a read_csv relation of g, o, j) given their shape classes, the lines
 * that never reached the staging file (`direct`, JS only) and the schema before the batch.
 */
export async function routeLines(
  c: DuckDBConnection,
  staged: string,
  classes: readonly ShapeClass[],
  direct: readonly JsLine[],
  base: StructType,
  reserved: ReadonlySet<string>,
): Promise<Routing> {
  const total = classes.reduce((n, k) => n + k.n, 0);
  const shaped = classes.filter((k) => k.s !== null);
  const lax = classes.some((k) => k.s === null);
  const table = `__tributary_js_${randomUUID().replace(/-/g, '')}`;
  const firsts = shaped.map((k) => String(k.first));
  await c.run(
    `CREATE TABLE ${table} AS SELECT g, o, j FROM ${staged} WHERE ` +
      [
        firsts.length ? `g IN (${firsts.join(', ')})` : 'false',
        ...(lax ? [`${shapeOf('j')} IS NULL`] : []),
      ].join(' OR '),
  );
  // The schema the batch ends with: the Conformer over every line that can change it, in order.
  const probe = new Conformer(base, reserved);
  const early = [...(await rowsOf(c, `SELECT g, o, j FROM ${table}`)), ...direct].sort(byG);
  for (const l of early) {
    const p = parseRecord(l.raw);
    if ('value' in p) probe.conform(p.value);
  }
  const dirty = shaped.filter((k) => {
    if (k.n === 1) return false; // its only line is a first line, already routed
    const shape = JSON.parse(k.s!) as Shape;
    const isObject = typeof shape === 'object' && !Array.isArray(shape);
    return !isObject || !shapeFits(shape, probe.schema);
  });
  if (dirty.length)
    await c.run(
      `INSERT INTO ${table} SELECT g, o, j FROM ${staged} WHERE ${shapeOf('j')} ` +
        `IN (${dirty.map((k) => sqlString(k.s!)).join(', ')}) AND g NOT IN (${firsts.join(', ')})`,
    );
  const lines = [...(await rowsOf(c, `SELECT g, o, j FROM ${table}`)), ...direct].sort(byG);
  const stagedJs = lines.length - direct.length;
  return { table, lines, sqlLines: total - stagedJs, schema: probe.schema };
}

/**
 * The staged lines not routed to JS, with `v` their typed value (`transform` of j). The one-element
 * unnest keeps the optimizer from pushing conditions on `v` below it, which would inline the transform
 * (a JSON parse) once per reference.
 */
export const typedLines = (staged: string, table: string, transform: string, keep: string[] = []): string =>
  `(SELECT g, ${keep.map((k) => `${k}, `).join('')}unnest([${transform}]) AS v FROM ${staged} WHERE g NOT IN (SELECT g FROM ${table}))`;

/** Staged lines (not yet routed to JS) failing a value check of `ok`; they are added to the JS table. */
export async function rerouteFailing(
  c: DuckDBConnection,
  staged: string,
  table: string,
  transform: string,
  ok: string,
): Promise<JsLine[]> {
  const failing = `SELECT g, o, j FROM ${typedLines(staged, table, transform, ['o', 'j'])} WHERE (${ok}) IS NOT TRUE`;
  const lines = await rowsOf(c, failing);
  if (lines.length) await c.run(`INSERT INTO ${table} SELECT g, o, j FROM (${failing})`);
  return lines.sort(byG);
}
