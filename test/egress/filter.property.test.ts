/**
 * Egress keeps exactly the rows whose filter is TRUE. fast-check generates typed rows (NULLs, NaN,
 * ±Infinity, 2^53±k, non-ASCII text, dates, sub-second timestamps, a struct) written to a local source
 * table in a few commits, and a well-typed predicate; egress runs in batches into a central table. The
 * reference is evaluate() from lake/predicate on the generated rows (NULL = not approved): central holds
 * exactly the rows it makes TRUE, each unchanged (plus the `_region` egress adds when the source lacks it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { egressBatch } from '../../activities/egress/batch';
import { evaluate, formatPredicate, type Expr } from '../../lake/predicate';
import { writeTable } from '../../lake/table/operations';
import { storeOpener } from '../../workers/region-worker';
import { tableRows } from '../ingest/helpers';
import { type Cells, cellsArb, jsRow, predicateArb, rowSql } from './filter-arbitraries';

const ALL_NULL: Cells = { i: null, f: null, s: null, b: null, d: null, ts: null, n: null, x: null, q: null };

/** Writes the commits, egresses them (maxVersionsPerBatch at a time) and returns central's rows by id. */
async function egressThrough(
  commits: Cells[][],
  filter: string,
  maxVersionsPerBatch: number,
): Promise<{ central: Map<string, unknown>; source: Map<string, unknown> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-egress-prop-'));
  const open = storeOpener({});
  try {
    const source = await open(`file://${dir}/source`);
    let id = 0;
    for (const rows of commits) {
      const selects = rows.length
        ? rows.map((c) => `SELECT ${rowSql(id++, c)}`)
        : [`SELECT ${rowSql(-1, ALL_NULL)} WHERE false`];
      await writeTable(source, { sourceSql: `(${selects.join(' UNION ALL ')})` });
    }
    const target = {
      region: 'prop',
      source: source.url,
      central: `file://${dir}/central`,
      filter,
      onChangeCommits: 'fail' as const,
      maxVersionsPerBatch,
    };
    for (let i = 0; ; i++) {
      const r = await egressBatch({ open }, target);
      if (r.caughtUp) break;
      if (i > commits.length) throw new Error('egress did not catch up');
    }
    const byId = (rows: Record<string, unknown>[]) => new Map(rows.map((r) => [String(r.id), r]));
    return {
      central: byId(await tableRows(await open(target.central))),
      source: byId(await tableRows(source)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const commitsArb = fc.array(fc.array(cellsArb, { maxLength: 6 }), { minLength: 1, maxLength: 3 });
const pretty = (e: Expr) => formatPredicate(e);

/** Runs where the filter split the rows (some kept, some not): the property is not vacuous. */
const stats = { runs: 0, split: 0, nullDropped: 0 };

async function check(commits: Cells[][], e: Expr, maxVersionsPerBatch: number): Promise<void> {
  const rows = commits.flat();
  const truth = rows.map((c) => evaluate(e, jsRow(c)));
  const expected = truth.flatMap((t, id) => (t === true ? [String(id)] : []));
  stats.runs++;
  if (expected.length > 0 && expected.length < rows.length) stats.split++;
  if (truth.includes(null)) stats.nullDropped++;
  const { central, source } = await egressThrough(commits, pretty(e), maxVersionsPerBatch);
  expect(source.size).toBe(rows.length);
  // Central = exactly the rows the reference makes TRUE…
  expect([...central.keys()].sort()).toEqual([...expected].sort());
  // …each as it is in the source (so every central row satisfies the predicate), plus its region.
  for (const [id, row] of central) expect(row).toEqual({ ...(source.get(id) as object), _region: 'prop' });
}

jest.setTimeout(300_000);

test('property: central = exactly the source rows whose filter is TRUE (NULL is not approved)', async () => {
  await fc.assert(
    fc.asyncProperty(
      commitsArb,
      predicateArb({ missingColumns: false }),
      fc.integer({ min: 1, max: 3 }),
      check,
    ),
    { numRuns: Number(process.env.EGRESS_PROP_RUNS ?? 60) },
  );
  expect(stats.split / stats.runs).toBeGreaterThan(0.2);
  expect(stats.nullDropped / stats.runs).toBeGreaterThan(0.2);
});

test('property: a filter naming columns the source lacks reads them as NULL, as evaluate() does', async () => {
  await fc.assert(
    fc.asyncProperty(
      commitsArb,
      predicateArb({ missingColumns: true }),
      fc.integer({ min: 1, max: 3 }),
      check,
    ),
    { numRuns: Number(process.env.EGRESS_PROP_RUNS ?? 60) },
  );
});
