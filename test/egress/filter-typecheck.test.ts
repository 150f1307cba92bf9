/** The egress filter is type-checked against the source schema before a batch reads anything. */
import { filterSql } from '../../activities/egress/filter';
import type { StructType } from '../../lake/delta/schema';
import { isTributaryError } from '../../lake/errors';

const field = (name: string, type: string) => ({ name, type, nullable: true, metadata: {} });
const SOURCE: StructType = { type: 'struct', fields: [field('level', 'string'), field('n', 'long')] };

test('a comparison DuckDB would fail on is a BAD_INPUT error with a caret, not a Conversion Error later', () => {
  let err: unknown;
  try {
    filterSql("level = 'ERROR' OR level = 5", SOURCE, 'q');
  } catch (e) {
    err = e;
  }
  expect(isTributaryError(err, 'BAD_INPUT')).toBe(true);
  expect((err as Error).message).toBe(
    [
      "predicate error at position 28: column level (string) cannot be compared with a number 5: a string compares with strings only (quote the value: '…')",
      "  level = 'ERROR' OR level = 5",
      '                             ^',
    ].join('\n'),
  );
});

test('well-typed filters render as before; columns the source lacks read as NULL', () => {
  expect(filterSql("level = 'ERROR' AND n >= '3'", SOURCE, 'q')).toBe(
    `(("q"."level" = 'ERROR') AND ("q"."n" >= '3'))`,
  );
  expect(filterSql('gone = 1 OR gone IS NULL', SOURCE, 'q')).toBe('((NULL = 1) OR (NULL IS NULL))');
});
