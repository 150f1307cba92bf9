/**
 * Splits a raw log file into lines: JSON Lines, optionally gzip-compressed. Handles CRLF, a UTF-8 BOM
 * and empty files. Every non-blank line ends up either as a candidate record (valid UTF-8, within the
 * length limit; its JSON is checked later, see `parseRecord`) or as a quarantine entry (invalid UTF-8,
 * over-long line, the unreadable tail of a truncated gzip) with its line number, byte offset (in the
 * decompressed stream) and raw bytes. Blank lines are counted, not records.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
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

/** Parses one line (exact JSON, big integers kept) into a record, as ingestion accepts it. */
export function parseRecord(raw: Buffer): ParsedLine {
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
  bytesIn: number;
}

/** Raw bytes kept for one over-long line (the line is still counted and reported whole). */
const RAW_KEEP_LIMIT = 64 * 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export const isGzip = (key: string, head?: Uint8Array): boolean =>
  key.endsWith('.gz') || (head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);

export async function decodeLines(
  body: Readable,
  opts: { gzip: boolean; maxLineBytes: number },
  sink: LineSink,
): Promise<DecodeStats> {
  const stats: DecodeStats = { lines: 0, candidates: 0, quarantined: 0, blank: 0, bytesIn: 0 };
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
  let source: AsyncIterable<Buffer> = body;
  if (opts.gzip) {
    const gunzip = createGunzip();
    body.on('data', (c: Buffer) => (stats.bytesIn += c.length));
    body.on('error', (e) => {
      bodyError = e;
      gunzip.destroy(e);
    });
    source = body.pipe(gunzip);
  }
  try {
    for await (const chunk of source) {
      if (!opts.gzip) stats.bytesIn += chunk.length;
      push(chunk);
    }
  } catch (e) {
    if (!opts.gzip || bodyError !== undefined) throw bodyError ?? e;
    body.destroy(); // the rest of the file is not read: release the connection
    // A truncated or corrupt gzip: everything decoded so far is kept; the unreadable tail is quarantined.
    const raw = Buffer.concat(parts);
    lineNo++;
    stats.lines++;
    parts = [];
    partLen = 0;
    quarantine(
      `unreadable gzip tail (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); partial line bytes kept`,
      raw,
      offset,
    );
    return stats;
  }
  if (partLen > 0) finishLine(Buffer.alloc(0), false);
  return stats;
}
