/**
 * The strongest interop check: Apache Spark with Delta Lake (pyspark 3.5.8 + delta-spark 3.3.2) reads a
 * table Tributary wrote — partitions with awkward values, nested types, a delete, time travel, history —
 * including through our checkpoint Parquet alone (the commits before it removed).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Snapshot } from '../../lake/delta/snapshot';
import { sqlString } from '../../lake/engine/duckdb';
import { scanRows } from '../../lake/engine/scan';
import { openStore } from '../../lake/storage/open';
import { deleteWhere } from '../../lake/table/delete';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { rowSet } from '../interop/deltars';
import { sparkBatch } from '../interop/spark';

jest.setTimeout(600_000);

test('Spark reads Tributary tables: rows, time travel, history, checkpoint-only log', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-spark-'));
  const table = path.join(dir, 'logs');
  const store = await openStore(`file://${table}`);
  const parts = ['a b', 'x=y', '100%', 'ü/日本', null];
  for (let i = 0; i < 11; i++) {
    const f = path.join(dir, `in${i}.jsonl`);
    writeFileSync(
      f,
      [0, 1, 2]
        .map((j) =>
          JSON.stringify({
            part: parts[(i + j) % parts.length],
            id: i * 10 + j,
            big: 9007199254740993n.toString(),
            ts: `2024-05-0${(j % 3) + 1}T01:02:03.456789Z`,
            http: { status: 200 + j, tags: ['t', `u${i}`] },
            ok: j % 2 === 0,
          }),
        )
        .join('\n'),
    );
    await writeTable(store, {
      sourceSql: `(SELECT * REPLACE (CAST(big AS BIGINT) AS big) FROM read_json(${sqlString(f)}, format = 'newline_delimited'))`,
      partitionBy: i === 0 ? ['part'] : undefined,
    });
  }
  await deleteWhere(store, 'id = 52 OR part IS NULL'); // v11
  const ours = await scanRows(store, await Snapshot.load(store, defaultEngine));
  const oursV5 = await scanRows(store, await Snapshot.load(store, defaultEngine, { version: 5 }));
  // A copy whose log starts at the checkpoint: Spark can only read it through our checkpoint Parquet.
  const cpOnly = path.join(dir, 'cp-only');
  cpSync(table, cpOnly, { recursive: true });
  for (let v = 0; v < 10; v++) rmSync(path.join(cpOnly, '_delta_log', `${String(v).padStart(20, '0')}.json`));

  const cmds = [
    ['read', table],
    ['read', table, 5],
    ['history', table],
    ['read', cpOnly],
  ];
  const out = await sparkBatch(cmds);
  expect(out[0]!.length).toBe(ours.length);
  expect(rowSet(out[0]!)).toEqual(rowSet(ours));
  expect(rowSet(out[1]!)).toEqual(rowSet(oursV5));
  expect(out[2]!.map((h) => [h.version, h.operation])).toEqual([
    [0, 'CREATE TABLE AS SELECT'],
    ...Array.from({ length: 10 }, (_, k) => [k + 1, 'WRITE']),
    [11, 'DELETE'],
  ]);
  expect(rowSet(out[3]!)).toEqual(rowSet(ours));
  rmSync(dir, { recursive: true, force: true });
});
