/**
 * lake/query over the shared Delta conformance corpus (Spark, delta-rs and kernel tables): every table's
 * row count and Arrow IPC round trip; deletion vectors, column mapping and type widening read exactly; file
 * skipping on a table with deletion vectors changes nothing but the files read.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { type QueryOptions, query, queryWithStats } from '../../lake/query';
import { openStore } from '../../lake/storage/open';

const CORPUS = path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance');

const expected = (name: string): Record<string, unknown>[] =>
  readFileSync(path.join(CORPUS, 'expected', `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const optsFor = (...names: string[]): QueryOptions => ({
  catalog: Object.fromEntries(
    names.map((n) => [
      `corpus.${n.replace(/[^A-Za-z0-9_]/g, '_')}`,
      `file://${path.join(CORPUS, 'tables', n)}`,
    ]),
  ),
  open: (url) => openStore(url),
});

describe('query over the conformance corpus', () => {
  test('corpus is present', () => expect(existsSync(path.join(CORPUS, 'tables'))).toBe(true));

  test('every table: row count and Arrow IPC round trip', async () => {
    const tables = readdirSync(path.join(CORPUS, 'tables')).sort();
    expect(tables.length).toBeGreaterThanOrEqual(40);
    for (const name of tables) {
      const t = await query(`SELECT * FROM corpus.t`, {
        catalog: { 'corpus.t': `file://${path.join(CORPUS, 'tables', name)}` },
        open: (url) => openStore(url),
      });
      expect([name, t.numRows]).toEqual([name, expected(name).length]);
      const back = tableFromIPC(tableToIPC(t, 'stream'));
      expect([name, back.numRows, back.schema.fields.map((f) => String(f.type))]).toEqual([
        name,
        t.numRows,
        t.schema.fields.map((f) => String(f.type)),
      ]);
    }
  });

  test('deletion vectors: exact rows, and skipping by partition changes nothing', async () => {
    const name = 'dv-partitioned-with-checkpoint';
    const want = expected(name)
      .map((r) => [r.part, r.col1, r.col2])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const all = await query(
      `SELECT part, col1, col2 FROM corpus.dv_partitioned_with_checkpoint`,
      optsFor(name),
    );
    const got = all
      .toArray()
      .map((r) => [Number(r.part), Number(r.col1), r.col2])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(got).toEqual(want);

    const sql = `SELECT col1, col2 FROM corpus.dv_partitioned_with_checkpoint WHERE part = 1 ORDER BY col1`;
    const pruned = await queryWithStats(sql, optsFor(name));
    const full = await queryWithStats(sql, { ...optsFor(name), prune: false });
    const wantPart = expected(name)
      .filter((r) => Number(r.part) === 1)
      .map((r) => Number(r.col1))
      .sort((a, b) => a - b);
    expect(pruned.table.toArray().map((r) => Number(r.col1))).toEqual(wantPart);
    expect(full.table.toArray().map((r) => Number(r.col1))).toEqual(wantPart);
    expect(pruned.stats.filesSkipped).toBeGreaterThan(0);
    expect(full.stats.filesSkipped).toBe(0);
  });

  test('column mapping and type widening read the logical schema', async () => {
    const cm = await query(
      `SELECT "ByteType", "StringType", nested_struct.aa AS aa FROM corpus.table_with_columnmapping_mode_id WHERE "StringType" >= '3' ORDER BY "ByteType"`,
      optsFor('table-with-columnmapping-mode-id'),
    );
    const want = expected('table-with-columnmapping-mode-id')
      .filter((r) => typeof r.StringType === 'string' && r.StringType >= '3')
      .sort((a, b) => Number(a.ByteType) - Number(b.ByteType));
    expect(cm.toArray().map((r) => [r.ByteType, r.StringType, r.aa])).toEqual(
      want.map((r) => [r.ByteType, r.StringType, (r.nested_struct as { aa: string } | null)?.aa ?? null]),
    );
    const tw = await query(
      `SELECT CAST(byte_long AS VARCHAR) AS a, CAST(long_decimal AS VARCHAR) AS b FROM corpus.type_widening ORDER BY byte_long`,
      optsFor('type-widening'),
    );
    expect(tw.toArray().map((r) => [r.a, r.b])).toEqual([
      ['1', '4.0'],
      ['9223372036854775807', '123456789012345678.9'],
    ]);
  });
});
