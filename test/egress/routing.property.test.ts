/**
 * Evidence 4 (issue 15): over generated typed rows (NULLs, NaN, ±Infinity, non-ASCII text, dates, structs;
 * see filter-arbitraries.ts) and 1-3 generated route predicates, egress places each approved row in exactly
 * one table: the table of the first route whose predicate is TRUE for it, or central when none is (NULL
 * is no match). The reference is evaluate() from lake/predicate on the generated rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { egressBatch } from '../../activities/egress/batch';
import { type Expr, evaluate, formatPredicate, parsePredicate } from '../../lake/predicate';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { egressAppIdFor } from '../../shapes/targets';
import { storeOpener } from '../../workers/region-worker';
import { tableRows } from '../ingest/helpers';
import { type Cells, cellsArb, jsRow, predicateArb, rowSql } from './filter-arbitraries';

const ALL_NULL: Cells = { i: null, f: null, s: null, b: null, d: null, ts: null, n: null, x: null, q: null };
const stats = { runs: 0, routedRows: 0, defaultRows: 0, overlapping: 0 };

async function check(commits: Cells[][], filter: Expr, routes: Expr[], maxVersionsPerBatch: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-routing-prop-'));
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
    const tables = [`file://${dir}/central`, ...routes.map((_, i) => `file://${dir}/route-${i}`)];
    const target = {
      region: 'prop',
      source: source.url,
      central: tables[0]!,
      filter: formatPredicate(filter),
      onChangeCommits: 'fail' as const,
      maxVersionsPerBatch,
      routes: routes.map((e, i) => ({ table: tables[i + 1]!, predicate: formatPredicate(e) })),
    };
    for (let i = 0; ; i++) {
      const r = await egressBatch({ open }, target);
      if (r.caughtUp) break;
      if (i > commits.length) throw new Error('egress did not catch up');
    }
    // Reference: approved rows, each to its first TRUE route (index + 1) or central (0).
    const expected = new Map<string, number>();
    commits.flat().forEach((c, rowId) => {
      const row = jsRow(c);
      if (evaluate(filter, row) !== true) return;
      const hits = routes.map((e) => evaluate(e, row) === true);
      if (hits.filter(Boolean).length > 1) stats.overlapping++;
      const k = hits.indexOf(true);
      expected.set(String(rowId), k + 1);
      if (k < 0) stats.defaultRows++;
      else stats.routedRows++;
    });
    const actual = new Map<string, number>();
    for (const [i, url] of tables.entries()) {
      const store = await open(url);
      const snap = await loadSnapshotOrUndefined(store, defaultEngine);
      // Every table the routing names has the region's position, rows for it or not.
      expect(snap?.txnVersion(egressAppIdFor('prop'))).toBe(commits.length - 1);
      for (const row of await tableRows(store)) {
        const k = String(row.id);
        expect(actual.has(k)).toBe(false); // in one table only
        actual.set(k, i);
      }
    }
    stats.runs++;
    expect([...actual.entries()].sort()).toEqual([...expected.entries()].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

jest.setTimeout(300_000);

test('property: each approved row reaches exactly one table, its first TRUE route or central', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(cellsArb, { maxLength: 6 }), { minLength: 1, maxLength: 3 }),
      // Mostly-true filters so routes see rows; NULL and false still drop some.
      fc.oneof(
        { weight: 2, arbitrary: fc.constant(parsePredicate('i IS NULL OR i IS NOT NULL')) },
        { weight: 1, arbitrary: predicateArb({ missingColumns: false }) },
      ),
      fc.array(predicateArb({ missingColumns: true }), { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 3 }),
      check,
    ),
    { numRuns: Number(process.env.ROUTING_PROP_RUNS ?? 100) },
  );
  // Not vacuous: rows went both to routes and to the default, and some rows matched several routes.
  expect(stats.routedRows).toBeGreaterThan(0);
  expect(stats.defaultRows).toBeGreaterThan(0);
  expect(stats.overlapping).toBeGreaterThan(0);
});
