/**
 * JSON.parse rounds integers beyond 2^53 silently. Log lines rarely hold such numbers, so lines whose
 * text has a run of 16+ digits go through this small strict parser that keeps big integers as bigint.
 * Everything else uses the native JSON.parse (much faster).
 */
export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | { [k: string]: JsonValue };

const RUN = 16;

/**
 * Whether `text` holds 16 ASCII digits in a row (the same test as /\d{16}/, quicker): any such run covers
 * one index i with i % 16 === 15, so only those characters are looked at, and the run around a digit
 * found there is measured.
 */
export function hasLongDigitRun(text: string): boolean {
  const n = text.length;
  for (let i = RUN - 1; i < n; i += RUN) {
    let c = text.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let lo = i;
    while (lo > 0 && i - lo < RUN - 1) {
      c = text.charCodeAt(lo - 1);
      if (c < 48 || c > 57) break;
      lo--;
    }
    let hi = i;
    while (hi - lo < RUN - 1 && hi + 1 < n) {
      c = text.charCodeAt(hi + 1);
      if (c < 48 || c > 57) break;
      hi++;
    }
    if (hi - lo + 1 >= RUN) return true;
  }
  return false;
}

export function parseJsonLine(text: string): JsonValue {
  if (!hasLongDigitRun(text)) return JSON.parse(text) as JsonValue;
  return new Parser(text).parseDocument();
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    const v = this.value();
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected trailing characters');
    return v;
  }

  private fail(msg: string): never {
    throw new SyntaxError(`${msg} at position ${this.i}`);
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i]!)) this.i++;
  }

  private value(): JsonValue {
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [lit, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return v;
      }
    }
    return this.fail('unexpected token');
  }

  private object(): JsonValue {
    const o: Record<string, JsonValue> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') return (this.i++, o);
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a string key');
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') this.fail("expected ':'");
      o[k] = this.value();
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return o;
      if (c !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(): JsonValue {
    const a: JsonValue[] = [];
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') return (this.i++, a);
    for (;;) {
      a.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return a;
      if (c !== ',') this.fail("expected ',' or ']'");
    }
  }

  private string(): string {
    // Find the closing quote, honouring escapes, then let JSON.parse decode the literal exactly.
    const start = this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\') this.i += 2;
      else if (c === '"') {
        this.i++;
        return JSON.parse(this.s.slice(start, this.i)) as string;
      } else this.i++;
    }
    return this.fail('unterminated string');
  }

  private number(): number | bigint {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail('bad number');
    this.i += m[0].length;
    if (!m[2] && !m[3]) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
}

/** JSON text of a value, with bigints as exact integer literals. */
export function stringifyJson(v: JsonValue): string {
  // Fast path: the native serializer gives the same text for every bigint-free JsonValue (same key order,
  // same escaping, same number formatting) and throws a TypeError at the first bigint, unless something
  // gave BigInt a toJSON (then it would not throw, so it is not used).
  if (!bigintHasToJson()) {
    try {
      return JSON.stringify(v);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
    }
  }
  return stringifyExact(v);
}

const bigintHasToJson = () => typeof (BigInt.prototype as { toJSON?: unknown }).toJSON === 'function';

function stringifyExact(v: JsonValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringifyExact).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${stringifyExact(x)}`)
    .join(',')}}`;
}

export const hasBigInt = (v: JsonValue): boolean =>
  typeof v === 'bigint' ||
  (v !== null &&
    typeof v === 'object' &&
    (Array.isArray(v) ? v.some(hasBigInt) : Object.values(v).some(hasBigInt)));
