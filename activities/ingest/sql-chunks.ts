/**
 * Writes the staged lines DuckDB types by itself (route.ts) as data files, a chunk at a time, while JS
 * decodes the next source files: one chunk's COPY runs on DuckDB's threads as the next chunk is staged.
 *
 * A chunk is typed with the schema the Conformer had when the chunk was closed: its lines fit that schema
 * (their class was settled against it or a smaller one), and the batch's final schema only adds nullable
 * columns, which read as NULL from these files. Lines whose values fail a DuckDB check are left out of the
 * files and handed back (`failing`) for the Conformer; nothing is committed here.
 */
import type { AddFile } from '../../lake/delta/actions';
import type { StructField, StructType } from '../../lake/delta/schema';
import { TributaryError } from '../../lake/errors';
import { sqlIdent, sqlString, withConnection } from '../../lake/engine/duckdb';
import type { ObjectStore } from '../../lake/storage/object-store';
import { writeFilesAs } from '../../lake/table/operations';
import type { JsLine } from './route';
import { sqlConform, stagedJson, stagedText, typedLines } from './sql-conform';
import { LINE_SPACE } from './stage-batch';
import type { LineWriter } from './staging';
import { PARTITION_COLUMNS, filePrefixFor } from './types';

/** Staged bytes per chunk: big enough for well-sized files, small enough to overlap decoding. */
const CHUNK_BYTES = 128 << 20;
/** The first chunk is smaller, so DuckDB starts soon after the batch does. */
const FIRST_CHUNK_BYTES = 32 << 20;

export interface ChunkContext {
  table: ObjectStore;
  /** Source file keys, by file index. */
  fileKeys: readonly string[];
  region: string;
  /** The batch's _ingested_at (ISO-8601). */
  now: string;
  eventTimeColumn: string;
  maxLineBytes: number;
  /** The batch sequence number (file names). */
  seq: number;
  /** Metadata columns, in table order (batch.ts). */
  metadata: readonly StructField[];
}

/**
 * `rows` (user columns of `schema` and _rescued_data, _source_file, _source_line) with the batch's
 * _ingested_at, _region and _event_date: the event time column when the schema has it as a timestamp,
 * else the ingestion date.
 */
export function withBatchColumns(ctx: ChunkContext, schema: StructType, rows: string): string {
  const now = `TIMESTAMPTZ ${sqlString(ctx.now)}`;
  const col = schema.fields.find((f) => f.name === ctx.eventTimeColumn && f.type === 'timestamp');
  const eventDate = col ? `CAST(COALESCE(${sqlIdent(col.name)}, ${now}) AS DATE)` : `CAST(${now} AS DATE)`;
  return `(SELECT *, ${now} AS _ingested_at, ${sqlString(ctx.region)} AS _region, ${eventDate} AS _event_date FROM (${rows}))`;
}

export class SqlChunks {
  readonly adds: AddFile[] = [];
  /** Staged lines DuckDB turned down (value checks), for the Conformer. */
  readonly failing: JsLine[] = [];
  private pending: LineWriter[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  private started = false;

  constructor(private readonly ctx: ChunkContext) {}

  /** A closed staging file; a chunk is written once enough is staged. */
  async add(file: LineWriter, schema: StructType): Promise<void> {
    if (file.lines === 0) return;
    this.pending.push(file);
    this.pendingBytes += file.bytes;
    if (this.pendingBytes >= (this.started ? CHUNK_BYTES : FIRST_CHUNK_BYTES)) await this.flush(schema);
  }

  /** Writes what is pending (waiting for the chunk in flight first: one COPY at a time). */
  async flush(schema: StructType): Promise<void> {
    if (!this.pending.length) return;
    const files = this.pending;
    const frozen = structuredClone(schema);
    this.pending = [];
    this.pendingBytes = 0;
    this.started = true;
    await this.inflight;
    this.inflight = this.write(files, frozen);
    this.inflight.catch(() => {}); // awaited by the next flush or finish
  }

  /** Writes the rest and waits for every chunk. */
  async finish(schema: StructType): Promise<void> {
    await this.flush(schema);
    await this.inflight;
  }

  /** After a failure: waits for the chunk in flight (it reads staging files about to go), writes no more. */
  async abandon(): Promise<void> {
    this.pending = [];
    await this.inflight.catch(() => {});
  }

  private async write(files: LineWriter[], schema: StructType): Promise<void> {
    const c = this.ctx;
    const lines = files.reduce((n, f) => n + f.lines, 0);
    const sc = sqlConform(schema);
    if (!sc)
      throw new TributaryError('INTERNAL', 'ingest routing sent lines to SQL for a schema SQL cannot type');
    const paths = files.map((f) => f.path);
    const fileList = `[${c.fileKeys.map(sqlString).join(', ')}]`;
    const rows = (relation: string) =>
      `SELECT ${sc.columns.join(', ')}, CAST(NULL AS VARCHAR) AS _rescued_data, ` +
      `${fileList}[f + 1] AS _source_file, n AS _source_line FROM ${relation} WHERE ${sc.ok}`;
    const text = stagedText(paths, c.maxLineBytes);
    await withConnection(async (conn) => {
      const write = (relation: string) =>
        writeFilesAs(conn, c.table, {
          source: withBatchColumns(c, schema, rows(relation)),
          schema: { type: 'struct', fields: [...schema.fields, ...c.metadata] },
          partitionColumns: PARTITION_COLUMNS,
          namePrefix: filePrefixFor(c.seq),
        });
      let adds: AddFile[];
      try {
        adds = await write(stagedJson(paths, schema, c.maxLineBytes));
      } catch (e) {
        // A line whose strings DuckDB's reader refuses (a bad escape, a control character) fails the whole
        // read: type this chunk line by line instead, where such lines come out NULL and go to the Conformer.
        if (!/JSON/i.test(String(e))) throw e;
        adds = await write(typedLines(text, sc.transform));
      }
      const written = adds.reduce((n, a) => n + (JSON.parse(a.stats ?? '{}').numRecords ?? 0), 0);
      this.adds.push(...adds);
      if (written === lines) return;
      const failing = (
        await conn.runAndReadAll(
          `SELECT f, n, o, j FROM ${typedLines(text, sc.transform, ['o', 'j'])} WHERE (${sc.ok}) IS NOT TRUE`,
        )
      )
        .getRows()
        .map(([f, n, o, j]) => ({
          g: Number(f) * LINE_SPACE + Number(n),
          o: Number(o),
          raw: Buffer.from(j as string, 'utf8'),
        }));
      if (written + failing.length !== lines)
        throw new TributaryError(
          'INTERNAL',
          `ingest: a chunk of ${lines} staged lines gave ${written} rows and ${failing.length} lines to reroute`,
        );
      this.failing.push(...failing);
    });
    // Nothing reads a chunk's staged lines again (failing ones are held above): scratch space stays about
    // two chunks, not the whole batch. A failed chunk's files go with the batch's (BatchStaging.discard).
    await Promise.all(files.map((f) => f.remove()));
  }
}
