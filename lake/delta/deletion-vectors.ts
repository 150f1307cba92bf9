/**
 * Deletion vectors (Delta PROTOCOL.md "Deletion Vectors" and Appendix "Deletion Vector Format").
 *
 * A DV is the set of physical row indexes of one data file that are logically deleted. It is stored
 * inline in the log (Z85 text) or in a `.bin` file in the table root, as a RoaringBitmapArray: a magic
 * number followed by a 64-bit Roaring bitmap in the portable format. Everything here is pure except
 * `loadDeletionVector`, which reads through the ObjectStore it is given.
 *
 * Row indexes are returned as JS numbers. They are exact up to 2^53 - 1; a DV holding a larger index
 * (impossible for a real Parquet file) is refused with PROTOCOL_UNSUPPORTED rather than rounded.
 */
import * as zlib from 'node:zlib';
import { TributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';

// ---------------------------------------------------------------------------------------------------------
// Descriptor
// ---------------------------------------------------------------------------------------------------------

export type DvStorageType = 'u' | 'i' | 'p';

/** The `deletionVector` field of `add`/`remove` (PROTOCOL.md "Deletion Vector Descriptor Schema"). */
export interface DeletionVectorDescriptor {
  /** 'u': relative path from a UUID, 'i': inline, 'p': absolute path. */
  storageType: DvStorageType;
  /** 'u': `<random prefix><20-char Z85 UUID>`; 'i': Z85 bytes of the bitmap; 'p': absolute path (URI form). */
  pathOrInlineDv: string;
  /** Byte offset of this DV inside its file; absent for inline DVs. */
  offset?: number;
  /** Size of the serialized bitmap (magic number included), before Z85 encoding when inline. */
  sizeInBytes: number;
  /** Number of rows this DV deletes. */
  cardinality: number;
}

/** Magic number of the portable RoaringBitmapArray format, the one the protocol specifies. */
export const DV_MAGIC_PORTABLE = 1681511377;
/** Magic number of delta-spark's older "native" RoaringBitmapArray format; readers of delta-spark accept it too. */
export const DV_MAGIC_NATIVE = 1681511376;
/** Format version byte at the start of a DV file (Appendix "Deletion Vector File Storage Format"). */
export const DV_FILE_FORMAT_VERSION = 1;
/** Length of the Z85 text of a 16-byte UUID. */
const ENCODED_UUID_LENGTH = 20;

const invalid = (message: string, cause?: unknown) => new TributaryError('INVALID_LOG', message, { cause });

/**
 * PROTOCOL.md "Derived Fields", `uniqueId`: `<storageType><pathOrInlineDv>` plus `@<offset>` when an offset
 * is present. Log replay keys logical files by `(path, dvUniqueId)`.
 */
export function dvUniqueId(dv: DeletionVectorDescriptor): string {
  // Checkpoint rows carry an absent offset as null: both mean "no offset".
  return dv.offset === undefined || dv.offset === null
    ? `${dv.storageType}${dv.pathOrInlineDv}`
    : `${dv.storageType}${dv.pathOrInlineDv}@${dv.offset}`;
}

function toSafeInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return undefined;
}

/**
 * Turns a raw `deletionVector` value (from JSON, or from a checkpoint row where longs may be bigint and an
 * absent offset is null) into a descriptor, enforcing the schema. `where` names the action for the message.
 */
export function parseDeletionVectorDescriptor(raw: unknown, where: string): DeletionVectorDescriptor {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid(`${where}: deletionVector must be an object, got ${JSON.stringify(raw)}`);
  const r = raw as Record<string, unknown>;
  const storageType = r['storageType'];
  if (storageType !== 'u' && storageType !== 'i' && storageType !== 'p')
    throw invalid(
      `${where}: deletionVector.storageType must be one of 'u', 'i', 'p', got ${JSON.stringify(storageType)}`,
    );
  const pathOrInlineDv = r['pathOrInlineDv'];
  if (typeof pathOrInlineDv !== 'string' || pathOrInlineDv.length === 0)
    throw invalid(`${where}: deletionVector.pathOrInlineDv must be a non-empty string`);
  const sizeInBytes = toSafeInt(r['sizeInBytes']);
  if (sizeInBytes === undefined || sizeInBytes < 0)
    throw invalid(
      `${where}: deletionVector.sizeInBytes must be a non-negative integer, got ${String(r['sizeInBytes'])}`,
    );
  const cardinality = toSafeInt(r['cardinality']);
  if (cardinality === undefined || cardinality < 0)
    throw invalid(
      `${where}: deletionVector.cardinality must be a non-negative integer, got ${String(r['cardinality'])}`,
    );
  const dv: DeletionVectorDescriptor = { storageType, pathOrInlineDv, sizeInBytes, cardinality };
  const rawOffset = r['offset'];
  if (rawOffset !== undefined && rawOffset !== null) {
    const offset = toSafeInt(rawOffset);
    if (offset === undefined || offset < 0)
      throw invalid(
        `${where}: deletionVector.offset must be a non-negative integer, got ${String(rawOffset)}`,
      );
    // PROTOCOL.md: offset is "Always None (absent in JSON) when storageType = 'i'".
    if (storageType === 'i')
      throw invalid(`${where}: inline deletionVector must not have an offset (got ${offset})`);
    dv.offset = offset;
  }
  return dv;
}

// ---------------------------------------------------------------------------------------------------------
// Z85 (https://rfc.zeromq.org/spec/32/), as delta uses it: 4-byte big-endian blocks, 5 chars each.
// Unaligned input is zero-padded on encode; the descriptor's sizeInBytes says how many bytes are real.
// ---------------------------------------------------------------------------------------------------------

const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_DECODE: Int16Array = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < Z85_ALPHABET.length; i++) t[Z85_ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Decodes Z85 text (length a multiple of 5) into bytes (length a multiple of 4). Throws INVALID_LOG. */
export function z85Decode(text: string): Uint8Array {
  if (text.length % 5 !== 0) throw invalid(`Z85 text must be a multiple of 5 characters, got ${text.length}`);
  const out = new Uint8Array((text.length / 5) * 4);
  const view = new DataView(out.buffer);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const c = text.charCodeAt(i + j);
      const d = c < 128 ? (Z85_DECODE[c] ?? -1) : -1;
      if (d < 0) throw invalid(`invalid Z85 character ${JSON.stringify(text[i + j])} at position ${i + j}`);
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw invalid(`Z85 block at position ${i} exceeds 32 bits`);
    view.setUint32(o, v, false);
  }
  return out;
}

/** Encodes bytes as Z85, zero-padding to a multiple of 4 bytes (delta-spark `Base85Codec.encodeBytes`). */
export function z85Encode(bytes: Uint8Array): string {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  let out = '';
  for (let o = 0; o < padded.length; o += 4) {
    let v = view.getUint32(o, false);
    const block = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      block[j] = Z85_ALPHABET[v % 85] as string;
      v = Math.floor(v / 85);
    }
    out += block.join('');
  }
  return out;
}

/** Decodes a 20-character Z85 UUID into its canonical lowercase textual form. */
export function z85DecodeUuid(encoded: string): string {
  if (encoded.length !== ENCODED_UUID_LENGTH)
    throw invalid(
      `a Z85-encoded UUID has ${ENCODED_UUID_LENGTH} characters, got ${encoded.length} (${encoded})`,
    );
  const hex = Buffer.from(z85Decode(encoded)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------------------

/**
 * PROTOCOL.md "Derived Fields", `absolutePath`, without the parent:
 * - 'u': `<random prefix>/deletion_vector_<uuid>.bin` (no prefix directory when the prefix is empty),
 *   a key relative to the table root;
 * - 'p': the absolute path exactly as logged (the caller resolves it; see `dvStoreKey`);
 * - 'i': undefined, an inline DV has no file.
 */
export function dvRelativePath(dv: DeletionVectorDescriptor): string | undefined {
  switch (dv.storageType) {
    case 'i':
      return undefined;
    case 'p':
      return dv.pathOrInlineDv;
    case 'u': {
      const s = dv.pathOrInlineDv;
      if (s.length < ENCODED_UUID_LENGTH)
        throw invalid(
          `deletion vector path ${JSON.stringify(s)} is shorter than a ${ENCODED_UUID_LENGTH}-character Z85 UUID`,
        );
      // The random prefix is whatever precedes the fixed-length UUID.
      const prefix = s.slice(0, s.length - ENCODED_UUID_LENGTH);
      const file = `deletion_vector_${z85DecodeUuid(s.slice(s.length - ENCODED_UUID_LENGTH))}.bin`;
      return prefix === '' ? file : `${prefix}/${file}`;
    }
  }
}

function parseUrlish(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    // A bare absolute filesystem path: compare it as a file URL.
    if (s.startsWith('/')) {
      try {
        return new URL(`file://${s}`);
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/**
 * The store key (relative to the table root) of an on-disk DV. A 'p' path is accepted only when it lies
 * inside `tableRootUrl` (same scheme, authority and path prefix): the store can read nothing else.
 */
export function dvStoreKey(dv: DeletionVectorDescriptor, tableRootUrl: string): string {
  const rel = dvRelativePath(dv);
  if (rel === undefined)
    throw new TributaryError('BAD_INPUT', `inline deletion vector ${dvUniqueId(dv)} has no file`);
  if (dv.storageType === 'u') return rel;
  const path = parseUrlish(rel);
  const root = parseUrlish(tableRootUrl);
  if (path && root) {
    const rootPath = root.pathname.endsWith('/') ? root.pathname : `${root.pathname}/`;
    const sameAuthority =
      path.protocol === root.protocol &&
      path.host === root.host &&
      path.username === root.username &&
      path.password === root.password;
    if (sameAuthority && path.pathname.startsWith(rootPath) && path.pathname.length > rootPath.length) {
      let key: string;
      try {
        // The 'p' path has the URI-encoded form of add.path; store keys are decoded.
        key = path.pathname.slice(rootPath.length).split('/').map(decodeURIComponent).join('/');
      } catch (e) {
        throw invalid(`deletion vector path ${rel} is not valid URI-encoded text`, e);
      }
      return key;
    }
  }
  throw new TributaryError(
    'PROTOCOL_UNSUPPORTED',
    `deletion vector ${rel} (storageType 'p') lies outside the table root ${tableRootUrl}; ` +
      `only absolute DV paths inside the table root can be read`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Deleted rows
// ---------------------------------------------------------------------------------------------------------

/** The decoded rows of one DV: physical row indexes (0-based) of the data file that must be skipped. */
export interface DeletedRows {
  readonly size: number;
  has(rowIndex: number): boolean;
  /** Ascending, unique row indexes (a fresh copy). */
  toSortedArray(): number[];
}

class SortedRows implements DeletedRows {
  constructor(private readonly rows: Float64Array) {}
  get size(): number {
    return this.rows.length;
  }
  has(rowIndex: number): boolean {
    let lo = 0;
    let hi = this.rows.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.rows[mid] as number;
      if (v === rowIndex) return true;
      if (v < rowIndex) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
  toSortedArray(): number[] {
    return Array.from(this.rows);
  }
}

/** A DeletedRows over an ascending, duplicate-free list (checked). */
export function deletedRowsFromSorted(rows: ArrayLike<number>): DeletedRows {
  const arr = Float64Array.from(rows);
  for (let i = 1; i < arr.length; i++)
    if (!((arr[i] as number) > (arr[i - 1] as number)))
      throw new TributaryError('BAD_INPUT', 'row indexes must be strictly ascending');
  return new SortedRows(arr);
}

export const NO_DELETED_ROWS: DeletedRows = new SortedRows(new Float64Array(0));

// ---------------------------------------------------------------------------------------------------------
// RoaringBitmapArray (Appendix "Deletion Vector Format"; https://github.com/RoaringBitmap/RoaringFormatSpec)
// ---------------------------------------------------------------------------------------------------------

const SERIAL_COOKIE_NO_RUNCONTAINER = 12346;
const SERIAL_COOKIE = 12347;
/** With SERIAL_COOKIE, the offset header is written only from this many containers on. */
const NO_OFFSET_THRESHOLD = 4;
/** Array containers hold at most this many values; more are stored as a 2^16-bit bitmap. */
const ARRAY_MAX_CARDINALITY = 4096;
const BITMAP_CONTAINER_BYTES = 8192;
/** key * 2^32 + low stays a safe integer while key < 2^21. */
const MAX_SAFE_HIGH_KEY = 2 ** 21;

interface Container {
  high: number; // upper 32 bits (bucket key)
  key: number; // bits 16..31
  cardinality: number;
  kind: 'array' | 'bitmap' | 'run';
  start: number; // byte position of the container data
  runs: number; // run containers only
}

/** Bounds-checked little-endian reader over the bitmap bytes; every failure is INVALID_LOG naming `label`. */
class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly label: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string): TributaryError {
    return invalid(`deletion vector ${this.label}: ${message}`);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length)
      throw this.fail(
        `truncated bitmap: ${what} needs ${n} bytes at ${this.pos}, only ${this.bytes.length - this.pos} left`,
      );
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** Parses one standard 32-bit Roaring bitmap at r.pos, appending its container descriptors; advances r.pos. */
function parseRoaring32(r: Reader, high: number, out: Container[]): void {
  const cookie = r.u32('cookie');
  let count: number;
  let runFlags: Uint8Array | undefined;
  if ((cookie & 0xffff) === SERIAL_COOKIE) {
    count = (cookie >>> 16) + 1;
    const flagBytes = Math.ceil(count / 8);
    r.need(flagBytes, 'run-container bitset');
    runFlags = r.bytes.subarray(r.pos, r.pos + flagBytes);
    r.pos += flagBytes;
  } else if (cookie === SERIAL_COOKIE_NO_RUNCONTAINER) {
    count = r.u32('container count');
    if (count > 65536) throw r.fail(`container count ${count} exceeds 65536`);
  } else {
    throw r.fail(
      `unknown Roaring cookie ${cookie} in bucket ${high} (expected ${SERIAL_COOKIE_NO_RUNCONTAINER} or ${SERIAL_COOKIE})`,
    );
  }

  // Descriptive header: (16-bit key, cardinality - 1) per container, keys ascending.
  r.need(count * 4, 'descriptive header');
  const headerAt = r.pos;
  r.pos += count * 4;
  // Offset header: always with the no-run cookie, and with run containers from NO_OFFSET_THRESHOLD on.
  // Like the reference readers (Java RoaringArray, CRoaring) we read containers sequentially and skip it.
  if (runFlags === undefined || count >= NO_OFFSET_THRESHOLD) r.skip(count * 4, 'offset header');

  let prevKey = -1;
  for (let i = 0; i < count; i++) {
    const key = r.u16(headerAt + i * 4);
    const cardinality = r.u16(headerAt + i * 4 + 2) + 1;
    if (key <= prevKey)
      throw r.fail(`container keys not ascending in bucket ${high} (${key} after ${prevKey})`);
    prevKey = key;
    const isRun = runFlags !== undefined && (((runFlags[i >>> 3] as number) >>> (i & 7)) & 1) === 1;
    const start = r.pos;
    if (isRun) {
      r.need(2, 'run count');
      const runs = r.u16(r.pos);
      r.skip(2 + runs * 4, `run container with ${runs} runs`);
      out.push({ high, key, cardinality, kind: 'run', start: start + 2, runs });
    } else if (cardinality <= ARRAY_MAX_CARDINALITY) {
      r.skip(cardinality * 2, `array container of ${cardinality} values`);
      out.push({ high, key, cardinality, kind: 'array', start, runs: 0 });
    } else {
      r.skip(BITMAP_CONTAINER_BYTES, 'bitmap container');
      out.push({ high, key, cardinality, kind: 'bitmap', start, runs: 0 });
    }
  }
}

function checkHighKey(r: Reader, high: number): void {
  // Delta requires the most significant bit of every key to be 0; we further need key * 2^32 to be exact.
  if (high >= 0x80000000) throw r.fail(`bucket key ${high} has its most significant bit set`);
  if (high >= MAX_SAFE_HIGH_KEY)
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `deletion vector ${r.label}: row indexes from ${high} * 2^32 exceed 2^53 and cannot be represented exactly`,
    );
}

/**
 * Decodes a serialized RoaringBitmapArray (magic number + 64-bit bitmap) into ascending, unique row
 * indexes. When `expectedCardinality` is given, the count in the container headers must equal it before any
 * row array is allocated. `label` names the DV in error messages.
 */
export function decodeRoaringBitmapArray(
  bytes: Uint8Array,
  label = 'bitmap',
  expectedCardinality?: number,
): Float64Array {
  const r = new Reader(bytes, label);
  const magic = r.u32('magic number');
  const containers: Container[] = [];
  if (magic === DV_MAGIC_PORTABLE) {
    // 64-bit count of buckets, then per bucket: 32-bit key (high bits), standard 32-bit Roaring bitmap.
    const countLo = r.u32('bucket count');
    const countHi = r.u32('bucket count');
    if (countHi !== 0 || countLo > 0x7fffffff)
      throw r.fail(`bucket count ${countHi * 2 ** 32 + countLo} is out of range`);
    let prevHigh = -1;
    for (let b = 0; b < countLo; b++) {
      const high = r.u32('bucket key');
      if (high <= prevHigh) throw r.fail(`bucket keys not ascending (${high} after ${prevHigh})`);
      checkHighKey(r, high);
      prevHigh = high;
      parseRoaring32(r, high, containers);
    }
  } else if (magic === DV_MAGIC_NATIVE) {
    // delta-spark's native format: 32-bit count, then per bucket (key = its index): 32-bit size, bitmap.
    const count = r.u32('bitmap count');
    if (count > 0x7fffffff) throw r.fail(`bitmap count ${count} is out of range`);
    for (let high = 0; high < count; high++) {
      const size = r.u32('bitmap size');
      const at = r.pos;
      if (size === 0) continue;
      checkHighKey(r, high);
      parseRoaring32(r, high, containers);
      if (r.pos - at !== size) throw r.fail(`bitmap ${high} declares ${size} bytes but spans ${r.pos - at}`);
    }
  } else {
    throw r.fail(`unknown RoaringBitmapArray magic number ${magic} (expected ${DV_MAGIC_PORTABLE})`);
  }

  let total = 0;
  for (const c of containers) total += c.cardinality;
  if (expectedCardinality !== undefined && total !== expectedCardinality)
    throw r.fail(`cardinality mismatch: the log says ${expectedCardinality}, the bitmap holds ${total} rows`);

  const rows = new Float64Array(total);
  let n = 0;
  let last = -1;
  const push = (v: number) => {
    if (v <= last) throw r.fail(`row indexes not strictly ascending (${v} after ${last})`);
    // n stays below total: array containers push exactly their header count, and run/bitmap containers are
    // counted against their header before anything is pushed.
    rows[n++] = v;
    last = v;
  };
  for (const c of containers) {
    const base = c.high * 2 ** 32 + c.key * 65536;
    const before = n;
    if (c.kind === 'array') {
      for (let i = 0; i < c.cardinality; i++) push(base + r.u16(c.start + i * 2));
    } else if (c.kind === 'run') {
      let sum = 0;
      for (let i = 0; i < c.runs; i++) sum += r.u16(c.start + i * 4 + 2) + 1;
      if (sum !== c.cardinality)
        throw r.fail(
          `run container ${c.high}/${c.key} holds ${sum} values, its header says ${c.cardinality}`,
        );
      for (let i = 0; i < c.runs; i++) {
        const from = r.u16(c.start + i * 4);
        const len = r.u16(c.start + i * 4 + 2) + 1;
        if (from + len > 65536) throw r.fail(`run ${from}+${len} overflows container ${c.high}/${c.key}`);
        for (let v = from; v < from + len; v++) push(base + v);
      }
    } else {
      let pop = 0;
      for (let i = 0; i < BITMAP_CONTAINER_BYTES; i++) {
        let byte = r.bytes[c.start + i] as number;
        while (byte !== 0) {
          byte &= byte - 1;
          pop++;
        }
      }
      if (pop !== c.cardinality)
        throw r.fail(
          `bitmap container ${c.high}/${c.key} holds ${pop} values, its header says ${c.cardinality}`,
        );
      // Little-endian 64-bit words: bit j of byte i is value 8 * i + j.
      for (let i = 0; i < BITMAP_CONTAINER_BYTES; i++) {
        const byte = r.bytes[c.start + i] as number;
        if (byte === 0) continue;
        for (let j = 0; j < 8; j++) if ((byte >>> j) & 1) push(base + i * 8 + j);
      }
    }
    if (n - before !== c.cardinality)
      throw r.fail(
        `container ${c.high}/${c.key} decoded ${n - before} values, its header says ${c.cardinality}`,
      );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// CRC-32 (ISO-HDLC, as java.util.zip.CRC32): node:zlib's when present (Node >= 20.15 / 22.2), else a table.
// ---------------------------------------------------------------------------------------------------------

let crcTable: Uint32Array | undefined;
function crc32Fallback(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++)
    crc = (crcTable[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `data` as an unsigned 32-bit number. */
export function crc32(data: Uint8Array): number {
  return typeof zlibCrc32 === 'function' ? zlibCrc32(data) >>> 0 : crc32Fallback(data);
}

/** Exposed for tests: the table-driven CRC-32 used when node:zlib has none. */
export const crc32Portable = crc32Fallback;

// ---------------------------------------------------------------------------------------------------------
// Stored and inline DVs
// ---------------------------------------------------------------------------------------------------------

/** A label for messages: the DV file path (or `inline`) and its offset. */
function dvLabel(dv: DeletionVectorDescriptor, path?: string): string {
  if (dv.storageType === 'i') return `inline ${dvUniqueId(dv)}`;
  return `${path ?? dv.pathOrInlineDv}@${dv.offset ?? 1}`;
}

/**
 * Where the DV's record starts in its file. The spec says to read an absent offset as 0, but byte 0 is the
 * format version; like delta-kernel-rs we read an absent offset as "right after the version byte".
 */
function recordStart(dv: DeletionVectorDescriptor, label: string): number {
  const start = dv.offset ?? 1;
  if (start < 1) throw invalid(`deletion vector ${label}: offset ${start} overlaps the format version byte`);
  return start;
}

/**
 * Decodes the DV stored in a DV file (Appendix "Deletion Vector File Storage Format": version byte 1, then at
 * `offset` a big-endian 32-bit size, the bitmap, and a big-endian CRC-32 of the bitmap). `file` is the whole
 * file, or any prefix of it that covers the record. The count must equal `dv.cardinality`.
 */
export function parseDeletionVectorFile(
  file: Uint8Array,
  dv: DeletionVectorDescriptor,
  path?: string,
): DeletedRows {
  const label = dvLabel(dv, path);
  const start = recordStart(dv, label);
  if (file.length < 1) throw invalid(`deletion vector ${label}: the file is empty`);
  return parseRecord(file[0] as number, file.subarray(start), start, dv, label);
}

function parseRecord(
  version: number,
  record: Uint8Array,
  start: number,
  dv: DeletionVectorDescriptor,
  label: string,
): DeletedRows {
  if (version !== DV_FILE_FORMAT_VERSION)
    throw invalid(
      `deletion vector ${label}: unsupported DV file format version ${version} (expected ${DV_FILE_FORMAT_VERSION})`,
    );
  const needed = 4 + dv.sizeInBytes + 4;
  if (record.length < needed)
    throw invalid(
      `deletion vector ${label}: file too short: the DV needs bytes ${start}..${start + needed}, ` +
        `only ${record.length} bytes are available from ${start}`,
    );
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const size = view.getUint32(0, false);
  if (size !== dv.sizeInBytes)
    throw invalid(
      `deletion vector ${label}: size mismatch: the log says ${dv.sizeInBytes} bytes, the file says ${size}`,
    );
  const data = record.subarray(4, 4 + size);
  const stored = view.getUint32(4 + size, false);
  const actual = crc32(data);
  if (stored !== actual)
    throw invalid(
      `deletion vector ${label}: checksum mismatch: stored CRC-32 ${hex32(stored)}, computed ${hex32(actual)}; ` +
        `the DV file is corrupt`,
    );
  return finish(decodeRoaringBitmapArray(data, label, dv.cardinality), dv, label);
}

const hex32 = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

function finish(rows: Float64Array, dv: DeletionVectorDescriptor, label: string): DeletedRows {
  if (rows.length !== dv.cardinality)
    throw invalid(
      `deletion vector ${label}: cardinality mismatch: the log says ${dv.cardinality}, decoded ${rows.length} rows`,
    );
  return new SortedRows(rows);
}

/** Decodes an inline ('i') DV: Z85 text of the RoaringBitmapArray, padded; `sizeInBytes` bytes are real. */
export function decodeInlineDeletionVector(dv: DeletionVectorDescriptor): DeletedRows {
  if (dv.storageType !== 'i')
    throw new TributaryError('BAD_INPUT', `deletion vector ${dvUniqueId(dv)} is not inline`);
  const label = dvLabel(dv);
  let bytes: Uint8Array;
  try {
    bytes = z85Decode(dv.pathOrInlineDv);
  } catch (e) {
    throw invalid(`deletion vector ${label}: ${(e as Error).message}`, e);
  }
  if (bytes.length < dv.sizeInBytes)
    throw invalid(
      `deletion vector ${label}: sizeInBytes ${dv.sizeInBytes} exceeds the ${bytes.length} decoded bytes`,
    );
  return finish(
    decodeRoaringBitmapArray(bytes.subarray(0, dv.sizeInBytes), label, dv.cardinality),
    dv,
    label,
  );
}

/** Reads from offset 0 in one request when the record starts within this many bytes; else reads two ranges. */
const SINGLE_READ_MAX_OFFSET = 64 * 1024;

/**
 * Loads the rows deleted by `dv`. `store` is rooted at the table root, whose URL is `tableRootUrl` (used only
 * to resolve 'p' paths). Throws INVALID_LOG for a corrupt DV or one whose row count differs from
 * `cardinality`, NOT_FOUND when its file is missing, PROTOCOL_UNSUPPORTED for a 'p' path outside the root.
 */
export async function loadDeletionVector(
  store: ObjectStore,
  tableRootUrl: string,
  dv: DeletionVectorDescriptor,
  opts?: { signal?: AbortSignal },
): Promise<DeletedRows> {
  if (dv.storageType === 'i') return decodeInlineDeletionVector(dv);
  const key = dvStoreKey(dv, tableRootUrl);
  const label = dvLabel(dv, key);
  const start = recordStart(dv, label);
  if (dv.cardinality === 0) return NO_DELETED_ROWS;
  const end = start + 4 + dv.sizeInBytes + 4;
  const signal = opts?.signal;
  try {
    if (start <= SINGLE_READ_MAX_OFFSET) {
      const bytes = await store.get(key, { range: { start: 0, end }, signal });
      if (bytes.length < 1) throw invalid(`deletion vector ${label}: the file is empty`);
      return parseRecord(bytes[0] as number, bytes.subarray(start), start, dv, label);
    }
    const [head, record] = await Promise.all([
      store.get(key, { range: { start: 0, end: 1 }, signal }),
      store.get(key, { range: { start, end }, signal }),
    ]);
    if (head.length < 1) throw invalid(`deletion vector ${label}: the file is empty`);
    return parseRecord(head[0] as number, record, start, dv, label);
  } catch (e) {
    if (e instanceof TributaryError && e.code === 'NOT_FOUND')
      throw new TributaryError(
        'NOT_FOUND',
        `deletion vector file ${key} (${dvUniqueId(dv)}) not found under ${tableRootUrl}; ` +
          `the table references a DV that was deleted (vacuumed?) or never written`,
        { cause: e },
      );
    throw e;
  }
}
