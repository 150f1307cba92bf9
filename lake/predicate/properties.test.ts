import fc from 'fast-check';
import { evaluate, formatPredicate, mightMatch, parsePredicate, safeParsePredicate } from '.';
import type { CmpOp, Expr, FileStats, LiteralExpr, Operand } from '.';
import { exprArb, opArb } from './testing/arbitraries';
import { readPath } from './evaluate';
import { compareVals, fromRow } from './values';

const likePatternArb = fc
  .array(fc.constantFrom('a', 'b', '%', '_', '\\%', '\\_', '\\\\', 'é', '😀'), { maxLength: 5 })
  .map((parts) => parts.join(''));

// ---- round trip: format → parse gives the same AST ---------------------------------------------

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const dateArb = fc
  .record({
    y: fc.integer({ min: 1, max: 9999 }),
    m: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
  })
  .map(({ y, m, d }) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
const timestampArb = fc
  .tuple(
    dateArb,
    fc.integer({ min: 0, max: 23 }),
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 59 }),
    fc.integer({ min: 0, max: 999_999 }),
  )
  .map(([d, h, mi, s, us]) => `${d} ${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${us ? `.${pad(us, 6)}` : ''}`);
const decimalArb = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 25n }), fc.stringMatching(/^\d{1,6}$/))
  .map(([neg, whole, frac]) => {
    const text = `${whole}.${frac}`;
    return neg && /[1-9]/.test(text) ? `-${text}` : text;
  });
const text = fc.string({ unit: 'grapheme', maxLength: 8 }).filter((s) => !s.includes('\0'));

const anyLiteral: fc.Arbitrary<LiteralExpr> = fc.oneof(
  fc.bigInt().map((value) => ({ kind: 'literal', type: 'int', value }) as const),
  decimalArb.map((value) => ({ kind: 'literal', type: 'decimal', value }) as const),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((value) => ({ kind: 'literal', type: 'float', value }) as const),
  text.map((value) => ({ kind: 'literal', type: 'string', value }) as const),
  fc.boolean().map((value) => ({ kind: 'literal', type: 'bool', value }) as const),
  fc.constant({ kind: 'literal', type: 'null', value: null } as const),
  dateArb.map((value) => ({ kind: 'literal', type: 'date', value }) as const),
  timestampArb.map((value) => ({ kind: 'literal', type: 'timestamp', value }) as const),
);
const anyName = fc.oneof(
  fc.constantFrom(
    'a',
    'b_1',
    'date',
    'timestamp',
    'and',
    'In',
    'null',
    'select',
    'x.y',
    'a b',
    '`',
    "'",
    '"',
  ),
  text.filter((s) => s.length > 0),
);
const anyColumn = fc
  .array(anyName, { minLength: 1, maxLength: 3 })
  .map((path): Operand => ({ kind: 'column', path }));
const anyOperand = fc.oneof(anyColumn, anyLiteral);
const anyExpr = exprArb(anyOperand, likePatternArb, [
  anyColumn,
  fc.constantFrom<Expr>(
    { kind: 'literal', type: 'bool', value: false },
    { kind: 'literal', type: 'null', value: null },
  ),
]);

/** Deep equality where -0 and 0 differ (fast-check records have null prototypes, so no toStrictEqual). */
const canon = (x: unknown) =>
  JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Object.is(v, -0) ? '-0' : v));
const same = (a: unknown, b: unknown) => expect(canon(a)).toBe(canon(b));

test('property: parsePredicate(formatPredicate(e)) equals e', () => {
  fc.assert(
    fc.property(anyExpr, (e) => {
      same(parsePredicate(formatPredicate(e)), e);
    }),
    { numRuns: 3000 },
  );
});

// ---- the parser never crashes and always points inside the input -------------------------------

const tokenSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'a',
        'b.c',
        '`q``x`',
        '1',
        '-2',
        '3.5',
        '1e3',
        "'s''t'",
        'NULL',
        'TRUE',
        "DATE '2024-01-01'",
        "TIMESTAMP '2024-01-01 00:00:00'",
      ),
      fc.constantFrom(
        '=',
        '<>',
        '!=',
        '<',
        '>=',
        '(',
        ')',
        ',',
        '.',
        '-',
        'AND',
        'OR',
        'NOT',
        'IN',
        'IS',
        'LIKE',
        'BETWEEN',
        "'%'",
      ),
      fc.constantFrom(';', '--', '/*', '"', '`', "'", '*', 'f(', 'SELECT', '\u0000', '\ud800', 'é', '\n'),
    ),
    { maxLength: 14 },
  )
  .map((parts) => parts.join(' '));

test('property: safeParsePredicate never throws; failures point into the input; successes round-trip', () => {
  fc.assert(
    fc.property(fc.oneof(tokenSoup, fc.string({ unit: 'binary', maxLength: 30 })), (input) => {
      const r = safeParsePredicate(input);
      if (r.success) {
        same(parsePredicate(formatPredicate(r.expr)), r.expr);
      } else {
        expect(r.error.position).toBeGreaterThanOrEqual(1);
        expect(r.error.position).toBeLessThanOrEqual(input.length + 1);
        expect(r.error.message).toContain(`position ${r.error.position}`);
        expect(r.error.message).toContain(r.error.reason);
        expect(() => parsePredicate(input)).toThrow(r.error.message);
      }
    }),
    { numRuns: 2000 },
  );
});

// ---- evaluation laws -----------------------------------------------------------------------------

const not3 = (t: boolean | null) => (t === null ? null : !t);

// Rows and predicates over a fixed schema, with values of every supported kind, mismatches included.
const COLUMNS: string[][] = [['i'], ['big'], ['f'], ['s'], ['b'], ['d'], ['t'], ['n', 'x'], ['p']];
const nullish = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: fc.constantFrom(null, undefined) });
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n, n % 3 === 0 ? 0 : 12));
const isoText = fc.constantFrom(
  '2024-01-02T12:00:00Z',
  '2024-01-02T13:00:00+02:00',
  '2024-01-03 00:00:00',
  'garbage',
);
const cell = {
  i: nullish(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.bigInt({ min: -3n, max: 3n }))),
  big: nullish(fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 53n + 2n })),
  f: nullish(fc.constantFrom(-1.5, 0, 0.1, 0.30000000000000004, 2.5, 3, NaN, Infinity, -Infinity)),
  s: nullish(fc.constantFrom('', 'a', 'ab', 'a%', 'b_', 'é', '😀', '\uffff', '5', 'true', '2024-01-02')),
  b: nullish(fc.boolean()),
  d: nullish(fc.integer({ min: 0, max: 5 }).map(day)),
  t: nullish(isoText),
  nx: nullish(fc.integer({ min: -2, max: 2 })),
};
type Row = Record<string, unknown>;
const rowArb: fc.Arbitrary<Row> = fc
  .record(cell)
  .map(({ nx, ...r }) => ({ ...r, n: nx === undefined ? undefined : { x: nx } }));
const partitionArb = fc.constantFrom<unknown>(null, 'eu', 'us', 5, 5n, 2.5, true, '2024-01-02', day(1), '7');

const schemaLiteral: fc.Arbitrary<LiteralExpr> = fc.oneof(
  fc.bigInt({ min: -4n, max: 4n }).map((value) => ({ kind: 'literal', type: 'int', value }) as const),
  fc
    .bigInt({ min: 2n ** 53n - 3n, max: 2n ** 53n + 3n })
    .map((value) => ({ kind: 'literal', type: 'int', value }) as const),
  fc
    .constantFrom('0.1', '-1.5', '2.50', '0.30000000000000004', '9007199254740993.0')
    .map((value) => ({ kind: 'literal', type: 'decimal', value }) as const),
  fc
    .constantFrom(0.1, 2.5, -1e300, 1e300, 9007199254740992)
    .map((value) => ({ kind: 'literal', type: 'float', value }) as const),
  fc
    .constantFrom(
      '',
      'a',
      'ab',
      'b',
      'é',
      '😀',
      '5',
      '2.5',
      'true',
      'f',
      '2024-01-02',
      '2024-01-02 12:00:00',
      'eu',
      'us',
      'garbage',
    )
    .map((value) => ({ kind: 'literal', type: 'string', value }) as const),
  fc.boolean().map((value) => ({ kind: 'literal', type: 'bool', value }) as const),
  fc.constant({ kind: 'literal', type: 'null', value: null } as const),
  fc
    .integer({ min: 0, max: 5 })
    .map((n) => ({ kind: 'literal', type: 'date', value: `2024-01-${pad(1 + n, 2)}` }) as const),
  fc
    .constantFrom('2024-01-02 12:00:00', '2024-01-03 00:00:00', '2024-01-02 11:00:00.000001')
    .map((value) => ({ kind: 'literal', type: 'timestamp', value }) as const),
);
const schemaColumn = fc.constantFrom(...COLUMNS).map((path): Operand => ({ kind: 'column', path }));
const schemaOperand = fc.oneof(
  { weight: 2, arbitrary: schemaColumn },
  { weight: 3, arbitrary: schemaLiteral },
);
const schemaExpr = exprArb(schemaOperand, likePatternArb, [
  schemaColumn,
  fc.record({ kind: fc.constant('cmp' as const), op: opArb, left: schemaColumn, right: schemaLiteral }),
]);

test('property: three-valued laws — NOT, De Morgan, IN as OR, BETWEEN as AND, parenthesis-free re-parse', () => {
  fc.assert(
    fc.property(schemaExpr, schemaExpr, rowArb, (p, q, row) => {
      const ep = evaluate(p, row);
      const eq = evaluate(q, row);
      expect(evaluate({ kind: 'not', arg: p }, row)).toBe(not3(ep));
      expect(evaluate({ kind: 'not', arg: { kind: 'and', args: [p, q] } }, row)).toBe(
        evaluate(
          {
            kind: 'or',
            args: [
              { kind: 'not', arg: p },
              { kind: 'not', arg: q },
            ],
          },
          row,
        ),
      );
      expect(evaluate({ kind: 'and', args: [p, q] }, row)).toBe(evaluate({ kind: 'and', args: [q, p] }, row));
      expect(evaluate({ kind: 'or', args: [p, { kind: 'literal', type: 'bool', value: true }] }, row)).toBe(
        true,
      );
      expect(evaluate({ kind: 'and', args: [p, { kind: 'literal', type: 'bool', value: false }] }, row)).toBe(
        false,
      );
      if (p.kind === 'in') {
        const ors: Expr = {
          kind: 'or',
          args: p.list.map((item) => ({ kind: 'cmp', op: '=', left: p.arg, right: item })),
        };
        expect(ep).toBe(evaluate(p.negated ? { kind: 'not', arg: ors } : ors, row));
      }
      if (p.kind === 'between') {
        const ands: Expr = {
          kind: 'and',
          args: [
            { kind: 'cmp', op: '>=', left: p.arg, right: p.low },
            { kind: 'cmp', op: '<=', left: p.arg, right: p.high },
          ],
        };
        expect(ep).toBe(evaluate(p.negated ? { kind: 'not', arg: ands } : ands, row));
      }
      if (p.kind === 'cmp') {
        // a < b ⇔ b > a, and exactly one of <, =, > holds when the comparison is known
        const flip: Record<CmpOp, CmpOp> = {
          '=': '=',
          '<>': '<>',
          '<': '>',
          '<=': '>=',
          '>': '<',
          '>=': '<=',
        };
        expect(ep).toBe(evaluate({ kind: 'cmp', op: flip[p.op], left: p.right, right: p.left }, row));
        const three = (['<', '=', '>'] as const).map((op) => evaluate({ ...p, op }, row));
        if (three.every((t) => t !== null)) expect(three.filter(Boolean)).toHaveLength(1);
        else expect(three).toEqual([null, null, null]);
      }
      expect(evaluate(parsePredicate(formatPredicate(p)), row)).toBe(ep);
      void eq;
    }),
    { numRuns: 3000 },
  );
});

// ---- file skipping is sound ----------------------------------------------------------------------

interface StatsMask {
  numRecords: boolean;
  drop: Record<string, { min: boolean; max: boolean; nulls: boolean }>;
  partitioned: boolean;
}
const maskArb: fc.Arbitrary<StatsMask> = fc.record({
  numRecords: fc.boolean(),
  drop: fc.dictionary(
    fc.constantFrom(...COLUMNS.map((p) => p.join('.'))),
    fc.record({ min: fc.boolean(), max: fc.boolean(), nulls: fc.boolean() }),
  ),
  partitioned: fc.boolean(),
});

/** Exact stats of a set of rows, minus whatever the mask drops. */
function statsOf(rows: Row[], mask: StatsMask): FileStats {
  const key = (p: string[]) => p.join('.');
  const cols = new Map<string, { min?: unknown; max?: unknown; nulls: number }>();
  for (const path of COLUMNS) {
    let min: unknown;
    let max: unknown;
    let nulls = 0;
    for (const r of rows) {
      const v = readPath(r, path);
      const val = fromRow(v);
      if (val === null) {
        nulls++;
        continue;
      }
      if (min === undefined || compareVals(val, fromRow(min)!)! < 0) min = v;
      if (max === undefined || compareVals(val, fromRow(max)!)! > 0) max = v;
    }
    cols.set(key(path), { min, max, nulls });
  }
  const dropped = (p: string[], what: 'min' | 'max' | 'nulls') => mask.drop[key(p)]?.[what] === true;
  return {
    numRecords: mask.numRecords ? rows.length : undefined,
    min: (p) => (dropped(p, 'min') ? undefined : cols.get(key(p))?.min),
    max: (p) => (dropped(p, 'max') ? undefined : cols.get(key(p))?.max),
    nullCount: (p) => (dropped(p, 'nulls') ? undefined : cols.get(key(p))?.nulls),
    partitionValue: (p) =>
      mask.partitioned && key(p) === 'p'
        ? { present: true, value: rows[0]?.p ?? null }
        : { present: false, value: undefined },
  };
}

test('property: mightMatch is false only when no row makes the predicate TRUE', () => {
  let pruned = 0;
  let runs = 0;
  fc.assert(
    fc.property(
      fc.array(rowArb, { minLength: 0, maxLength: 6 }),
      partitionArb,
      schemaExpr,
      maskArb,
      (rawRows, part, e, mask) => {
        // A partition column holds one value for the whole file.
        const rows = rawRows.map((r) => ({ ...r, p: part }));
        const matches = rows.filter((r) => evaluate(e, r) === true);
        const might = mightMatch(e, statsOf(rows, mask));
        runs++;
        if (!might) pruned++;
        if (matches.length > 0) expect(might).toBe(true);
      },
    ),
    { numRuns: 20_000 },
  );
  // The property is not vacuous: a fair share of files really is skipped.
  expect(pruned / runs).toBeGreaterThan(0.1);
});

test('property: with exact single-row stats, a pruned file really has no match (and NOT agrees)', () => {
  fc.assert(
    fc.property(rowArb, partitionArb, schemaExpr, (raw, part, e) => {
      const row = { ...raw, p: part };
      const s = statsOf([row], { numRecords: true, drop: {}, partitioned: true });
      if (evaluate(e, row) === true) expect(mightMatch(e, s)).toBe(true);
      if (evaluate(e, row) === false) expect(mightMatch({ kind: 'not', arg: e }, s)).toBe(true);
    }),
    { numRuns: 10_000 },
  );
});
