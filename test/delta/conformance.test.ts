/**
 * Reads every table of the shared Delta conformance corpus (written by Spark, delta-rs and kernel
 * generators) and compares the canonical rows with expected/<table>.jsonl. A table that needs a
 * feature we do not support must fail with PROTOCOL_UNSUPPORTED naming the feature, never be misread.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { isTributaryError } from '../../lake/errors';
import { Snapshot } from '../../lake/delta/snapshot';
import { duckdbParquetActions } from '../../lake/engine/checkpoint-io';
import { sortLines } from '../../lake/engine/canonical';
import { scanRows } from '../../lake/engine/scan';
import { openStore } from '../../lake/storage/open';

const CORPUS = path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance');
const engine = { parquet: duckdbParquetActions };

/** Tables we knowingly refuse, with the feature named in the error. Empty means we read them all. */
const UNSUPPORTED: Record<string, RegExp> = {};

if (!existsSync(path.join(CORPUS, 'tables'))) {
  test('conformance corpus is present', () => {
    throw new Error(
      `Delta conformance corpus not found at ${CORPUS} (expected ../shared/delta-conformance beside the repo)`,
    );
  });
} else {
  const tables = readdirSync(path.join(CORPUS, 'tables')).sort();
  test('corpus lists tables', () => expect(tables.length).toBeGreaterThanOrEqual(40));

  describe.each(tables.map((t) => [t]))('conformance: %s', (name: string) => {
    test('latest snapshot rows match expected', async () => {
      const store = await openStore(`file://${path.join(CORPUS, 'tables', name)}`);
      const expected = readFileSync(path.join(CORPUS, 'expected', `${name}.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean);
      const unsupported = UNSUPPORTED[name];
      if (unsupported) {
        const e = await Snapshot.load(store, engine)
          .then((s) => scanRows(store, s))
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(isTributaryError(e, 'PROTOCOL_UNSUPPORTED') ? e.message : String(e)).toMatch(unsupported);
        return;
      }
      const snap = await Snapshot.load(store, engine);
      const rows = await scanRows(store, snap);
      const got = sortLines(rows.map((r) => JSON.stringify(r)));
      expect(got.length).toBe(expected.length);
      expect(got).toEqual(sortLines([...expected]));
    });
  });
}
