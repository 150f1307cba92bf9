/** Tokens of the predicate language, produced on demand so errors come in text order. */

/** A syntax problem at a 0-based offset; turned into the user-facing message by the parser. */
export class PredicateSyntaxError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'PredicateSyntaxError';
  }
}

export type TokenType = 'word' | 'qident' | 'number' | 'string' | 'symbol' | 'eof';

export interface Token {
  type: TokenType;
  /** word/number/symbol: as written; qident/string: the unescaped content. */
  text: string;
  /** 0-based offsets into the predicate text, [pos, end). */
  pos: number;
  end: number;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isWordStart = (c: string | undefined) =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
const isWordChar = (c: string | undefined) => isWordStart(c) || isDigit(c);

/** `'x'` for printable ASCII, else the code point, so messages stay readable and terminal-safe. */
export function describeChar(text: string, at: number): string {
  const cp = text.codePointAt(at) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  if (cp >= 0x21 && cp <= 0x7e) return `'${String.fromCodePoint(cp)}'`;
  if (cp >= 0xa0 && (cp < 0xd800 || cp > 0xdfff)) return `'${String.fromCodePoint(cp)}' (${hex})`;
  return hex;
}

const TWO_CHAR_SYMBOLS = new Set(['<=', '>=', '<>', '!=']);
const ONE_CHAR_SYMBOLS = new Set(['=', '<', '>', '(', ')', ',', '.', '-']);

export class Lexer {
  private readonly buffer: Token[] = [];
  private at = 0;

  constructor(private readonly src: string) {}

  peek(k = 0): Token {
    while (this.buffer.length <= k) this.buffer.push(this.lex());
    return this.buffer[k]!;
  }

  next(): Token {
    const t = this.peek();
    this.buffer.shift();
    return t;
  }

  private fail(offset: number, reason: string): never {
    throw new PredicateSyntaxError(offset, reason);
  }

  private lex(): Token {
    const s = this.src;
    while (this.at < s.length && /[ \t\r\n\f\v]/.test(s[this.at]!)) this.at++;
    const start = this.at;
    const c = s[start];
    if (c === undefined) return { type: 'eof', text: '', pos: start, end: start };
    if (isWordStart(c)) {
      let i = start + 1;
      while (isWordChar(s[i])) i++;
      return this.token('word', s.slice(start, i), start, i);
    }
    if (isDigit(c)) return this.lexNumber(start);
    if (c === "'") return this.lexQuoted(start, "'", 'string');
    if (c === '`') return this.lexQuoted(start, '`', 'qident');
    const two = s.slice(start, start + 2);
    if (two === '--' || two === '/*') return this.fail(start, `comments ('${two}') are not allowed`);
    if (TWO_CHAR_SYMBOLS.has(two)) return this.token('symbol', two, start, start + 2);
    if (ONE_CHAR_SYMBOLS.has(c)) return this.token('symbol', c, start, start + 1);
    if (c === ';') return this.fail(start, `';' is not allowed: a predicate is a single expression`);
    if (c === '"')
      return this.fail(
        start,
        "double quotes are not supported: write `column name` in backquotes and 'text' in single quotes",
      );
    if ('+*/%|&^~'.includes(c))
      return this.fail(
        start,
        `unexpected ${describeChar(s, start)}: arithmetic and other operators are not supported`,
      );
    if ('?$:@'.includes(c))
      return this.fail(start, `unexpected ${describeChar(s, start)}: parameters are not supported`);
    if (c.charCodeAt(0) >= 0x80)
      return this.fail(
        start,
        `unexpected character ${describeChar(s, start)}: put names with non-ASCII characters in backquotes`,
      );
    return this.fail(start, `unexpected character ${describeChar(s, start)}`);
  }

  private token(type: TokenType, text: string, pos: number, end: number): Token {
    this.at = end;
    return { type, text, pos, end };
  }

  /** `digits[.digits][e[+-]digits]`; a sign is the parser's business. */
  private lexNumber(start: number): Token {
    const s = this.src;
    let i = start;
    while (isDigit(s[i])) i++;
    if (s[i] === '.') {
      if (!isDigit(s[i + 1]))
        return this.fail(
          i + 1,
          `expected a digit after the decimal point in number '${s.slice(start, i + 1)}'`,
        );
      i++;
      while (isDigit(s[i])) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      let j = i + 1;
      if (s[j] === '+' || s[j] === '-') j++;
      if (!isDigit(s[j])) return this.fail(j, `expected exponent digits in number '${s.slice(start, j)}'`);
      while (isDigit(s[j])) j++;
      i = j;
    }
    if (isWordChar(s[i]) || s[i] === '.' || s[i] === '`' || s[i] === "'")
      return this.fail(i, `unexpected ${describeChar(s, i)} right after number '${s.slice(start, i)}'`);
    return this.token('number', s.slice(start, i), start, i);
  }

  /** `'it''s'` and `` `odd``name` ``: the quote doubled stands for itself. */
  private lexQuoted(start: number, quote: string, type: 'string' | 'qident'): Token {
    const s = this.src;
    let out = '';
    let i = start + 1;
    for (;;) {
      const j = s.indexOf(quote, i);
      if (j < 0) {
        const what = type === 'string' ? 'string' : 'quoted column name';
        return this.fail(start, `unterminated ${what}: missing closing ${quote}`);
      }
      out += s.slice(i, j);
      if (s[j + 1] === quote) {
        out += quote;
        i = j + 2;
      } else {
        i = j + 1;
        break;
      }
    }
    if (type === 'qident' && out === '') return this.fail(start, 'empty column name ``');
    return this.token(type, out, start, i);
  }
}

/** Offset of the first NUL or unpaired surrogate, which no engine would read back faithfully. */
export function findBadCodeUnit(text: string): { offset: number; reason: string } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) return { offset: i, reason: 'NUL characters (U+0000) are not allowed' };
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return { offset: i, reason: 'unpaired UTF-16 surrogate: the text is not valid Unicode' };
    }
    if (c >= 0xdc00 && c <= 0xdfff)
      return { offset: i, reason: 'unpaired UTF-16 surrogate: the text is not valid Unicode' };
  }
  return undefined;
}
