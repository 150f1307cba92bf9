/**
 * What a user query reads, from DuckDB's own parser (json_serialize_sql), never from regexes over the text:
 *
 * - the statement kind: exactly one SELECT (WITH, FROM-first, VALUES, DESCRIBE and SUMMARIZE are SELECTs);
 * - every table reference, with schema and table names unquoted and case-folded as DuckDB binds them;
 * - for file skipping, the WHERE clause under which each reference is read.
 *
 * A reference is read "under" a WHERE clause only when it is the sole FROM item of a SELECT (no join, no
 * SAMPLE, which DuckDB applies before WHERE): only then can rows failing the WHERE never reach the result.
 * The conjuncts of such a WHERE that we can express in the predicate language (lake/predicate) become a
 * file-skipping predicate; anything else is dropped, which can only skip fewer files.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TributaryError } from '../errors';
import type { StructField } from '../delta/schema';
import { decimalOf } from '../delta/schema';
import type { CmpOp, Expr, LiteralExpr, Operand } from '../predicate';
import { checkDate, checkTimestamp, parseIsoMicros } from '../predicate/datetime';
import { likePatternError } from '../predicate/like';

/** A node of DuckDB's serialized parse tree (only the fields we read are typed). */
type Node = { [k: string]: unknown };

/** One occurrence of a schema-qualified table name in the query. */
export interface TableUse {
  /** `schema.table`, lower-cased (DuckDB identifiers are case-insensitive). */
  name: string;
  /** The WHERE clause (parse tree) this occurrence is filtered by, when pruning may use it. */
  where?: Node;
  /** Names by which columns of this occurrence may be qualified: the alias, else table and schema.table. */
  qualifiers: string[][];
}

export interface Analysis {
  uses: TableUse[];
}

const LEADING_WORD = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;

/** The first keyword of the statement, for messages ("DELETE statements are not allowed"). */
function leadingKeyword(sql: string): string {
  return (LEADING_WORD.exec(sql)?.[1] ?? '').toUpperCase();
}

const notAllowed = (sql: string) => {
  const kw = leadingKeyword(sql);
  return new TributaryError(
    'BAD_INPUT',
    `only SELECT queries are allowed (SELECT, WITH, FROM, VALUES, DESCRIBE, SUMMARIZE)${kw ? `, not ${kw}` : ''}`,
  );
};

/** Parses `sql` with DuckDB and returns its table references; rejects anything but one SELECT. */
export async function analyzeSql(c: DuckDBConnection, sql: string): Promise<Analysis> {
  if (typeof sql !== 'string' || sql.trim() === '')
    throw new TributaryError('BAD_INPUT', 'the query is empty');
  if (sql.includes('\0')) throw new TributaryError('BAD_INPUT', 'the query contains a NUL character');
  const r = await c.runAndReadAll(`SELECT json_serialize_sql($1::VARCHAR) AS j`, [sql]);
  const parsed = JSON.parse(String(r.getRowObjectsJS()[0]!.j)) as {
    error: boolean;
    error_type?: string;
    error_message?: string;
    position?: string;
    statements?: { node: Node }[];
  };
  if (parsed.error) {
    if (parsed.error_type === 'parser') {
      const at = parsed.position !== undefined ? ` at position ${Number(parsed.position) + 1}` : '';
      throw new TributaryError('BAD_INPUT', `SQL syntax error${at}: ${parsed.error_message}`);
    }
    throw notAllowed(sql);
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1)
    throw new TributaryError('BAD_INPUT', `expected exactly one SQL statement, got ${statements.length}`);
  return { uses: tableUses(statements[0]!.node) };
}

const isNode = (x: unknown): x is Node => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');

function tableUses(root: Node): TableUse[] {
  const ctes = new Set<string>();
  const refs: { ref: Node; owner?: Node }[] = [];
  const owners = new Map<Node, Node>();
  const walk = (x: unknown, depth: number): void => {
    if (depth > 3_000) throw new TributaryError('BAD_INPUT', 'the query nests too deeply');
    if (Array.isArray(x)) {
      for (const y of x) walk(y, depth + 1);
      return;
    }
    if (!isNode(x)) return;
    if (x.type === 'SELECT_NODE' && isNode(x.from_table)) owners.set(x.from_table, x);
    if (isNode(x.cte_map) && Array.isArray(x.cte_map.map))
      for (const e of x.cte_map.map) if (isNode(e)) ctes.add(str(e.key).toLowerCase());
    if (x.type === 'BASE_TABLE') refs.push({ ref: x, owner: owners.get(x) });
    for (const v of Object.values(x)) walk(v, depth + 1);
  };
  walk(root, 0);

  const uses: TableUse[] = [];
  for (const { ref, owner } of refs) {
    const table = str(ref.table_name);
    const schema = str(ref.schema_name);
    const catalog = str(ref.catalog_name);
    if (ref.at_clause)
      throw new TributaryError(
        'BAD_INPUT',
        `AT (…) time travel in SQL is not supported; use --as-of-version / --as-of-timestamp (asOf)`,
      );
    if (catalog)
      throw new TributaryError(
        'BAD_INPUT',
        `three-part table names are not supported: ${catalog}.${schema}.${table}; write schema.table`,
      );
    if (!schema) {
      if (ctes.has(table.toLowerCase())) continue;
      throw new UnknownTableError(table);
    }
    const name = `${schema}.${table}`.toLowerCase();
    const alias = str(ref.alias).toLowerCase();
    const qualifiers = alias
      ? [[alias]]
      : [[table.toLowerCase()], [schema.toLowerCase(), table.toLowerCase()]];
    // Column aliases (`FROM t AS x(a, b)`) rename columns: the WHERE's names are then not the table's.
    const renamed = Array.isArray(ref.column_name_alias) && ref.column_name_alias.length > 0;
    const filtered =
      owner !== undefined &&
      owner.sample == null &&
      ref.sample == null &&
      !renamed &&
      isNode(owner.where_clause);
    uses.push({ name, qualifiers, where: filtered ? (owner.where_clause as Node) : undefined });
  }
  return uses;
}

/** A table name the catalog does not know; the caller adds the list of known names. */
export class UnknownTableError extends Error {
  constructor(readonly table: string) {
    super(`unknown table ${table}`);
  }
}

// ---- WHERE → predicate ----------------------------------------------------------------------------

const CMP: Record<string, CmpOp> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '<>',
  COMPARE_LESSTHAN: '<',
  COMPARE_GREATERTHAN: '>',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHANOREQUALTO: '>=',
};

type Family = 'num' | 'str' | 'bool' | 'date' | 'ts' | 'tsntz';

/** Columns the predicate may name: top-level, primitive, of a type whose comparisons it models exactly. */
function familyOf(f: StructField): Family | undefined {
  const t = f.type;
  if (typeof t !== 'string') return undefined;
  if (['byte', 'short', 'integer', 'long', 'float', 'double'].includes(t) || decimalOf(t)) return 'num';
  if (t === 'string') return 'str';
  if (t === 'boolean') return 'bool';
  if (t === 'date') return 'date';
  if (t === 'timestamp') return 'ts';
  if (t === 'timestamp_ntz') return 'tsntz';
  return undefined;
}

/** Literal kinds a column family can be compared with, keeping DuckDB's and the evaluator's semantics equal. */
function compatible(f: Family, lit: LiteralExpr): boolean {
  if (lit.type === 'null') return true;
  switch (f) {
    case 'num':
      return lit.type === 'int' || lit.type === 'decimal' || lit.type === 'float';
    case 'str':
      return lit.type === 'string';
    case 'bool':
      return lit.type === 'bool';
    case 'date':
    case 'ts':
    case 'tsntz':
      return lit.type === 'date' || lit.type === 'timestamp' || lit.type === 'string';
  }
}

type Bound = { kind: 'column'; path: string[]; family: Family } | LiteralExpr;

/**
 * Translates a WHERE clause into a predicate that holds for every row the WHERE keeps (it may hold for
 * more): conjuncts we cannot translate are dropped. Undefined when nothing is left.
 */
export function wherePredicate(
  where: Node | undefined,
  qualifiers: readonly string[][],
  fields: readonly StructField[],
): Expr | undefined {
  if (!where) return undefined;
  const byName = new Map<string, StructField | null>();
  for (const f of fields) {
    const k = f.name.toLowerCase();
    byName.set(k, byName.has(k) ? null : f); // null: ambiguous by case, never used
  }

  const column = (n: Node): Bound | undefined => {
    const names = Array.isArray(n.column_names) ? n.column_names.map((x) => String(x).toLowerCase()) : [];
    if (names.length === 0) return undefined;
    const prefix = names.slice(0, -1);
    if (
      prefix.length &&
      !qualifiers.some((q) => q.length === prefix.length && q.every((p, i) => p === prefix[i]))
    )
      return undefined;
    const f = byName.get(names[names.length - 1]!);
    const family = f ? familyOf(f) : undefined;
    return f && family ? { kind: 'column', path: [f.name], family } : undefined;
  };

  const operand = (n: unknown): Bound | undefined => {
    if (!isNode(n)) return undefined;
    if (n.type === 'COLUMN_REF') return column(n);
    return literal(n);
  };

  /** Both sides typed compatibly: one column and a literal of its family, or two columns of one family. */
  const pair = (a: Bound, b: Bound): boolean => {
    if (a.kind === 'column' && b.kind === 'column') return a.family === b.family;
    if (a.kind === 'column' && b.kind === 'literal') return compatible(a.family, b);
    if (a.kind === 'literal' && b.kind === 'column') return compatible(b.family, a);
    return false;
  };
  const op = (b: Bound): Operand => (b.kind === 'column' ? { kind: 'column', path: b.path } : b);

  const translate = (n: unknown, positive: boolean, depth: number): Expr | undefined => {
    if (!isNode(n) || depth > 200) return undefined;
    const type = str(n.type);
    if (type === 'CONJUNCTION_AND' || type === 'CONJUNCTION_OR') {
      const kids = Array.isArray(n.children) ? n.children : [];
      const args = kids.map((k) => translate(k, positive, depth + 1));
      const known = args.filter((a): a is Expr => a !== undefined);
      // Dropping a conjunct widens an AND; anywhere else (OR, under NOT) it could narrow the predicate.
      if (known.length !== args.length && !(type === 'CONJUNCTION_AND' && positive)) return undefined;
      if (known.length === 0) return undefined;
      if (known.length === 1) return known[0];
      return { kind: type === 'CONJUNCTION_AND' ? 'and' : 'or', args: known };
    }
    if (type === 'OPERATOR_NOT') {
      const kids = Array.isArray(n.children) ? n.children : [];
      if (kids.length !== 1) return undefined;
      const arg = translate(kids[0], !positive, depth + 1);
      return arg && { kind: 'not', arg };
    }
    if (type in CMP) {
      const l = operand(n.left);
      const r = operand(n.right);
      if (!l || !r || !pair(l, r)) return undefined;
      return { kind: 'cmp', op: CMP[type]!, left: op(l), right: op(r) };
    }
    if (type === 'COMPARE_IN' || type === 'COMPARE_NOT_IN') {
      const kids = Array.isArray(n.children) ? n.children : [];
      const [arg, ...list] = kids.map(operand);
      if (!arg || arg.kind !== 'column' || list.length === 0) return undefined;
      if (list.some((x) => !x || !pair(arg, x))) return undefined;
      return { kind: 'in', negated: type === 'COMPARE_NOT_IN', arg: op(arg), list: list.map((x) => op(x!)) };
    }
    if (type === 'COMPARE_BETWEEN') {
      const arg = operand(n.input);
      const low = operand(n.lower);
      const high = operand(n.upper);
      if (!arg || !low || !high || arg.kind !== 'column' || !pair(arg, low) || !pair(arg, high))
        return undefined;
      return { kind: 'between', negated: false, arg: op(arg), low: op(low), high: op(high) };
    }
    if (type === 'OPERATOR_IS_NULL' || type === 'OPERATOR_IS_NOT_NULL') {
      const kids = Array.isArray(n.children) ? n.children : [];
      const arg = kids.length === 1 ? operand(kids[0]) : undefined;
      if (!arg || arg.kind !== 'column') return undefined;
      return { kind: 'isNull', negated: type === 'OPERATOR_IS_NOT_NULL', arg: op(arg) };
    }
    if (type === 'FUNCTION' && (n.function_name === '~~' || n.function_name === '!~~')) {
      // LIKE without ESCAPE: DuckDB has no escape character, the predicate language uses '\', so
      // patterns holding a backslash are left out.
      const kids = Array.isArray(n.children) ? n.children : [];
      const arg = kids.length === 2 ? operand(kids[0]) : undefined;
      const pat = kids.length === 2 ? operand(kids[1]) : undefined;
      if (!arg || arg.kind !== 'column' || arg.family !== 'str') return undefined;
      if (!pat || pat.kind !== 'literal' || pat.type !== 'string') return undefined;
      if (pat.value.includes('\\') || likePatternError(pat.value)) return undefined;
      return { kind: 'like', negated: n.function_name === '!~~', arg: op(arg), pattern: pat.value };
    }
    if (type === 'COLUMN_REF') {
      const c = column(n);
      return c && c.kind === 'column' && c.family === 'bool' ? { kind: 'column', path: c.path } : undefined;
    }
    return undefined;
  };
  return translate(where, true, 0);
}

/** Microseconds since the epoch as `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), or undefined outside years 1..9999. */
function utcText(micros: bigint): string | undefined {
  let frac = micros % 1_000_000n;
  if (frac < 0n) frac += 1_000_000n;
  const d = new Date(Number((micros - frac) / 1000n));
  const y = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || y < 1 || y > 9999) return undefined;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${String(frac).padStart(6, '0')}`;
}

/** A constant of the parse tree as a predicate literal, exactly, or undefined. */
function literal(n: Node): LiteralExpr | undefined {
  if (n.type === 'OPERATOR_CAST') {
    if (n.try_cast) return undefined;
    const child = isNode(n.child) ? literal(n.child) : undefined;
    const to = isNode(n.cast_type) ? str(n.cast_type.id) : '';
    if (!child || child.type !== 'string') return undefined;
    if (to === 'DATE') {
      const c = checkDate(child.value);
      return c.ok ? { kind: 'literal', type: 'date', value: c.canonical } : undefined;
    }
    if (to === 'TIMESTAMP') {
      const c = checkTimestamp(child.value);
      return c.ok ? { kind: 'literal', type: 'timestamp', value: c.canonical } : undefined;
    }
    if (to === 'TIMESTAMP WITH TIME ZONE') {
      // An instant; the sandbox's session time zone is UTC, so it equals the UTC wall-clock TIMESTAMP
      // wherever it meets a date or timestamp column (and compatible() keeps it away from other columns).
      const m = /\.(\d+)/.exec(child.value);
      if (m && m[1]!.length > 6) return undefined;
      const micros = parseIsoMicros(child.value);
      const text = micros === undefined ? undefined : utcText(micros);
      const c = text === undefined ? undefined : checkTimestamp(text);
      return c?.ok ? { kind: 'literal', type: 'timestamp', value: c.canonical } : undefined;
    }
    if (to === 'BOOLEAN') {
      // TRUE and FALSE are parsed as CAST('t' AS BOOLEAN) and CAST('f' AS BOOLEAN).
      if (child.value === 't' || child.value === 'f')
        return { kind: 'literal', type: 'bool', value: child.value === 't' };
    }
    return undefined;
  }
  if (n.type !== 'VALUE_CONSTANT' || !isNode(n.value)) return undefined;
  const v = n.value;
  const t = isNode(v.type) ? str(v.type.id) : '';
  if (v.is_null === true) return t === 'NULL' ? { kind: 'literal', type: 'null', value: null } : undefined;
  const raw = v.value;
  switch (t) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
      // Beyond 2^53 the serialized number may have been rounded: leave it out.
      return typeof raw === 'number' && Number.isSafeInteger(raw)
        ? { kind: 'literal', type: 'int', value: BigInt(raw) }
        : undefined;
    case 'DECIMAL': {
      const scale = isNode(v.type) && isNode(v.type.type_info) ? Number(v.type.type_info.scale) : NaN;
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || !Number.isInteger(scale)) return undefined;
      if (scale === 0) return { kind: 'literal', type: 'int', value: BigInt(raw) };
      const digits = Math.abs(raw)
        .toString()
        .padStart(scale + 1, '0');
      const text = `${raw < 0 ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
      return { kind: 'literal', type: 'decimal', value: text };
    }
    case 'DOUBLE':
      return typeof raw === 'number' && Number.isFinite(raw)
        ? { kind: 'literal', type: 'float', value: raw }
        : undefined;
    case 'VARCHAR':
      return typeof raw === 'string' ? { kind: 'literal', type: 'string', value: raw } : undefined;
    case 'BOOLEAN':
      return typeof raw === 'boolean' ? { kind: 'literal', type: 'bool', value: raw } : undefined;
    default:
      return undefined;
  }
}
