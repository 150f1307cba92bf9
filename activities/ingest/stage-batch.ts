/**
 * The local half of a batch: every source file decoded into lines, in order, and each line sent one way:
 *   - quarantine (unreadable: decode.ts; not a JSON object: parseRecord),
 *   - staged for DuckDB to type (its skeleton fits the schema, route.ts), as a staged line (staging.ts),
 *   - or conformed here by the JS Conformer, written as a JSON Lines row.
 * Nothing is held in memory beyond a buffer per output file.
 */
import type { Readable } from 'node:stream';
import type { StructType } from '../../lake/delta/schema';
import { TributaryError, isTributaryError } from '../../lake/errors';
import { stageOutput } from '../../lake/engine/local-files';
import { type ColumnLimits, Conformer, DEFAULT_COLUMN_LIMITS } from './conform';
import { DEFAULT_MAX_NESTING_DEPTH, type QuarantineEntry, decodeLines, parseRecord } from './decode';
import { stringifyJson } from './lossless-json';
import { type JsLine, LineRouter } from './route';
import { LineWriter } from './staging';
import type { FileReconciliation, IsolatedItem, LineSelection, SourceFile } from './types';

/** Line ids of rerouted lines: g = file index · LINE_SPACE + line number (exact in a double for 2^21 files). */
export const LINE_SPACE = 2 ** 32;

/** Raw bytes per quarantine record when a file is kept whole (it could not be read as lines). */
export const RAW_RECORD_BYTES = 8 << 20;

/** Limits a batch applies to its lines (config: `ingest.*`). */
export interface LineLimits extends ColumnLimits {
  maxNestingDepth: number;
}
export const DEFAULT_LINE_LIMITS: LineLimits = {
  ...DEFAULT_COLUMN_LIMITS,
  maxNestingDepth: DEFAULT_MAX_NESTING_DEPTH,
};

/**
 * What happens to each line of the batch besides the usual: lines an isolation found poisonous go to
 * quarantine with its reason; a probe (isolation's trial run) takes only the lines it selects.
 */
export interface LinePlan {
  isolated?: readonly IsolatedItem[];
  only?: readonly LineSelection[];
}

type LineFate = 'keep' | 'skip' | { reason: string };
interface FileRanges {
  /** Lines [from, to] (inclusive) and what to do with them; lines outside every range get `rest`. */
  ranges: { from: number; to: number; fate: LineFate }[];
  rest: LineFate;
}

/** Per file: the ranges of a plan, or undefined when every line is kept (the fast path). */
function fileRanges(plan: LinePlan, nFiles: number): (FileRanges | undefined)[] {
  const out: (FileRanges | undefined)[] = Array.from({ length: nFiles }, () =>
    plan.only ? { ranges: [], rest: 'skip' as LineFate } : undefined,
  );
  for (const s of plan.only ?? []) {
    const r = out[s.file]!;
    r.ranges.push({ from: s.lines?.[0] ?? 0, to: s.lines?.[1] ?? Number.MAX_SAFE_INTEGER, fate: 'keep' });
  }
  for (const it of plan.isolated ?? []) {
    if (!it.lines) continue; // a whole file: not decoded at all (BatchStaging.keepRawFile)
    const r = (out[it.file] ??= { ranges: [], rest: 'keep' });
    // Isolated lines come first: a probe that selects them still quarantines them.
    r.ranges.unshift({ from: it.lines[0], to: it.lines[1], fate: { reason: `isolated: ${it.reason}` } });
  }
  return out;
}

function fateOf(r: FileRanges, line: number): LineFate {
  for (const x of r.ranges) if (line >= x.from && line <= x.to) return x.fate;
  return r.rest;
}

export class BatchStaging {
  readonly conformer: Conformer;
  readonly router = new LineRouter();
  readonly recon: FileReconciliation[];
  /** One staging file per source file (lines for DuckDB). */
  readonly stageFiles: LineWriter[] = [];
  /** Conformed JS rows (JSON Lines); a reroute adds a file. */
  readonly rowFiles: LineWriter[] = [];
  jsRows = 0;
  private readonly ranges: (FileRanges | undefined)[];

  private constructor(
    readonly files: readonly SourceFile[],
    base: StructType,
    reserved: ReadonlySet<string>,
    readonly quarOut: LineWriter,
    private rowsOut: LineWriter,
    private readonly limits: LineLimits,
    plan: LinePlan,
  ) {
    this.conformer = new Conformer(base, reserved, limits);
    this.ranges = fileRanges(plan, files.length);
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
    limits: LineLimits = DEFAULT_LINE_LIMITS,
    plan: LinePlan = {},
  ): Promise<BatchStaging> {
    const quar = new LineWriter((await stageOutput('.jsonl')).path);
    const rows = new LineWriter((await stageOutput('.jsonl')).path);
    return new BatchStaging(files, base, reserved, quar, rows, limits, plan);
  }

  /** Whether file i takes part in this run at all (a probe may select other files only). */
  selected(i: number): boolean {
    const r = this.ranges[i];
    return r === undefined || r.rest !== 'skip' || r.ranges.some((x) => x.fate !== 'skip');
  }

  /** Records a quarantine entry of file i and counts it in the file's reconciliation. */
  quarantine(i: number, e: QuarantineEntry): void {
    this.recon[i]!.quarantined++;
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
    const p = parseRecord(raw, this.limits.maxNestingDepth);
    if ('reason' in p) {
      this.quarantine(i, { line, byteOffset, reason: p.reason, raw });
      return;
    }
    const { row, rescued } = this.conformer.conform(p.value);
    if (rescued) r.rescued++;
    row._rescued_data = rescued ? stringifyJson(rescued) : null;
    row._source_file = this.files[i]!.key;
    row._source_line = line;
    this.rowsOut.push(stringifyJson(row));
    this.jsRows++;
    r.rows++;
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
      this.recon[i]!.rows--; // counted as a staged row; conformLine counts what it becomes
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
    opts: { maxLineBytes: number },
    reread: () => Promise<Readable>,
  ): Promise<LineWriter> {
    const r = this.recon[i]!;
    const stageOut = new LineWriter((await stageOutput('.staged')).path);
    this.stageFiles.push(stageOut);
    const ranges = this.ranges[i];
    let skipped = 0;
    const route = (buf: Buffer, line: number, byteOffset: number, plain: boolean) => {
      // Lines holding bytes the staging layout cannot carry (0x00, 0x01, CR) take the JS path.
      const stageable = plain || (buf.indexOf(0x00) < 0 && buf.indexOf(0x01) < 0 && buf.indexOf(0x0d) < 0);
      const k = stageable ? this.router.classOf(buf) : -1;
      if (this.router.fits(k)) stageOut.pushStaged(i, line, byteOffset, buf);
      else this.conformLine(i, line, byteOffset, buf, k);
    };
    const stats = await decodeLines(body, opts, {
      line: ranges
        ? (buf, line, byteOffset, plain) => {
            const fate = fateOf(ranges, line);
            if (fate === 'keep') route(buf, line, byteOffset, plain);
            else if (fate === 'skip') skipped++;
            else this.quarantine(i, { line, byteOffset, reason: fate.reason, raw: buf });
          }
        : route,
      quarantine: (e) => {
        if (ranges && fateOf(ranges, e.line) === 'skip') skipped++;
        else this.quarantine(i, e);
      },
    });
    await Promise.all([stageOut.close(), this.rowsOut.drain(), this.quarOut.drain()]);
    r.lines = stats.lines - skipped;
    r.blank = stats.blank;
    r.rows += stageOut.lines; // staged lines are rows unless DuckDB turns them down (conformRerouted)
    if (stats.unreadable)
      await this.keepRawFile(
        i,
        await reread(),
        `unreadable gzip data (${stats.unreadable}) after ${stats.lines} decoded lines`,
      );
    return stageOut;
  }

  /**
   * Keeps a file that cannot be read as lines (undecodable gzip, or isolated whole) in quarantine: its
   * stored bytes, RAW_RECORD_BYTES per record. Each record counts as one line of the file; its `line` is
   * minus its part number (-1, -2, …: no line number, since the bytes were never read as lines).
   */
  async keepRawFile(i: number, body: Readable, why: string): Promise<void> {
    const r = this.recon[i]!;
    const size = this.files[i]!.size;
    const parts = Math.max(1, Math.ceil(size / RAW_RECORD_BYTES));
    let offset = 0;
    let part = 0;
    let pending: Buffer[] = [];
    let pendingLen = 0;
    const emit = async (buf: Buffer) => {
      part++;
      r.lines++;
      this.quarantine(i, {
        line: -part,
        byteOffset: offset,
        reason: `${why}: the file's stored bytes ${offset}-${offset + buf.length} of ${size} are kept (part ${part} of ${Math.max(parts, part)})`,
        raw: buf,
      });
      offset += buf.length;
      await this.quarOut.drain();
    };
    let failed: string | undefined;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        pending.push(chunk);
        pendingLen += chunk.length;
        while (pendingLen >= RAW_RECORD_BYTES) {
          const all = Buffer.concat(pending);
          await emit(all.subarray(0, RAW_RECORD_BYTES));
          pending = [all.subarray(RAW_RECORD_BYTES)];
          pendingLen = pending[0]!.length;
        }
      }
    } catch (e) {
      // Storage that a retry can fix: the batch is retried. Anything else means the stored bytes cannot be
      // read past this point, on any try: what was read is kept, and the record says where it stopped.
      if (isTributaryError(e) && e.retryable) throw e;
      failed = (e as Error).message;
    }
    // The last record says where reading stopped (one record with no bytes when nothing could be read).
    if (failed !== undefined)
      why = `${why}; reading the stored file failed at byte ${offset + pendingLen} (${failed}), the rest of it is not kept here`;
    if (pendingLen > 0 || part === 0 || failed !== undefined) await emit(Buffer.concat(pending));
  }

  /** Source file i cannot be opened at all (the store refuses its key): one record says why, with no bytes. */
  unreadableFile(i: number, why: string): void {
    this.quarantine(i, { line: 0, byteOffset: 0, reason: why, raw: Buffer.alloc(0) });
    this.recon[i]!.lines = 1;
  }

  /** Source file i vanished between planning and ingestion: said in quarantine rather than skipped. */
  missingFile(i: number): void {
    this.quarantine(i, {
      line: 0,
      byteOffset: 0,
      reason: 'source file no longer exists',
      raw: Buffer.alloc(0),
    });
    this.recon[i]!.lines = 1;
  }

  /**
   * The self-check before any commit: for every file, the non-blank lines its bytes held equal the rows
   * and quarantine records written for it, each counted where it was written; and the outputs hold what
   * was counted. A mismatch fails the batch (a bug), it never commits.
   */
  reconcile(writtenRows: number): void {
    const bad = this.recon.filter((r) => r.lines !== r.rows + r.quarantined);
    if (bad.length)
      throw new TributaryError(
        'INTERNAL',
        `ingest reconciliation failed, nothing committed: ${bad
          .slice(0, 5)
          .map((r) => `${r.key}: ${r.lines} lines, ${r.rows} rows + ${r.quarantined} quarantined`)
          .join('; ')}`,
      );
    const t = this.totals();
    if (this.quarOut.lines !== t.quarantined || writtenRows !== t.rows)
      throw new TributaryError(
        'INTERNAL',
        `ingest reconciliation failed, nothing committed: ${writtenRows} rows and ${this.quarOut.lines} quarantine ` +
          `records written for ${t.rows} rows and ${t.quarantined} quarantined lines counted`,
      );
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
