/** A buffered, backpressure-aware writer of newline-delimited text to a local staging file. */
import { createWriteStream, type WriteStream } from 'node:fs';

export class LineWriter {
  private readonly out: WriteStream;
  private buf: string[] = [];
  private size = 0;
  private pending: Promise<void> = Promise.resolve();
  lines = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
  }

  /** Queue one line; call `drain()` now and then (e.g. per chunk) to respect backpressure. */
  push(line: string): void {
    this.buf.push(line);
    this.size += line.length;
    this.lines++;
    if (this.size > 1 << 20) this.flushBuffer();
  }

  private flushBuffer(): void {
    if (!this.buf.length) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    this.size = 0;
    if (!this.out.write(text)) this.pending = new Promise((r) => this.out.once('drain', r));
  }

  async drain(): Promise<void> {
    await this.pending;
  }

  async close(): Promise<void> {
    this.flushBuffer();
    await this.pending;
    await new Promise<void>((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
