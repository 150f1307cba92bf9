/** A buffered, backpressure-aware writer of newline-delimited text to a local staging file. */
import { createWriteStream, type WriteStream } from 'node:fs';

/** Lines are encoded straight into a buffer of this size, handed to the stream when full. */
const BUFFER_BYTES = 4 << 20;

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
    this.buf ??= Buffer.allocUnsafe(BUFFER_BYTES);
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
    this.buf ??= Buffer.allocUnsafe(BUFFER_BYTES);
    this.pos += this.buf.write(head, this.pos, 'latin1');
    this.buf.set(body, this.pos); // TypedArray#set: no per-call view allocation, unlike Buffer#copy
    this.pos += body.length;
    this.buf[this.pos++] = 0x0a;
  }

  /**
   * Queue one staged line `<a>\x01<b>\x01<c>\x01<body>` (a, b, c non-negative safe integers): what pushBytes
   * would write for that head, without building the head as a string.
   */
  pushStaged(a: number, b: number, c: number, body: Buffer): void {
    this.lines++;
    const room = 51 + body.length + 1;
    if (room > BUFFER_BYTES) {
      this.lines--;
      this.pushBytes(`${a}\x01${b}\x01${c}\x01`, body);
      return;
    }
    if (this.buf && this.pos + room > this.buf.length) this.flushBuffer();
    this.buf ??= Buffer.allocUnsafe(BUFFER_BYTES);
    const start = this.pos;
    this.pos = writeDigits(this.buf, this.pos, a);
    this.buf[this.pos++] = 0x01;
    this.pos = writeDigits(this.buf, this.pos, b);
    this.buf[this.pos++] = 0x01;
    this.pos = writeDigits(this.buf, this.pos, c);
    this.buf[this.pos++] = 0x01;
    this.buf.set(body, this.pos);
    this.pos += body.length;
    this.buf[this.pos++] = 0x0a;
    this.bytes += this.pos - start;
  }

  private flushBuffer(): void {
    if (!this.buf || this.pos === 0) return;
    const chunk = this.buf.subarray(0, this.pos);
    this.buf = undefined; // the stream keeps `chunk` until written: never reuse it
    this.pos = 0;
    this.write(chunk);
  }

  private write(chunk: Buffer): void {
    if (!this.out.write(chunk)) this.pending = new Promise((r) => this.out.once('drain', r));
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
