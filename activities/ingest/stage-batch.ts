/**
 * The local half of a batch: every source file decoded into lines, in order, and each line sent one way:
 *   - quarantine (unreadable: decode.ts; not a JSON object: parseRecord),
 *   - staged for DuckDB to type (its skeleton fits the schema, route.ts), as a staged line (staging.ts),
 *   - or conformed here by the JS Conformer, written as a JSON Lines row.
 * Nothing is held in memory beyond a buffer per output file.
 */
import type { Readable } from 'node:stream';
import type { StructType } from '../../lake/delta/schema';
import { TributaryError } from '../../lake/errors';
import { stageOutput } from '../../lake/engine/local-files';
import { Conformer } from './conform';
import { type QuarantineEntry, decodeLines, parseRecord } from './decode';
import { stringifyJson } from './lossless-json';
import { type JsLine, LineRouter } from './route';
import { LineWriter } from './staging';
import type { FileReconciliation, SourceFile } from './types';

/** Line ids of rerouted lines: g = file index · LINE_SPACE + line number (exact in a double for 2^21 files). */
export const LINE_SPACE = 2 ** 32;

export class BatchStaging {
  readonly conformer: Conformer;
  readonly router = new LineRouter();
  readonly recon: FileReconciliation[];
  /** One staging file per source file (lines for DuckDB). */
  readonly stageFiles: LineWriter[] = [];
  /** Conformed JS rows (JSON Lines); a reroute adds a file. */
  readonly rowFiles: LineWriter[] = [];
  jsRows = 0;

  private constructor(
    readonly files: readonly SourceFile[],
    base: StructType,
    reserved: ReadonlySet<string>,
    readonly quarOut: LineWriter,
    private rowsOut: LineWriter,
  ) {
    this.conformer = new Conformer(base, reserved);
    this.rowFiles.push(rowsOut);
    this.recon = files.map((f) => ({
      key: f.key,
      size: f.size,
      etag: f.etag,
      lines: 0,
      rows: 0,
      quarantined: 0,
      rescued: 0,
      blank: 0,
    }));
  }

  static async create(
    files: readonly SourceFile[],
    base: StructType,
    reserved: ReadonlySet<string>,
  ): Promise<BatchStaging> {
    const quar = new LineWriter((await stageOutput('.jsonl')).path);
    const rows = new LineWriter((await stageOutput('.jsonl')).path);
    return new BatchStaging(files, base, reserved, quar, rows);
  }

  /** Records a quarantine entry of file i (its reconciliation is counted by the caller). */
  quarantine(i: number, e: QuarantineEntry): void {
    this.quarOut.push(
      JSON.stringify({
        source_file: this.files[i]!.key,
        line: e.line,
        byte_offset: e.byteOffset,
        reason: e.reason,
        raw_base64: e.raw.toString('base64'),
      }),
    );
  }

  /** Conforms one line of file i in JS (or quarantines it); settles its class `k` when it has one. */
  conformLine(i: number, line: number, byteOffset: number, raw: Buffer, k = -1): void {
    const r = this.recon[i]!;
    const p = parseRecord(raw);
    if ('reason' in p) {
      this.quarantine(i, { line, byteOffset, reason: p.reason, raw });
      r.quarantined++;
      return;
    }
    const { row, rescued } = this.conformer.conform(p.value);
    if (rescued) r.rescued++;
    row._rescued_data = rescued ? stringifyJson(rescued) : null;
    row._source_file = this.files[i]!.key;
    row._source_line = line;
    this.rowsOut.push(stringifyJson(row));
    this.jsRows++;
    this.router.settle(k, this.conformer.schema);
  }

  /** Conforms lines DuckDB turned down (sql-chunks.ts), into a new rows file. */
  async conformRerouted(lines: readonly JsLine[]): Promise<void> {
    const before = JSON.stringify(this.conformer.schema);
    await this.rowsOut.close();
    this.rowsOut = new LineWriter((await stageOutput('.jsonl')).path);
    this.rowFiles.push(this.rowsOut);
    for (const [n, l] of lines.entries()) {
      const i = Math.floor(l.g / LINE_SPACE);
      this.conformLine(i, l.g % LINE_SPACE, l.o, l.raw);
      if (n % 4096 === 4095) await this.rowsOut.drain();
    }
    if (JSON.stringify(this.conformer.schema) !== before)
      throw new TributaryError('INTERNAL', 'ingest routing: a rerouted line changed the schema');
  }

  /** Lines staged for DuckDB so far. */
  get stagedLines(): number {
    return this.stageFiles.reduce((n, w) => n + w.lines, 0);
  }

  /** Decodes and routes source file i; returns its (closed) staging file of lines for DuckDB. */
  async decodeFile(
    i: number,
    body: Readable,
    opts: { gzip: boolean; maxLineBytes: number },
  ): Promise<LineWriter> {
    const r = this.recon[i]!;
    const stageOut = new LineWriter((await stageOutput('.staged')).path);
    this.stageFiles.push(stageOut);
    const stats = await decodeLines(body, opts, {
      line: (buf, line, byteOffset, plain) => {
        // Lines holding bytes the staging layout cannot carry (0x00, 0x01, CR) take the JS path.
        const stageable = plain || (buf.indexOf(0x00) < 0 && buf.indexOf(0x01) < 0 && buf.indexOf(0x0d) < 0);
        const k = stageable ? this.router.classOf(buf) : -1;
        if (this.router.fits(k)) stageOut.pushStaged(i, line, byteOffset, buf);
        else this.conformLine(i, line, byteOffset, buf, k);
      },
      quarantine: (e) => this.quarantine(i, e),
    });
    await Promise.all([stageOut.close(), this.rowsOut.drain(), this.quarOut.drain()]);
    r.lines = stats.lines;
    r.blank = stats.blank;
    r.quarantined += stats.quarantined; // conformLine counted the lines that are not JSON objects
    return stageOut;
  }

  /** Source file i vanished between planning and ingestion: said in quarantine rather than skipped. */
  missingFile(i: number): void {
    this.quarantine(i, {
      line: 0,
      byteOffset: 0,
      reason: 'source file no longer exists',
      raw: Buffer.alloc(0),
    });
    Object.assign(this.recon[i]!, { lines: 1, quarantined: 1 });
  }

  /** Every line counted: rows are lines less quarantined ones. */
  reconcile(): void {
    for (const r of this.recon) r.rows = r.lines - r.quarantined;
  }

  totals() {
    return this.recon.reduce(
      (a, r) => ({
        lines: a.lines + r.lines,
        rows: a.rows + r.rows,
        quarantined: a.quarantined + r.quarantined,
        rescued: a.rescued + r.rescued,
      }),
      { lines: 0, rows: 0, quarantined: 0, rescued: 0 },
    );
  }

  async closeRows(): Promise<void> {
    await this.rowsOut.close();
  }

  /** Deletes every file of the batch (those SqlChunks already removed are done). */
  async discard(): Promise<void> {
    for (const w of [this.quarOut, ...this.rowFiles, ...this.stageFiles]) await w.remove();
  }
}
