import { TributaryError } from '../errors';
import { MAX_NESTING_DEPTH, MAX_PREDICATE_LENGTH } from './ast';
import type { CmpOp, ColumnExpr, Expr, LiteralExpr, Operand } from './ast';
import { checkDate, checkTimestamp } from './datetime';
import { Lexer, PredicateSyntaxError, findBadCodeUnit } from './lexer';
import type { Token } from './lexer';
import { likePatternError } from './like';

/**
 * Grammar (keywords case-insensitive):
 *
 *   predicate := or
 *   or        := and (OR and)*
 *   and       := not (AND not)*
 *   not       := NOT not | primary
 *   primary   := '(' or ')'
 *              | operand ( cmpop operand
 *                        | IS [NOT] NULL
 *                        | [NOT] IN '(' operand (',' operand)* ')'
 *                        | [NOT] LIKE string
 *                        | [NOT] BETWEEN operand AND operand )?
 *   operand   := column | literal
 *   column    := name ('.' name)*          name := [A-Za-z_][A-Za-z0-9_]* | `quoted`
 *   literal   := ['-'] number | string | TRUE | FALSE | NULL | DATE string | TIMESTAMP string
 *
 * A bare operand must be a column (a boolean column) or TRUE/FALSE/NULL.
 */

export interface PredicateIssue {
  /** Full message: reason, 1-based position and the offending line with a caret under it. */
  message: string;
  /** 1-based character (UTF-16 code unit) position in the predicate text. */
  position: number;
  /** The reason alone, without position or excerpt. */
  reason: string;
}

export type SafeParseResult = { success: true; expr: Expr } | { success: false; error: PredicateIssue };

/** Parses a predicate; throws TributaryError('BAD_INPUT') whose message points at the problem. */
export function parsePredicate(text: string): Expr {
  return parsePredicateWithPositions(text).expr;
}

/** A parsed predicate with the 0-based offset in its text of each node (operands, comparisons). */
export interface PositionedPredicate {
  expr: Expr;
  /** Where a node of `expr` starts (a comparison: its operator); undefined for nodes not from the text. */
  offsetOf(node: object): number | undefined;
}

/** parsePredicate, keeping where each node was written (for messages that point at an operand). */
export function parsePredicateWithPositions(text: string): PositionedPredicate {
  const at = new WeakMap<object, number>();
  const r = parse(text, at);
  if (!r.success) throw new TributaryError('BAD_INPUT', r.error.message);
  return { expr: r.expr, offsetOf: (node) => at.get(node) };
}

/** A BAD_INPUT error about `text` at a 0-based offset: the reason, the position and a caret under it. */
export const predicateError = (text: string, offset: number, reason: string): TributaryError =>
  new TributaryError('BAD_INPUT', issue(text, offset, reason).message);

/** Like parsePredicate, but returns the problem instead of throwing. */
export function safeParsePredicate(text: string): SafeParseResult {
  return parse(text, new WeakMap());
}

function parse(text: string, at: WeakMap<object, number>): SafeParseResult {
  if (typeof text !== 'string')
    return { success: false, error: issue('', 0, 'a predicate must be a string') };
  try {
    if (text.length > MAX_PREDICATE_LENGTH)
      throw new PredicateSyntaxError(
        MAX_PREDICATE_LENGTH,
        `predicate is ${text.length} characters long; the limit is ${MAX_PREDICATE_LENGTH}`,
      );
    const bad = findBadCodeUnit(text);
    if (bad) throw new PredicateSyntaxError(bad.offset, bad.reason);
    return { success: true, expr: new Parser(text, at).parse() };
  } catch (e) {
    if (e instanceof PredicateSyntaxError) return { success: false, error: issue(text, e.offset, e.reason) };
    throw e;
  }
}

const RESERVED = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'TRUE', 'FALSE', 'LIKE', 'BETWEEN']);
/** Reserved words may not be bare column names; anything else may be quoted with backquotes. */
export const isReservedWord = (word: string) => RESERVED.has(word.toUpperCase());

const CMP_SYMBOLS: Record<string, CmpOp> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

function describe(t: Token): string {
  const short = (s: string) => (s.length > 24 ? `${s.slice(0, 24)}…` : s);
  switch (t.type) {
    case 'eof':
      return 'end of input';
    case 'word':
      return isReservedWord(t.text) ? `keyword ${t.text.toUpperCase()}` : `'${short(t.text)}'`;
    case 'qident':
      return `column \`${short(t.text)}\``;
    case 'number':
      return `number ${short(t.text)}`;
    case 'string':
      return `string '${short(t.text)}'`;
    case 'symbol':
      return `'${t.text}'`;
  }
}

class Parser {
  private readonly lx: Lexer;
  private depth = 0;

  constructor(
    text: string,
    private readonly at: WeakMap<object, number>,
  ) {
    this.lx = new Lexer(text);
  }

  /** Records where `node` was written. */
  private mark<T extends object>(node: T, offset: number): T {
    this.at.set(node, offset);
    return node;
  }

  parse(): Expr {
    const e = this.parseOr();
    const t = this.lx.peek();
    if (t.type !== 'eof') this.fail(t, `expected AND, OR or end of input, found ${describe(t)}`);
    return e;
  }

  private fail(at: Token | number, reason: string): never {
    throw new PredicateSyntaxError(typeof at === 'number' ? at : at.pos, reason);
  }

  private isWord(t: Token, word: string): boolean {
    return t.type === 'word' && t.text.toUpperCase() === word;
  }

  private isSymbol(t: Token, sym: string): boolean {
    return t.type === 'symbol' && t.text === sym;
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_NESTING_DEPTH)
      this.fail(
        t,
        `predicate nests too deeply: more than ${MAX_NESTING_DEPTH} levels of parentheses and NOT`,
      );
  }

  private parseOr(): Expr {
    const args = [this.parseAnd()];
    while (this.isWord(this.lx.peek(), 'OR')) {
      this.lx.next();
      args.push(this.parseAnd());
    }
    return args.length === 1 ? args[0]! : { kind: 'or', args };
  }

  private parseAnd(): Expr {
    const args = [this.parseNot()];
    while (this.isWord(this.lx.peek(), 'AND')) {
      this.lx.next();
      args.push(this.parseNot());
    }
    return args.length === 1 ? args[0]! : { kind: 'and', args };
  }

  private parseNot(): Expr {
    const t = this.lx.peek();
    if (!this.isWord(t, 'NOT')) return this.parsePrimary();
    this.lx.next();
    this.enter(t);
    const arg = this.parseNot();
    this.depth--;
    return { kind: 'not', arg };
  }

  private parsePrimary(): Expr {
    const open = this.lx.peek();
    if (this.isSymbol(open, '(')) {
      this.lx.next();
      this.enter(open);
      const e = this.parseOr();
      const close = this.lx.peek();
      if (!this.isSymbol(close, ')'))
        this.fail(
          close,
          `expected AND, OR or ')' to close the '(' at position ${open.pos + 1}, found ${describe(close)}`,
        );
      this.lx.next();
      this.depth--;
      return e;
    }
    if (open.type === 'eof') this.fail(open, 'expected a condition, found end of input');
    const arg = this.parseOperand('a condition');
    const e = this.parsePostfix(arg, open);
    const after = this.lx.peek();
    if (after.type === 'symbol' && after.text in CMP_SYMBOLS)
      this.fail(after, `comparisons cannot be chained; combine them with AND (found ${describe(after)})`);
    return e;
  }

  private parsePostfix(arg: Operand, start: Token): Expr {
    const t = this.lx.peek();
    if (t.type === 'symbol' && t.text in CMP_SYMBOLS) {
      this.lx.next();
      const right = this.parseOperand(`a value after '${t.text}'`);
      return this.mark({ kind: 'cmp', op: CMP_SYMBOLS[t.text]!, left: arg, right }, t.pos);
    }
    if (this.isWord(t, 'IS')) {
      this.lx.next();
      let negated = false;
      if (this.isWord(this.lx.peek(), 'NOT')) {
        this.lx.next();
        negated = true;
      }
      const n = this.lx.next();
      if (!this.isWord(n, 'NULL'))
        this.fail(n, `expected ${negated ? 'NULL' : 'NULL or NOT NULL'} after IS, found ${describe(n)}`);
      return this.mark({ kind: 'isNull', negated, arg }, t.pos);
    }
    let negated = false;
    if (this.isWord(t, 'NOT')) {
      const k = this.lx.peek(1);
      if (!['IN', 'LIKE', 'BETWEEN'].some((w) => this.isWord(k, w)))
        this.fail(k, `expected IN, LIKE or BETWEEN after NOT, found ${describe(k)}`);
      this.lx.next();
      negated = true;
    }
    const op = this.lx.peek();
    if (this.isWord(op, 'IN')) return this.mark(this.parseIn(arg, negated), op.pos);
    if (this.isWord(op, 'LIKE')) {
      this.lx.next();
      const p = this.lx.next();
      if (p.type !== 'string') this.fail(p, `expected a pattern string after LIKE, found ${describe(p)}`);
      const bad = likePatternError(p.text);
      if (bad) this.fail(p, bad);
      return this.mark({ kind: 'like', negated, arg, pattern: p.text }, op.pos);
    }
    if (this.isWord(op, 'BETWEEN')) {
      this.lx.next();
      const low = this.parseOperand('a lower bound after BETWEEN');
      const and = this.lx.next();
      if (!this.isWord(and, 'AND'))
        this.fail(and, `expected AND after the lower bound of BETWEEN, found ${describe(and)}`);
      const high = this.parseOperand('an upper bound after BETWEEN … AND');
      return this.mark({ kind: 'between', negated, arg, low, high }, op.pos);
    }
    if (arg.kind === 'literal' && arg.type !== 'bool' && arg.type !== 'null')
      this.fail(
        start,
        `expected a condition, found ${/^[aeiou]/.test(arg.type) ? 'an' : 'a'} ${arg.type} value on its own; compare it, e.g. \`col = …\``,
      );
    return arg;
  }

  private parseIn(arg: Operand, negated: boolean): Expr {
    this.lx.next();
    const open = this.lx.next();
    if (!this.isSymbol(open, '(')) this.fail(open, `expected '(' after IN, found ${describe(open)}`);
    if (this.isSymbol(this.lx.peek(), ')')) this.fail(this.lx.peek(), 'an IN list must not be empty');
    const list: Operand[] = [];
    for (;;) {
      list.push(this.parseOperand('a value in the IN list'));
      const t = this.lx.next();
      if (this.isSymbol(t, ')')) break;
      if (!this.isSymbol(t, ',')) this.fail(t, `expected ',' or ')' in the IN list, found ${describe(t)}`);
    }
    return { kind: 'in', negated, arg, list };
  }

  private parseOperand(what: string): Operand {
    const t = this.lx.peek();
    return this.mark(this.operand(what, t), t.pos);
  }

  private operand(what: string, t: Token): Operand {
    if (this.isSymbol(t, '-')) {
      this.lx.next();
      const n = this.lx.peek();
      if (n.type !== 'number') this.fail(n, `expected a number after '-', found ${describe(n)}`);
      this.lx.next();
      return this.numberLiteral(n, true);
    }
    if (t.type === 'number') {
      this.lx.next();
      return this.numberLiteral(t, false);
    }
    if (t.type === 'string') {
      this.lx.next();
      return { kind: 'literal', type: 'string', value: t.text };
    }
    if (t.type === 'qident') return this.parseColumn();
    if (t.type !== 'word') this.fail(t, `expected ${what}, found ${describe(t)}`);
    const upper = t.text.toUpperCase();
    if (upper === 'TRUE' || upper === 'FALSE') {
      this.lx.next();
      return { kind: 'literal', type: 'bool', value: upper === 'TRUE' };
    }
    if (upper === 'NULL') {
      this.lx.next();
      return { kind: 'literal', type: 'null', value: null };
    }
    const next = upper === 'DATE' || upper === 'TIMESTAMP' ? this.lx.peek(1) : undefined;
    if (next?.type === 'string') {
      this.lx.next();
      this.lx.next();
      const c = upper === 'DATE' ? checkDate(next.text) : checkTimestamp(next.text);
      if (!c.ok) this.fail(next, c.reason);
      return upper === 'DATE'
        ? { kind: 'literal', type: 'date', value: c.canonical }
        : { kind: 'literal', type: 'timestamp', value: c.canonical };
    }
    if (isReservedWord(upper))
      this.fail(
        t,
        `expected ${what}, found keyword ${upper} (to use it as a column name, write \`${t.text}\`)`,
      );
    if ((upper === 'SELECT' || upper === 'WITH') && this.startsSubquery())
      this.fail(t, 'subqueries are not supported');
    return this.parseColumn();
  }

  /** After SELECT/WITH: does a query seem to follow (rather than an operator on a column so named)? */
  private startsSubquery(): boolean {
    let next: Token;
    try {
      next = this.lx.peek(1);
    } catch {
      return true; // e.g. SELECT * …
    }
    if (next.type === 'word') return !isReservedWord(next.text);
    return next.type === 'qident' || next.type === 'number' || next.type === 'string';
  }

  private parseColumn(): ColumnExpr {
    const first = this.lx.next();
    const path = [first.text];
    while (this.isSymbol(this.lx.peek(), '.')) {
      this.lx.next();
      const seg = this.lx.next();
      if (seg.type !== 'word' && seg.type !== 'qident')
        this.fail(seg, `expected a field name after '.', found ${describe(seg)}`);
      path.push(seg.text);
    }
    const after = this.lx.peek();
    if (this.isSymbol(after, '('))
      this.fail(first, `function calls are not supported (found '${path.join('.')}(')`);
    return { kind: 'column', path };
  }

  private numberLiteral(t: Token, negative: boolean): LiteralExpr {
    const text = t.text;
    if (/^\d+$/.test(text)) {
      const v = BigInt(text);
      return { kind: 'literal', type: 'int', value: negative ? -v : v };
    }
    if (/^\d+\.\d+$/.test(text)) {
      const [whole = '', frac = ''] = text.split('.');
      const canon = `${whole.replace(/^0+(?=\d)/, '')}.${frac}`;
      const zero = /^[0.]+$/.test(canon);
      return { kind: 'literal', type: 'decimal', value: negative && !zero ? `-${canon}` : canon };
    }
    const v = Number(text);
    if (!Number.isFinite(v)) this.fail(t, `number ${text} is out of range for a double`);
    return { kind: 'literal', type: 'float', value: negative ? -v : v };
  }
}

// ---- messages ---------------------------------------------------------------------------------

const EXCERPT_HALF_WIDTH = 40;

/** `predicate error at position N: reason`, then the line with a caret under the offset. */
function issue(text: string, offset: number, reason: string): PredicateIssue {
  const position = offset + 1;
  const lineStart = offset === 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
  let lineEnd = text.indexOf('\n', offset);
  if (lineEnd < 0) lineEnd = text.length;
  const from = Math.max(lineStart, offset - EXCERPT_HALF_WIDTH);
  const to = Math.min(lineEnd, Math.max(offset, from) + EXCERPT_HALF_WIDTH);
  // One display character per code unit keeps the caret aligned; control characters become spaces.
  const shown = text
    .slice(from, to)
    .split('')
    .map((c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code < 0xa0) ? ' ' : c;
    })
    .join('');
  const lead = from > lineStart ? '…' : '';
  const tail = to < lineEnd ? '…' : '';
  const multiline = text.includes('\n');
  const where = multiline
    ? `position ${position} (line ${text.slice(0, lineStart).split('\n').length}, column ${offset - lineStart + 1})`
    : `position ${position}`;
  const message = `predicate error at ${where}: ${reason}\n  ${lead}${shown}${tail}\n  ${' '.repeat(lead.length + offset - from)}^`;
  return { message, position, reason };
}
