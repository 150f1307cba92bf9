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

/** Scans one line at a time into a reusable buffer (module state keeps the hot loop free of closures). */
const EMPTY = Buffer.alloc(0);
let b: Buffer = EMPTY;
let out: Buffer = Buffer.alloc(MAX_SKELETON + 16);
/** A buffer of its own (Buffer.alloc never pools) as 32-bit words, for hashing four bytes at a time. */
function words32(buf: Buffer): Uint32Array {
  if (buf.byteOffset % 4 !== 0) throw new Error('skeleton scratch buffer is not word-aligned');
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >> 2);
}
let out32 = words32(out);
let p = 0;
let o = 0;
let n = 0;

function ws(): void {
  while (p < n) {
    const c = b[p];
    if (c !== C.Space && c !== C.Tab) return;
    p++;
  }
}

/** With p at an opening quote: the index of the closing quote, or -1. */
function stringEnd(): number {
  let q = p + 1;
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

function digits(): boolean {
  const s = p;
  while (p < n) {
    const c = b[p]!;
    if (c < C.Zero || c > C.Nine) break;
    p++;
  }
  return p > s;
}

function literal(word: string, code: number): boolean {
  for (let i = 1; i < word.length; i++) if (b[p + i] !== word.charCodeAt(i)) return false;
  p += word.length;
  out[o++] = code;
  return true;
}

function number(): boolean {
  let integer = true;
  if (b[p] === C.Minus) p++;
  const start = p;
  if (b[p] === C.Zero) p++;
  else if (!digits()) return false;
  // 19 digits and more may pass 2^63 (or 2^127, beyond DuckDB's HUGEINT): such integers are classed with
  // the other numbers, which no integer column takes in SQL (the Conformer decides them).
  if (p - start >= 19) integer = false;
  if (b[p] === C.Dot) {
    integer = false;
    p++;
    if (!digits()) return false;
  }
  if (b[p] === C.LowerE || b[p] === C.UpperE) {
    integer = false;
    p++;
    if (b[p] === C.Plus || b[p] === C.Minus) p++;
    if (!digits()) return false;
  }
  out[o++] = integer ? INTEGER : DOUBLE;
  return true;
}

function object(depth: number): boolean {
  p++;
  out[o++] = C.OpenBrace;
  ws();
  if (b[p] === C.CloseBrace) {
    p++;
    out[o++] = C.CloseBrace;
    return true;
  }
  for (;;) {
    ws();
    if (b[p] !== C.Quote) return false;
    const e = stringEnd();
    if (e < 0) return false;
    const len = e - p - 1;
    if (o + len + 8 > MAX_SKELETON) return false;
    out[o++] = len >> 8;
    out[o++] = len & 0xff;
    for (let i = p + 1; i < e; i++) out[o++] = b[i]!; // keys are short: a loop beats Buffer#copy
    p = e + 1;
    ws();
    if (b[p] !== C.Colon) return false;
    p++;
    if (!value(depth + 1)) return false;
    ws();
    const c = b[p];
    p++;
    if (c === C.Comma) continue;
    if (c !== C.CloseBrace) return false;
    out[o++] = C.CloseBrace;
    return true;
  }
}

function array(depth: number): boolean {
  p++;
  ws();
  let kinds = 0;
  if (b[p] !== C.CloseBracket)
    for (;;) {
      ws();
      if (b[p] === C.OpenBrace || b[p] === C.OpenBracket) return false;
      const at = o;
      if (!value(depth + 1)) return false;
      kinds |= 1 << (out[at]! & 7);
      o = at;
      ws();
      if (b[p] === C.Comma) {
        p++;
        continue;
      }
      if (b[p] !== C.CloseBracket) return false;
      break;
    }
  p++;
  out[o++] = C.OpenBracket;
  out[o++] = 0x40 | kinds;
  out[o++] = C.CloseBracket;
  return true;
}

function value(depth: number): boolean {
  ws();
  if (p >= n || o + 8 > MAX_SKELETON) return false;
  const c = b[p]!;
  if (c === C.Quote) {
    const e = stringEnd();
    if (e < 0) return false;
    p = e + 1;
    out[o++] = STRING;
    return true;
  }
  if (c === C.OpenBrace) return depth < MAX_DEPTH && object(depth);
  if (c === C.OpenBracket) return depth < MAX_DEPTH && array(depth);
  if (c === 0x74) return literal('true', BOOLEAN);
  if (c === 0x66) return literal('false', BOOLEAN);
  if (c === 0x6e) return literal('null', NULL);
  return number();
}

/** Scans a line into the scratch buffer; whether it holds one JSON object the scanner vouches for. */
function scan(line: Buffer): boolean {
  b = line;
  p = 0;
  o = 0;
  n = line.length;
  ws();
  const ok = b[p] === C.OpenBrace && object(0);
  ws();
  b = EMPTY;
  return ok && p === n;
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
