/**
 * The skeleton of a JSON Lines record: its keys (in order, at every level) and the JSON kind of every
 * value, without the values. Two lines with the same skeleton have the same shape, so whether a line's
 * values fit a schema without rescue or new columns is decided once per skeleton (see route.ts), not per
 * line, and no JSON is parsed for it.
 *
 * The scanner is strict about structure (objects, arrays, commas, colons, literals, number syntax) and
 * lax inside strings: it only finds where a string ends. A line it accepts may still be invalid JSON
 * (a bad escape, a control character); DuckDB rejects those when it types the line, and they then go
 * through the JS path (see sql-chunks.ts). It vouches for nothing it does not fully understand: any
 * other text, arrays of containers, depth beyond 32 or a skeleton over 64 KiB give `undefined`.
 *
 * Encoding (prefix-free, so equal bytes mean equal structure): an object is `{`, then per member the key
 * length (2 bytes, big-endian), the key's raw bytes and the value's code, then `}`. Scalars: S string,
 * I number without fraction or exponent and under 19 digits, D other number, B boolean, N null. An array is `[`, one byte
 * 0x40 | (bit per scalar kind seen), `]`.
 */
import type { Shape } from './sql-conform';

const MAX_DEPTH = 32;
const MAX_SKELETON = 64 * 1024;
/** Strings up to this long are scanned byte by byte; longer ones jump from quote to quote. */
const SHORT_STRING = 48;

const enum C {
  Tab = 0x09,
  Space = 0x20,
  Quote = 0x22,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  Nine = 0x39,
  Colon = 0x3a,
  Plus = 0x2b,
  UpperE = 0x45,
  LowerE = 0x65,
  OpenBracket = 0x5b,
  Backslash = 0x5c,
  CloseBracket = 0x5d,
  OpenBrace = 0x7b,
  CloseBrace = 0x7d,
}
/** Scalar codes; their low 3 bits are distinct, for the array kind mask. */
const STRING = 0x53; // S
const INTEGER = 0x49; // I
const DOUBLE = 0x44; // D
const BOOLEAN = 0x42; // B
const NULL = 0x4e; // N

/** The skeleton is written into a reusable scratch buffer (its length: `o`, set by `scan`). */
let out: Buffer = Buffer.alloc(MAX_SKELETON + 16);
/** A buffer of its own (Buffer.alloc never pools) as 32-bit words, for hashing four bytes at a time. */
function words32(buf: Buffer): Uint32Array {
  if (buf.byteOffset % 4 !== 0) throw new Error('skeleton scratch buffer is not word-aligned');
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
}
let out32 = words32(out);
let o = 0;

/** With b[q] an opening quote: the index of the closing quote, or -1. */
function stringEnd(b: Buffer, q: number, n: number): number {
  q++;
  const lim = Math.min(n, q + SHORT_STRING);
  while (q < lim) {
    const c = b[q];
    if (c === C.Quote) return q;
    q += c === C.Backslash ? 2 : 1;
  }
  // q is never inside an escape pair here, so the backslashes right before a quote found from q decide.
  for (;;) {
    if (q >= n) return -1;
    const e = b.indexOf(C.Quote, q);
    if (e < 0) return -1;
    let k = e - 1;
    while (k >= q && b[k] === C.Backslash) k--;
    if ((e - 1 - k) % 2 === 0) return e;
    q = e + 1;
  }
}

/** The code of the scalar the last scalarEnd/numberEnd call read. */
let scalarCode = 0;

/** The index after the decimal digits from b[p] on (p itself when there are none). */
function digitsEnd(b: Buffer, p: number, n: number): number {
  while (p < n && b[p]! >= C.Zero && b[p]! <= C.Nine) p++;
  return p;
}

/** The index after the blanks (spaces, tabs) from b[p] on. */
function blanksEnd(b: Buffer, p: number, n: number): number {
  while (p < n && (b[p] === C.Space || b[p] === C.Tab)) p++;
  return p;
}

/**
 * With b[p] the first byte of a number: the index after it, its code (INTEGER or DOUBLE) in `scalarCode`;
 * -1 when it is no JSON number.
 */
function numberEnd(b: Buffer, p: number, n: number): number {
  let integer = true;
  if (b[p] === C.Minus) p++;
  const start = p;
  if (b[p] === C.Zero) p++;
  else if ((p = digitsEnd(b, p, n)) === start) return -1;
  // 19 digits and more may pass 2^63 (or 2^127, beyond DuckDB's HUGEINT): such integers are classed with
  // the other numbers, which no integer column takes in SQL (the Conformer decides them).
  if (p - start >= 19) integer = false;
  if (b[p] === C.Dot) {
    integer = false;
    const s = p + 1;
    if ((p = digitsEnd(b, s, n)) === s) return -1;
  }
  if (b[p] === C.LowerE || b[p] === C.UpperE) {
    integer = false;
    let s = p + 1;
    if (b[s] === C.Plus || b[s] === C.Minus) s++;
    if ((p = digitsEnd(b, s, n)) === s) return -1;
  }
  scalarCode = integer ? INTEGER : DOUBLE;
  return p;
}

/** With b[p] the first byte of a scalar: the index after it, its code in `scalarCode`; -1 if none. */
function scalarEnd(b: Buffer, p: number, n: number): number {
  const c = b[p];
  if (c === C.Quote) {
    const e = stringEnd(b, p, n);
    scalarCode = STRING;
    return e < 0 ? -1 : e + 1;
  }
  if (c === 0x74) return word(b, p, TRUE, BOOLEAN);
  if (c === 0x66) return word(b, p, FALSE, BOOLEAN);
  if (c === 0x6e) return word(b, p, NULL_WORD, NULL);
  return numberEnd(b, p, n);
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL_WORD = Buffer.from('null');
function word(b: Buffer, p: number, w: Buffer, code: number): number {
  for (let i = 1; i < w.length; i++) if (b[p + i] !== w[i]) return -1;
  scalarCode = code;
  return p + w.length;
}

/**
 * Scans a line into the scratch buffer (`o` its length); whether it holds one JSON object the scanner
 * vouches for. One loop with the position in a local: objects nest (a depth count is their whole stack, as
 * an object member's value is the only place a container can open), arrays are flat (scalars only).
 */
function scan(b: Buffer): boolean {
  const n = b.length;
  const ob = out;
  let p = 0;
  let q = 0;
  p = blanksEnd(b, p, n);
  if (b[p] !== C.OpenBrace) return false;
  p++;
  ob[q++] = C.OpenBrace;
  /** Depth of the object being scanned (the line's object is 0). */
  let depth = 0;
  /** Whether the object just opened (a `}` may close it at once; no member yet). */
  let fresh = true;
  for (;;) {
    // At a member (or the end of a fresh object).
    p = blanksEnd(b, p, n);
    if (fresh && b[p] === C.CloseBrace) {
      // An empty object: closed like any other, below.
    } else {
      if (b[p] !== C.Quote) return false;
      // The key, copied as it is scanned (one pass; keys are short, so a loop beats indexOf and copy).
      // Bytes past the scratch buffer's end are dropped by the typed array; the length check refuses them.
      const at = q;
      q += 2;
      let k = p + 1;
      for (;;) {
        if (k >= n) return false;
        const c = b[k]!;
        if (c === C.Quote) break;
        ob[q++] = c;
        k++;
        if (c === C.Backslash) {
          if (k >= n) return false;
          ob[q++] = b[k++]!;
        }
      }
      const len = k - p - 1;
      if (at + len + 8 > MAX_SKELETON) return false;
      ob[at] = len >> 8;
      ob[at + 1] = len & 0xff;
      p = k + 1;
      p = blanksEnd(b, p, n);
      if (b[p] !== C.Colon) return false;
      p++;
      // The member's value (at depth + 1).
      p = blanksEnd(b, p, n);
      if (p >= n || q + 8 > MAX_SKELETON) return false;
      const c = b[p];
      if (c === C.OpenBrace) {
        if (depth + 1 >= MAX_DEPTH) return false;
        depth++;
        p++;
        ob[q++] = C.OpenBrace;
        fresh = true;
        continue;
      }
      if (c === C.OpenBracket) {
        if (depth + 1 >= MAX_DEPTH) return false;
        p++;
        let kinds = 0;
        p = blanksEnd(b, p, n);
        if (b[p] !== C.CloseBracket)
          for (;;) {
            p = blanksEnd(b, p, n);
            const d = b[p];
            if (d === C.OpenBrace || d === C.OpenBracket || p >= n || q + 8 > MAX_SKELETON) return false;
            p = scalarEnd(b, p, n);
            if (p < 0) return false;
            kinds |= 1 << (scalarCode & 7);
            p = blanksEnd(b, p, n);
            if (b[p] === C.Comma) {
              p++;
              continue;
            }
            if (b[p] !== C.CloseBracket) return false;
            break;
          }
        p++;
        ob[q++] = C.OpenBracket;
        ob[q++] = 0x40 | kinds;
        ob[q++] = C.CloseBracket;
      } else {
        p = scalarEnd(b, p, n);
        if (p < 0) return false;
        ob[q++] = scalarCode;
      }
    }
    // After a member's value, or an object that closed: a comma, or the end of objects.
    for (;;) {
      p = blanksEnd(b, p, n);
      const c = b[p];
      p++;
      if (c === C.Comma) break;
      if (c !== C.CloseBrace) return false;
      ob[q++] = C.CloseBrace;
      if (depth === 0) {
        p = blanksEnd(b, p, n);
        o = q;
        return p === n;
      }
      depth--;
    }
    fresh = false;
  }
}

/** The skeleton of a line holding one JSON object (as latin1 text), or undefined. */
export function skeletonOf(line: Buffer): string | undefined {
  return scan(line) ? out.toString('latin1', 0, o) : undefined;
}

/**
 * Skeletons seen so far, each with a small integer id. Looking a line's skeleton up costs a hash over its
 * bytes and one comparison with the stored skeleton, with no string made per line (a per-line Map key
 * was a quarter of the scan's cost). Equal ids mean byte-equal skeletons: ids are never guessed from a
 * hash alone.
 */
export class SkeletonIds {
  private slots = new Int32Array(1024).fill(-1);
  private readonly hashes: number[] = [];
  private readonly skeletons: Buffer[] = [];
  /** Total length of the stored skeletons. */
  bytes = 0;

  get size(): number {
    return this.skeletons.length;
  }

  /** The skeleton of id `id`, as skeletonOf gives it. */
  text(id: number): string {
    return this.skeletons[id]!.toString('latin1');
  }

  /**
   * The id of `line`'s skeleton; a new id when `canAdd` allows one for a skeleton not seen before; -1 when
   * the scanner does not vouch for the line, or for an unseen skeleton that may not be added.
   */
  idOf(line: Buffer, canAdd: (length: number) => boolean): number {
    if (!scan(line)) return -1;
    let h = 0x811c9dc5;
    const words = o >> 2;
    for (let i = 0; i < words; i++) h = Math.imul(h ^ out32[i]!, 0x01000193);
    for (let i = words << 2; i < o; i++) h = Math.imul(h ^ out[i]!, 0x01000193);
    h ^= h >>> 15;
    const mask = this.slots.length - 1;
    for (let at = h & mask; ; at = (at + 1) & mask) {
      const id = this.slots[at]!;
      if (id < 0) break;
      if (this.hashes[id] === h) {
        const k = this.skeletons[id]!;
        if (k.length === o && out.compare(k, 0, o, 0, o) === 0) return id;
      }
    }
    if (!canAdd(o)) return -1;
    const id = this.skeletons.length;
    this.skeletons.push(Buffer.from(out.subarray(0, o)));
    this.hashes.push(h);
    this.bytes += o;
    if (this.skeletons.length * 2 > this.slots.length) this.rehash(this.slots.length * 4);
    else this.place(id);
    return id;
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let at = this.hashes[id]! & mask;
    while (this.slots[at]! >= 0) at = (at + 1) & mask;
    this.slots[at] = id;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size).fill(-1);
    for (let id = 0; id < this.skeletons.length; id++) this.place(id);
  }
}

/** Keeps the scratch buffer small in tests that want to see the size limit (not used in production). */
export function _setScratch(size: number): void {
  out = Buffer.alloc(size);
  out32 = words32(out);
}

const KIND_SHAPE: [number, string][] = [
  [STRING, 'VARCHAR'],
  [INTEGER, 'BIGINT'],
  [DOUBLE, 'DOUBLE'],
  [BOOLEAN, 'BOOLEAN'],
];

/**
 * The shape of a skeleton in DuckDB `json_structure` terms (what `shapeFits` takes), or undefined when an
 * object holds a key twice (JSON.parse keeps the last value and DuckDB the first: such lines go to JS).
 */
export function shapeOfSkeleton(s: string): Shape | undefined {
  let i = 0;
  const val = (): Shape | undefined => {
    const c = s.charCodeAt(i++);
    if (c === C.OpenBrace) {
      const obj: { [k: string]: Shape } = {};
      while (s.charCodeAt(i) !== C.CloseBrace) {
        const len = (s.charCodeAt(i) << 8) | s.charCodeAt(i + 1);
        const raw = Buffer.from(s.slice(i + 2, i + 2 + len), 'latin1').toString('utf8');
        i += 2 + len;
        const key = JSON.parse(`"${raw}"`) as string;
        const v = val();
        if (v === undefined || Object.prototype.hasOwnProperty.call(obj, key)) return undefined;
        obj[key] = v;
      }
      i++;
      return obj;
    }
    if (c === C.OpenBracket) {
      const kinds = s.charCodeAt(i++) & 0x3f;
      i++;
      const seen = KIND_SHAPE.filter(([k]) => kinds & (1 << (k & 7))).map(([, t]) => t);
      if (seen.length === 0) return ['NULL'];
      if (seen.length === 1) return [seen[0]!];
      if (seen.length === 2 && seen.includes('BIGINT') && seen.includes('DOUBLE')) return ['DOUBLE'];
      return ['JSON']; // mixed kinds: fits no typed array
    }
    return c === NULL ? 'NULL' : KIND_SHAPE.find(([k]) => k === c)?.[1];
  };
  try {
    return val();
  } catch {
    return undefined; // a key whose escapes are not valid JSON: the line goes to JS (and quarantine)
  }
}
