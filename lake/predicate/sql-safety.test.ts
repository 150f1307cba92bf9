import fc from 'fast-check';
import { parsePredicate, toDuckDbSql } from '.';
import type { Expr, LiteralExpr, Operand } from '.';
import { exprArb } from './testing/arbitraries';

/**
 * A small SQL scanner: splits rendered SQL into code outside quotes (string literals become S,
 * quoted identifiers I), string contents and identifier contents, and checks the code is one
 * balanced expression with no statement separator or comment that could end it early.
 */
function scanSql(s: string): { code: string; strings: string[]; idents: string[] } {
  let code = '';
  const strings: string[] = [];
  const idents: string[] = [];
  let depth = 0;
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      let body = '';
      for (;;) {
        if (j >= s.length) throw new Error(`unterminated ${c} at ${i}: ${s}`);
        if (s[j] === c && s[j + 1] === c) {
          body += c;
          j += 2;
        } else if (s[j] === c) break;
        else body += s[j++];
      }
      (c === "'" ? strings : idents).push(body);
      code += c === "'" ? 'S' : 'I';
      i = j + 1;
      continue;
    }
    if (c === ';' || s.startsWith('--', i) || s.startsWith('/*', i))
      throw new Error(`separator or comment at ${i}: ${s}`);
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) throw new Error(`unbalanced ) at ${i}: ${s}`);
    if (c === ')' && depth === 0 && i !== s.length - 1)
      throw new Error(`expression ends early at ${i}: ${s}`);
    code += c;
    i++;
  }
  if (depth !== 0) throw new Error(`unbalanced ( in ${s}`);
  return { code, strings, idents };
}

/** String and identifier contents of an AST in the order the renderer emits them. */
function quotedParts(e: Expr): { strings: string[]; idents: string[] } {
  const strings: string[] = [];
  const idents: string[] = [];
  const op = (o: Expr) => {
    if (o.kind === 'column') idents.push(...o.path);
    if (o.kind === 'literal' && (o.type === 'string' || o.type === 'date' || o.type === 'timestamp'))
      strings.push(o.value);
  };
  const walk = (x: Expr): void => {
    if (x.kind === 'and' || x.kind === 'or') x.args.forEach(walk);
    else if (x.kind === 'not') walk(x.arg);
    else if (x.kind === 'cmp') [x.left, x.right].forEach(op);
    else if (x.kind === 'in') [x.arg, ...x.list].forEach(op);
    else if (x.kind === 'between') [x.arg, x.low, x.high].forEach(op);
    else if (x.kind === 'like') {
      op(x.arg);
      strings.push(x.pattern, '\\');
    } else if (x.kind === 'isNull') op(x.arg);
    else op(x);
  };
  walk(e);
  return { strings, idents };
}

/** Outside quotes only our own keywords, operators, numbers and DATE/TIMESTAMP prefixes. */
const CODE_RE =
  /^(?:[()IS=<>, ]|-?\d+(?:\.\d+)?(?:e[+-]\d+)?|\.|AND|OR|NOT|IN|IS|NULL|TRUE|FALSE|LIKE|ESCAPE|BETWEEN|DATE|TIMESTAMP)*$/;

function checkSafe(e: Expr): void {
  const out = toDuckDbSql(e);
  const { code, strings, idents } = scanSql(out);
  expect(code).toMatch(CODE_RE);
  expect({ strings, idents }).toEqual(quotedParts(e));
}

describe('toDuckDbSql: user text cannot escape its literal', () => {
  test.each([
    "a = 'x''; DROP TABLE t; --'",
    "a = ''' OR 1=1 --'",
    "a = '\\'' OR TRUE) --'",
    "a IN ('1''); DELETE FROM t WHERE (''1''=''1')",
    "a LIKE '%''; COPY t TO ''/tmp/x''; --'",
    "a = '/* not a comment */'",
    '`x"; DROP TABLE t; --` = 1',
    '`a"."b` = 1',
    '`""` = 1',
    '`"` IS NULL',
    "`a``b` = '\"'",
    "`) OR (1=1` = 'x'",
  ])('%s', (text) => checkSafe(parsePredicate(text)));

  test('an injected quote stays inside the string literal', () => {
    const out = toDuckDbSql(parsePredicate("a = 'x''; DROP TABLE t; --'"));
    expect(out).toBe(`("a" = 'x''; DROP TABLE t; --')`);
    expect(scanSql(out)).toEqual({ code: '(I = S)', strings: ["x'; DROP TABLE t; --"], idents: ['a'] });
  });

  test('an injected double quote stays inside the identifier', () => {
    const out = toDuckDbSql(parsePredicate('`x"; DROP TABLE t; --` = 1'));
    expect(out).toBe('("x""; DROP TABLE t; --" = 1)');
    expect(scanSql(out)).toEqual({ code: '(I = 1)', strings: [], idents: ['x"; DROP TABLE t; --'] });
  });
});

// ---- property: any AST renders to one safe expression ------------------------------------------

const nasty = fc
  .string({
    unit: fc.constantFrom(
      "'",
      '"',
      '`',
      ';',
      '-',
      '/',
      '*',
      '\\',
      '(',
      ')',
      ' ',
      '\n',
      'a',
      'é',
      '😀',
      '%',
      '_',
    ),
    maxLength: 12,
  })
  .filter((s) => !s.includes('\0'));
const name = nasty.filter((s) => s.length > 0);
const column = fc
  .array(name, { minLength: 1, maxLength: 3 })
  .map((path): Operand => ({ kind: 'column', path }));
const literal: fc.Arbitrary<LiteralExpr> = fc.oneof(
  nasty.map((value) => ({ kind: 'literal', type: 'string', value }) as const),
  fc.bigInt().map((value) => ({ kind: 'literal', type: 'int', value }) as const),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .map((value) => ({ kind: 'literal', type: 'float', value }) as const),
  fc.constantFrom<LiteralExpr>(
    { kind: 'literal', type: 'decimal', value: '-12.50' },
    { kind: 'literal', type: 'bool', value: true },
    { kind: 'literal', type: 'null', value: null },
    { kind: 'literal', type: 'date', value: '2024-02-29' },
    { kind: 'literal', type: 'timestamp', value: '2024-02-29 23:59:59.000001' },
  ),
);
const operand = fc.oneof(column, literal);
const likePattern = fc
  .array(fc.constantFrom('a', "'", '"', ';', '--', '%', '_', '\\%', '\\_', '\\\\'), { maxLength: 6 })
  .map((parts) => parts.join(''));

// Operands are leaves too, and and/or may have one argument: the renderer must cope with hand-built ASTs.
const expr = exprArb(operand, likePattern, [operand], { minLogicalArgs: 1 });

test('property: every AST renders to a single expression whose quoted parts are exactly the AST values', () => {
  fc.assert(fc.property(expr, checkSafe), { numRuns: 2000 });
});
