/**
 * Decides, line by line and in line order, which lines DuckDB types by itself (sql-conform.ts) and which go
 * through the JS Conformer, so that the result is exactly what conforming every line in order would give.
 *
 * Lines are grouped by skeleton (skeleton.ts: keys and JSON kinds, no values). The Conformer only changes
 * the schema at the first non-null occurrence of a field, so every change happens on the first line of
 * some skeleton: that line always goes through JS, and afterwards its skeleton is settled once against
 * the schema the Conformer then has. Schemas only grow, so a skeleton that fits then fits the final
 * schema too, and every later line of it is typed by DuckDB; one that does not fit (a value to rescue, a
 * key met only as null, a key twice) sends all its lines through JS. Lines the scanner does not vouch for
 * go through JS as well, and so (found when the rows are written, sql-chunks.ts) do lines whose
 * values fail a check DuckDB makes (a timestamp text, an integer range, a JSON syntax error inside a
 * string): those never change the schema, as they are no skeleton's first line.
 */
import type { StructType } from '../../lake/delta/schema';
import { SkeletonIds, shapeOfSkeleton } from './skeleton';
import { shapeFits, sqlConform } from './sql-conform';

/**
 * Skeletons remembered per batch, by count and by their total length (a skeleton holds every key of its
 * line); lines of skeletons beyond this go through JS (still correct, slower).
 */
const MAX_CLASSES = 50_000;
const MAX_CLASS_BYTES = 64 << 20;

export class LineRouter {
  private readonly ids = new SkeletonIds();
  /** Per skeleton id: 1 fits (DuckDB types its lines), 0 does not, undefined not settled yet. */
  private readonly fit: (0 | 1 | undefined)[] = [];

  /** Skeletons seen in this batch. */
  get size(): number {
    return this.ids.size;
  }

  /** Whether a new skeleton of this length stays within the caps (made once: classOf runs per line). */
  private readonly canAdd = (len: number): boolean =>
    this.ids.size < MAX_CLASSES && this.ids.bytes + len <= MAX_CLASS_BYTES;

  /** The class of a line: its skeleton id, or -1 (no skeleton, or beyond the caps). */
  classOf(line: Buffer): number {
    return this.ids.idOf(line, this.canAdd);
  }

  /** Whether DuckDB may type the lines of this class (settled by an earlier line of it). */
  fits(k: number): boolean {
    return k >= 0 && this.fit[k] === 1;
  }

  /** Settles a class after the Conformer took its first line, against the schema the Conformer now has. */
  settle(k: number, schema: StructType): void {
    if (k < 0 || this.fit[k] !== undefined) return;
    const shape = shapeOfSkeleton(this.ids.text(k));
    this.fit[k] =
      shape !== undefined &&
      typeof shape === 'object' &&
      !Array.isArray(shape) &&
      shapeFits(shape, schema) &&
      sqlConform(schema) !== undefined
        ? 1
        : 0;
  }
}

/** One line for the JS path: global line id g (file index · 2^32 + line number), byte offset, raw bytes. */
export interface JsLine {
  g: number;
  o: number;
  raw: Buffer;
}
