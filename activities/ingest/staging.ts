/** A buffered, backpressure-aware writer of newline-delimited text to a local staging file. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';

/** Lines are encoded straight into a buffer of this size, handed to the stream when full. */
const BUFFER_BYTES = 4 << 20;
/**
 * Written buffers are kept for reuse (shared by all writers of the process): fresh ones cost page faults
 * and kernel zeroing for every 4 MiB staged.
 */
const FREE: Buffer[] = [];
const MAX_FREE = 8;

/**
 * A staged line is `{"f":<file index>,"n":<line number>,"o":<byte offset>,"v":<the raw line>}`: written by
 * `pushStaged`, read by sql-conform.ts (as JSON, or as text through STAGED_HEAD).
 */
const [F, N, O, V] = ['{"f":', ',"n":', ',"o":', ',"v":'];
export const STAGED_HEAD = /^\{"f":(\d+),"n":(\d+),"o":(\d+),"v":/;
/** Characters of a staged line's head besides its three numbers. */
export const STAGED_HEAD_CHARS = F.length + N.length + O.length + V.length;

export class LineWriter {
  private readonly out: WriteStream;
  private buf: Buffer | undefined;
  private pos = 0;
  private pending: Promise<void> = Promise.resolve();
  lines = 0;
  /** Bytes queued so far. */
  bytes = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }

  /** Queue one line; call `drain()` now and then (e.g. per chunk) to respect backpressure. */
  push(line: string): void {
    this.lines++;
    this.bytes += Buffer.byteLength(line) + 1;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so a line always fits in that much room.
    const room = 3 * line.length + 1;
    if (this.buf && this.pos + room > this.buf.length) this.flushBuffer();
    if (room > BUFFER_BYTES) {
      this.write(Buffer.from(`${line}\n`, 'utf8'));
      return;
    }
    this.buf ??= this.newBuffer();
    this.pos += this.buf.write(line, this.pos, 'utf8');
    this.buf[this.pos++] = 0x0a;
  }

  /** Queue one line made of an ASCII `head` and raw bytes (copied now; `body` may be reused after). */
  pushBytes(head: string, body: Buffer): void {
    this.lines++;
    const room = head.length + body.length + 1;
    this.bytes += room;
    if (this.buf && this.pos + room > this.buf.length) this.flushBuffer();
    if (room > BUFFER_BYTES) {
      this.write(Buffer.concat([Buffer.from(head, 'latin1'), body, Buffer.from('\n')]));
      return;
    }
    this.buf ??= this.newBuffer();
    this.pos += this.buf.write(head, this.pos, 'latin1');
    this.buf.set(body, this.pos); // TypedArray#set: no per-call view allocation, unlike Buffer#copy
    this.pos += body.length;
    this.buf[this.pos++] = 0x0a;
  }

  /**
   * Queue one staged line (see STAGED_HEAD) of file f, line n at byte offset o (non-negative safe integers;
   * body one JSON object), written straight into the buffer.
   */
  pushStaged(f: number, n: number, o: number, body: Buffer): void {
    const room = 20 + 3 * 16 + body.length + 2;
    if (room > BUFFER_BYTES) {
      this.pushBytes(`${F}${f}${N}${n}${O}${o}${V}`, Buffer.concat([body, CLOSE]));
      return;
    }
    this.lines++;
    if (this.buf && this.pos + room > this.buf.length) this.flushBuffer();
    const buf = (this.buf ??= this.newBuffer());
    const start = this.pos;
    let p = this.pos;
    p = writeAscii(buf, p, F);
    p = writeDigits(buf, p, f);
    p = writeAscii(buf, p, N);
    p = writeDigits(buf, p, n);
    p = writeAscii(buf, p, O);
    p = writeDigits(buf, p, o);
    p = writeAscii(buf, p, V);
    buf.set(body, p);
    p += body.length;
    buf[p++] = 0x7d;
    buf[p++] = 0x0a;
    this.pos = p;
    this.bytes += p - start;
  }

  private flushBuffer(): void {
    if (!this.buf || this.pos === 0) return;
    const whole = this.buf;
    const chunk = whole.subarray(0, this.pos);
    this.buf = undefined; // the stream keeps `chunk` until written; the buffer is reused after that
    this.pos = 0;
    this.write(chunk, () => {
      if (FREE.length < MAX_FREE) FREE.push(whole);
    });
  }

  private newBuffer(): Buffer {
    return FREE.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
  }

  private write(chunk: Buffer, written?: () => void): void {
    const ok = this.out.write(chunk, (e) => {
      if (!e) written?.();
    });
    if (!ok) this.pending = new Promise((r) => this.out.once('drain', r));
  }

  async drain(): Promise<void> {
    await this.pending;
  }

  private closing: Promise<void> | undefined;

  /** Flushes and closes the file; later calls wait for the same close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.flushBuffer();
      await this.pending;
      await new Promise<void>((resolve, reject) =>
        this.out.end((e?: Error | null) => (e ? reject(e) : resolve())),
      );
    })();
    return this.closing;
  }

  private removing: Promise<void> | undefined;

  /** Closes the file (a failure to flush no longer matters) and deletes it; later calls wait for the same. */
  remove(): Promise<void> {
    this.removing ??= this.close()
      .catch(() => {})
      .then(() => rm(this.path, { force: true }));
    return this.removing;
  }
}

const CLOSE = Buffer.from('}');

function writeAscii(buf: Buffer, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** Writes the decimal digits of a non-negative safe integer at `pos`; returns the position after them. */
function writeDigits(buf: Buffer, pos: number, v: number): number {
  if (v > 0x7fffffff) {
    const s = String(v);
    return pos + buf.write(s, pos, 'latin1');
  }
  let len = 1;
  for (let x = v; x >= 10; x = (x / 10) | 0) len++;
  for (let i = pos + len - 1, x = v; i >= pos; i--) {
    const q = (x / 10) | 0;
    buf[i] = 0x30 + (x - q * 10);
    x = q;
  }
  return pos + len;
}
