/**
 * Splits a raw log file into lines: JSON Lines, gzip-compressed or not — the content decides (gzip's magic
 * bytes), never the name. Handles CRLF, a UTF-8 BOM and empty files. Every non-blank line ends up either as a candidate record (valid UTF-8, within the
 * length limit; its JSON is checked later, see `parseRecord`) or as a quarantine entry (invalid UTF-8,
 * over-long line, the unreadable tail of a truncated gzip) with its line number, byte offset (in the
 * decompressed stream) and raw bytes. Blank lines are counted, not records.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type JsonValue, parseJsonLine } from './lossless-json';

export interface QuarantineEntry {
  line: number;
  byteOffset: number;
  reason: string;
  raw: Buffer;
}

export interface LineSink {
  /**
   * A non-blank, valid UTF-8 line within the length limit (BOM and CR stripped). `plain`: it certainly
   * holds none of the bytes 0x00, 0x01, 0x0d (when false it may). `raw` is only valid during the call.
   */
  line(raw: Buffer, line: number, byteOffset: number, plain: boolean): void;
  quarantine(q: QuarantineEntry): void;
}

/** A JSON object record, or why a line is not one (the quarantine reason). */
export type ParsedLine = { value: { [k: string]: JsonValue } } | { reason: string };

/** Default deepest nesting of objects and arrays a line may have (`ingest.maxNestingDepth`). */
export const DEFAULT_MAX_NESTING_DEPTH = 64;

/**
 * The nesting depth of a JSON text's objects and arrays (brackets inside strings not counted), or
 * `limit + 1` as soon as it goes beyond `limit`. One pass over the bytes, no recursion.
 */
export function nestingDepth(raw: Buffer, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (inString) {
      if (b === 0x5c)
        i++; // backslash: skip the escaped character
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) {
      if (++depth > max && (max = depth) > limit) return limit + 1;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return max;
}

/**
 * Parses one line (exact JSON, big integers kept) into a record, as ingestion accepts it. A line nested
 * deeper than `maxDepth` is refused before it is parsed: everything that later walks a value (type
 * inference, conforming, serialising, DuckDB's types) then has bounded depth.
 */
export function parseRecord(raw: Buffer, maxDepth = DEFAULT_MAX_NESTING_DEPTH): ParsedLine {
  if (nestingDepth(raw, maxDepth) > maxDepth)
    return { reason: `nested deeper than the limit of ${maxDepth} levels of objects and arrays` };
  let v: JsonValue;
  const text = raw.toString('utf8');
  try {
    v = parseJsonLine(text);
  } catch (e) {
    return { reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { reason: 'not a JSON object' };
  // `\ud800` alone is valid JSON text but no Unicode string: Parquet (UTF-8) cannot hold it. `1e400` is a
  // valid JSON number but no double (JSON.parse gives Infinity, which no column or rescue text can keep).
  if ((SURROGATE_ESCAPE.test(text) || HUGE_EXPONENT.test(text)) && !representable(v))
    return {
      reason: 'a value no column can hold: an unpaired UTF-16 surrogate or a number beyond double range',
    };
  return { value: v };
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const HUGE_EXPONENT = /\d[eE][+-]?\d{3}/;

function representable(v: JsonValue): boolean {
  if (typeof v === 'string') return (v as string & { isWellFormed(): boolean }).isWellFormed();
  if (typeof v === 'number') return Number.isFinite(v);
  if (v === null || typeof v !== 'object') return true;
  if (Array.isArray(v)) return v.every(representable);
  return Object.entries(v).every(([k, x]) => representable(k) && representable(x));
}

export interface DecodeStats {
  /** Non-blank lines (candidates + quarantined). */
  lines: number;
  /** Lines handed to `sink.line`. */
  candidates: number;
  quarantined: number;
  blank: number;
  /** Bytes read from the body (compressed bytes for gzip). */
  bytesIn: number;
  /** Whether the content was gzip (by its magic bytes). */
  gzip: boolean;
  /**
   * Set when the gzip data could not be decoded from some point on: the decoder's reason. The lines
   * decoded before it were delivered; the undecodable rest is the caller's to keep (it has the object).
   */
  unreadable?: string;
}

/** Raw bytes kept for one over-long line (the line is still counted and reported whole). */
export const RAW_KEEP_LIMIT = 64 * 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Whether bytes start like a gzip member (RFC 1952: ID1 ID2 and the deflate method). */
export const isGzipHead = (head: Uint8Array): boolean =>
  head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08;

/** The stream's first bytes (at least `n` unless it ends sooner) and the whole stream to read from the start. */
async function peek(body: Readable, n: number): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    first.push(r.value);
    len += r.value.length;
  }
  const head = Buffer.concat(first);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, all: all() };
}

export async function decodeLines(
  body: Readable,
  opts: { maxLineBytes: number },
  sink: LineSink,
): Promise<DecodeStats> {
  const stats: DecodeStats = { lines: 0, candidates: 0, quarantined: 0, blank: 0, bytesIn: 0, gzip: false };
  let lineNo = 0;
  let offset = 0; // byte offset of the current line's start
  let parts: Buffer[] = [];
  let partLen = 0;
  let overLong = false;
  let first = true;

  const quarantine = (reason: string, raw: Buffer, at: number) => {
    stats.quarantined++;
    sink.quarantine({ line: lineNo, byteOffset: at, reason, raw });
  };

  /** Whether the current chunk holds none of 0x00, 0x01, 0x0d (lines from several chunks are checked whole). */
  let plain = true;
  /** Whether the lines that start and end in the current chunk are all valid UTF-8 (checked at once). */
  let chunkUtf8 = false;
  const finishLine = (tail: Buffer, terminated: boolean) => {
    const isJoined = parts.length > 0;
    let buf = isJoined ? Buffer.concat([...parts, tail]) : tail;
    const fullLen = partLen + tail.length;
    const start = offset;
    offset += fullLen + (terminated ? 1 : 0);
    parts = [];
    partLen = 0;
    lineNo++;
    if (first) {
      first = false;
      if (buf.subarray(0, 3).equals(BOM)) buf = buf.subarray(3);
    }
    if (buf.length && buf[buf.length - 1] === 0x0d) buf = buf.subarray(0, buf.length - 1);
    const wasOverLong = overLong;
    overLong = false;
    if (
      !wasOverLong &&
      (buf.length === 0 ||
        ((buf[0] === 0x20 || buf[0] === 0x09) && buf.every((b) => b === 0x20 || b === 0x09)))
    ) {
      stats.blank++;
      return;
    }
    stats.lines++;
    if (wasOverLong || fullLen > opts.maxLineBytes)
      return quarantine(`line of ${fullLen} bytes exceeds the limit of ${opts.maxLineBytes}`, buf, start);
    if (!(chunkUtf8 && !isJoined) && !isUtf8(buf)) return quarantine('invalid UTF-8', buf, start);
    stats.candidates++;
    sink.line(buf, lineNo, start, plain && !isJoined);
  };

  const push = (chunk: Buffer) => {
    plain = chunk.indexOf(0x00) < 0 && chunk.indexOf(0x01) < 0 && chunk.indexOf(0x0d) < 0;
    // One UTF-8 check for the whole lines this chunk holds (a newline never splits a UTF-8 sequence);
    // lines joined across chunks, or every line of a chunk failing it, are checked one by one.
    const head = partLen > 0 ? chunk.indexOf(0x0a) + 1 : 0;
    const last = chunk.lastIndexOf(0x0a);
    chunkUtf8 = last >= head && isUtf8(chunk.subarray(head, last));
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      finishLine(chunk.subarray(from, nl), true);
      from = nl + 1;
    }
    const rest = chunk.subarray(from);
    if (!rest.length) return;
    if (partLen + rest.length > opts.maxLineBytes) overLong = true;
    if (partLen < RAW_KEEP_LIMIT) parts.push(Buffer.from(rest.subarray(0, RAW_KEEP_LIMIT - partLen)));
    partLen += rest.length;
  };

  // A storage error while reading (a reset connection, a stalled body cut off) fails the read: the caller
  // retries the batch. Only an error of the gzip decoder itself is a truncated or corrupt file. `pipe` does
  // not pass the body's errors on, so they are recorded here and end the decoder with them.
  let bodyError: unknown;
  const { head, all } = await peek(body, 3);
  stats.gzip = isGzipHead(head);
  let source: AsyncIterable<Buffer> = all;
  if (stats.gzip) {
    const gunzip = createGunzip();
    const compressed = Readable.from(all, { objectMode: false });
    compressed.on('data', (c: Buffer) => (stats.bytesIn += c.length));
    compressed.on('error', (e) => {
      bodyError = e;
      gunzip.destroy(e);
    });
    source = compressed.pipe(gunzip);
  }
  try {
    for await (const chunk of source) {
      if (!stats.gzip) stats.bytesIn += chunk.length;
      push(chunk);
    }
  } catch (e) {
    if (!stats.gzip || bodyError !== undefined) throw bodyError ?? e;
    body.destroy(); // the rest of the file is not read: release the connection
    // A truncated or corrupt gzip: everything decoded so far is kept. The bytes of a line cut short are
    // kept here; the caller keeps the file's compressed bytes (the undecodable rest is in them).
    stats.unreadable = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    if (partLen > 0) {
      const raw = Buffer.concat(parts);
      lineNo++;
      stats.lines++;
      parts = [];
      partLen = 0;
      quarantine(
        `line cut short by unreadable gzip data (${stats.unreadable}): its ${raw.length} decoded bytes are kept`,
        raw,
        offset,
      );
    }
    return stats;
  }
  if (partLen > 0) finishLine(Buffer.alloc(0), false);
  return stats;
}
