/**
 * The rendered SQL, run by DuckDB itself, is the reference for `evaluate`: on well-typed predicates
 * (where DuckDB raises no type or conversion error) both must give the same TRUE/FALSE/NULL for
 * every row. The same engine shows that hostile input stays data.
 */
import { DuckDBConnection, DuckDBInstance, VARCHAR } from '@duckdb/node-api';
import fc from 'fast-check';
import { evaluate, parsePredicate, quoteIdentifier, toDuckDbSql } from '.';
import type { Expr, Operand } from '.';
import { type Columns, PRIMITIVE_CELLS, leafOver, orNull, treeOf } from './testing/arbitraries';

let instance: DuckDBInstance;
let conn: DuckDBConnection;

const query = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();

// ---- the table: typed columns, JS rows as evaluate() sees them ---------------------------------

interface Cells {
  i: bigint | null;
  f: number | null;
  s: string | null;
  b: boolean | null;
  d: Date | null;
  ts: Date | null;
  nx: bigint | null;
}

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n));
const dateText = (d: Date) => d.toISOString().slice(0, 10);
const tsText = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');

const cellsArb: fc.Arbitrary<Cells> = fc.record({
  ...PRIMITIVE_CELLS,
  nx: orNull(fc.bigInt({ min: -2n, max: 2n })),
});

const EDGE_ROWS: Cells[] = [
  { i: null, f: null, s: null, b: null, d: null, ts: null, nx: null },
  { i: 0n, f: NaN, s: '', b: false, d: day(0), ts: day(0), nx: 0n },
  {
    i: 2n ** 53n + 1n,
    f: Infinity,
    s: '😀',
    b: true,
    d: day(4),
    ts: new Date(Date.UTC(2024, 0, 2, 12)),
    nx: -2n,
  },
  {
    i: -4n,
    f: -Infinity,
    s: '\uffff',
    b: true,
    d: day(1),
    ts: new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 1)),
    nx: 2n,
  },
];
const ROWS: Cells[] = [...EDGE_ROWS, ...fc.sample(cellsArb, { numRuns: 60, seed: 20240229 })];

const jsRow = (c: Cells): Record<string, unknown> => ({
  i: c.i,
  f: c.f,
  s: c.s,
  b: c.b,
  d: c.d,
  ts: c.ts,
  n: { x: c.nx },
});

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run(
    'CREATE TABLE t (id INTEGER, i BIGINT, f DOUBLE, s VARCHAR, b BOOLEAN, d DATE, ts TIMESTAMP, n STRUCT(x BIGINT))',
  );
  for (const [id, c] of ROWS.entries()) {
    const text = (v: unknown) => (v === null ? null : v instanceof Date ? null : String(v));
    await conn.run(
      `INSERT INTO t VALUES ($1::INTEGER, $2::BIGINT, $3::DOUBLE, $4, $5::BOOLEAN, $6::DATE, $7::TIMESTAMP, {'x': $8::BIGINT})`,
      [
        String(id),
        text(c.i),
        text(c.f),
        c.s,
        text(c.b),
        c.d && dateText(c.d),
        c.ts && tsText(c.ts),
        text(c.nx),
      ],
      Array(8).fill(VARCHAR),
    );
  }
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
});

test('the table holds what the JS rows say', async () => {
  const rows = await query(
    'SELECT id, i, f, s, b, d::VARCHAR AS d, ts::VARCHAR AS ts, n.x AS nx FROM t ORDER BY id',
  );
  expect(rows).toHaveLength(ROWS.length);
  for (const [id, c] of ROWS.entries()) {
    const r = rows[id]!;
    expect(r.i).toBe(c.i);
    expect(Object.is(r.f, c.f) || (r.f === 0 && c.f === 0)).toBe(true);
    expect(r.s).toBe(c.s);
    expect(r.b).toBe(c.b);
    expect(r.d).toBe(c.d && dateText(c.d));
    expect(r.ts === null ? null : new Date(`${String(r.ts)}Z`).getTime()).toBe(c.ts && c.ts.getTime());
    expect(r.nx).toBe(c.nx);
  }
});

// ---- well-typed predicates ---------------------------------------------------------------------

const COLS: Columns = [
  [['i'], 'int'],
  [['f'], 'double'],
  [['s'], 'str'],
  [['b'], 'bool'],
  [['d'], 'date'],
  [['ts'], 'ts'],
  [['n', 'x'], 'int'],
];
const leaf = leafOver(COLS);
const typedExpr = treeOf(leaf);

async function checkAgainstDuckDb(e: Expr): Promise<void> {
  const sql = toDuckDbSql(e);
  const got = await query(`SELECT id, ${sql} AS r FROM t ORDER BY id`);
  const mismatches = ROWS.flatMap((c, id) => {
    const ours = evaluate(e, jsRow(c));
    const theirs = got[id]!.r;
    return ours === theirs ? [] : [{ id, row: c, ours, duckdb: theirs }];
  });
  if (mismatches.length)
    throw new Error(
      `${sql}\n${JSON.stringify(mismatches, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
    );
}

describe('evaluate agrees with DuckDB running toDuckDbSql', () => {
  test.each([
    'f = 0.1',
    'f > 1e300 OR f < -1e300',
    'f = f',
    "f IN (1e0, 'NaN')".replace("'NaN'", '2.5'),
    'i = 9007199254740993',
    'i = 9007199254740992e0',
    'i < f',
    "s < 'é' AND s > 'a'",
    "s LIKE 'a\\_c' OR s LIKE '_'",
    "s NOT LIKE '%b%'",
    "d = DATE '2024-01-02' OR d > TIMESTAMP '2024-01-03 00:00:00'",
    "ts BETWEEN DATE '2024-01-01' AND '2024-01-02 12:00:00'",
    'd < ts',
    'n.x IN (1, NULL)',
    'n.x NOT IN (1, NULL)',
    'b = 1 OR b < 0',
    "b = 'f'",
    'NOT b',
    "i = '3' OR f = '2.5'",
  ])('%s', async (text) => checkAgainstDuckDb(parsePredicate(text)));

  test('property: random well-typed predicates', async () => {
    await fc.assert(fc.asyncProperty(typedExpr, checkAgainstDuckDb), { numRuns: 600 });
  });
});

// ---- hostile input stays data --------------------------------------------------------------------

const ATTACK_STRINGS = [
  "x'; DROP TABLE t; --",
  "' OR 1=1 --",
  "\\'); DROP TABLE t; --",
  '/* */ --',
  '"; DROP TABLE t; --',
  "''''",
  '😀\n\t\r',
];

describe('DuckDB reads hostile text back as the same data', () => {
  test("the documented attack: a = 'x''; DROP TABLE t; --' is one harmless comparison", async () => {
    const sql = toDuckDbSql(parsePredicate("s = 'x''; DROP TABLE t; --'"));
    expect((await conn.extractStatements(`SELECT count(*) FROM t WHERE ${sql}`)).count).toBe(1);
    expect(await query(`SELECT count(*) AS n FROM t WHERE ${sql}`)).toEqual([{ n: 0n }]);
    expect(await query('SELECT count(*) AS n FROM t')).toEqual([{ n: BigInt(ROWS.length) }]);
  });

  test.each(ATTACK_STRINGS)('string literal %j', async (s) => {
    const e: Expr = { kind: 'literal', type: 'string', value: s };
    expect(await query(`SELECT ${toDuckDbSql(e)} AS v`)).toEqual([{ v: s }]);
  });

  test('identifiers with quotes and SQL in them name exactly that column', async () => {
    const names = ['x"; DROP TABLE t; --', '"', '""', "it's", 'a.b', ') OR (1=1', '😀 col'];
    await conn.run(
      `CREATE TABLE h (${names.map((n, k) => `${quoteIdentifier(n)} INTEGER DEFAULT ${k}`).join(', ')})`,
    );
    await conn.run('INSERT INTO h DEFAULT VALUES');
    for (const [k, n] of names.entries()) {
      const e = parsePredicate(`\`${n.replace(/`/g, '``')}\` = ${k}`);
      expect(await query(`SELECT count(*) AS n FROM h WHERE ${toDuckDbSql(e)}`)).toEqual([{ n: 1n }]);
    }
    expect(await query('SELECT count(*) AS n FROM t')).toEqual([{ n: BigInt(ROWS.length) }]);
  });

  test('property: any string literal round-trips through DuckDB unchanged', async () => {
    const s = fc.string({
      unit: fc.constantFrom("'", '"', '\\', ';', '-', '/', '*', 'a', 'é', '😀', '\n', '%'),
      maxLength: 16,
    });
    await fc.assert(
      fc.asyncProperty(s, async (value) => {
        const e: Expr = { kind: 'literal', type: 'string', value };
        expect(await query(`SELECT ${toDuckDbSql(e)} AS v`)).toEqual([{ v: value }]);
      }),
      { numRuns: 300 },
    );
  });

  test('property: any predicate over hostile names and strings is one statement to DuckDB', async () => {
    const nasty = fc.string({
      unit: fc.constantFrom("'", '"', '`', ';', '-', '/', '*', '(', ')', 'a', ' '),
      minLength: 1,
      maxLength: 10,
    });
    const operand = fc.oneof(
      fc.array(nasty, { minLength: 1, maxLength: 2 }).map((path): Operand => ({ kind: 'column', path })),
      nasty.map((value): Operand => ({ kind: 'literal', type: 'string', value })),
    );
    const pred = fc.oneof(
      fc.record({
        kind: fc.constant('cmp' as const),
        op: fc.constant('=' as const),
        left: operand,
        right: operand,
      }),
      fc.record({
        kind: fc.constant('in' as const),
        negated: fc.boolean(),
        arg: operand,
        list: fc.array(operand, { minLength: 1, maxLength: 3 }),
      }),
      fc.record({
        kind: fc.constant('like' as const),
        negated: fc.boolean(),
        arg: operand,
        pattern: nasty.filter((p) => !p.includes('\\')),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pred, { minLength: 1, maxLength: 3 }), async (args) => {
        const sql = toDuckDbSql({ kind: 'or', args });
        expect((await conn.extractStatements(`SELECT * FROM t WHERE ${sql}`)).count).toBe(1);
      }),
      { numRuns: 300 },
    );
  });
});
