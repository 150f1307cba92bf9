/**
 * Egress projection and renames (central.columns / central.rename), `_region` added when the source has
 * none, clear errors for columns the source does not have, and a region whose table does not exist yet.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { egressBatch } from '../../activities/egress/batch';
import type { EgressTarget } from '../../shapes/targets';
import { parseConfig } from '../../config/load';
import { egressTargetOf } from '../../config/targets';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { deltaRsRows, rowSet } from '../interop/deltars';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-egress-proj-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const deps = { open: (url: string) => openStore(url) };

async function sourceTable(url: string, lines: object[]): Promise<void> {
  const file = path.join(dir, `in-${Math.random()}.jsonl`);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  await writeTable(await openStore(url), { sourceSql: `read_json('${file}', format = 'newline_delimited')` });
}

const target = (source: string, central: string, extra: Partial<EgressTarget> = {}): EgressTarget => ({
  region: 'eu-1',
  source,
  central,
  filter: 'egress_approved = true',
  onChangeCommits: 'fail',
  maxVersionsPerBatch: 10,
  ...extra,
});

test('keeps the chosen columns, renames them, keeps lineage and adds _region', async () => {
  const source = `file://${dir}/source`;
  const central = `file://${dir}/central`;
  await sourceTable(source, [
    { msg: 'a', level: 'INFO', secret: 's1', _source_file: 'f', _source_line: 1, egress_approved: true },
    { msg: 'b', level: 'WARN', secret: 's2', _source_file: 'f', _source_line: 2, egress_approved: false },
    { msg: 'c', level: 'ERROR', secret: 's3', _source_file: 'f', _source_line: 3, egress_approved: null },
    { msg: 'd', level: 'INFO', secret: 's4', _source_file: 'f', _source_line: 4, egress_approved: true },
  ]);
  const r = await egressBatch(
    deps,
    target(source, central, { columns: ['msg', 'level'], rename: { level: 'severity' } }),
  );
  expect(r.rowsEgressed).toBe(2);
  const store = await openStore(central);
  const snap = await Snapshot.load(store, defaultEngine);
  expect(snap.schema.fields.map((f) => f.name).sort()).toEqual(
    ['_region', '_source_file', '_source_line', 'msg', 'severity'].sort(),
  );
  // Longs come back as strings (canonical form, lossless).
  const rows = (await scanRows(store, snap)).sort((a, b) => Number(a._source_line) - Number(b._source_line));
  expect(rows).toEqual([
    { msg: 'a', severity: 'INFO', _source_file: 'f', _source_line: '1', _region: 'eu-1' },
    { msg: 'd', severity: 'INFO', _source_file: 'f', _source_line: '4', _region: 'eu-1' },
  ]);
  // delta-rs reads the central table egress wrote the same way.
  expect(rowSet(await deltaRsRows(central))).toEqual(rowSet(rows));
});

test('partitions: each written from its own source files, a renamed partition column, NULL partitions', async () => {
  const source = `file://${dir}/source`;
  const central = `file://${dir}/central`;
  const file = path.join(dir, 'p.jsonl');
  const lines = [
    { day: '2024-01-01', n: 1, egress_approved: true },
    { day: '2024-01-01', n: 2, egress_approved: false },
    { day: '2024-01-02', n: 3, egress_approved: true },
    { day: null, n: 4, egress_approved: true },
    { day: '2024-01-02', n: 5, egress_approved: null },
  ];
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
  await writeTable(await openStore(source), {
    sourceSql: `(SELECT CAST(day AS DATE) AS day, n, egress_approved FROM read_json('${file}', format = 'newline_delimited'))`,
    partitionBy: ['day'],
  });
  const r = await egressBatch(deps, target(source, central, { rename: { day: 'event_day' } }));
  expect(r.rowsEgressed).toBe(3);
  const store = await openStore(central);
  const snap = await Snapshot.load(store, defaultEngine);
  expect(snap.partitionColumns).toEqual(['event_day']);
  const byPartition = new Map(
    snap.files.map((f) => [f.partitionValues.event_day ?? null, JSON.parse(f.stats!).numRecords as number]),
  );
  expect(byPartition).toEqual(
    new Map<string | null, number>([
      ['2024-01-01', 1],
      ['2024-01-02', 1],
      [null, 1],
    ]),
  );
  const rows = await scanRows(store, snap);
  expect(rowSet(rows)).toEqual(
    rowSet([
      { event_day: '2024-01-01', n: '1', egress_approved: true, _region: 'eu-1' },
      { event_day: '2024-01-02', n: '3', egress_approved: true, _region: 'eu-1' },
      { event_day: null, n: '4', egress_approved: true, _region: 'eu-1' },
    ]),
  );
  expect((await deltaRsRows(central)).length).toBe(3);
});

test('a column the source does not have is a clear, non-retryable error', async () => {
  const source = `file://${dir}/source`;
  await sourceTable(source, [{ msg: 'a', egress_approved: true }]);
  await expect(
    egressBatch(deps, target(source, `file://${dir}/central`, { columns: ['msg', 'nope'] })),
  ).rejects.toMatchObject({
    code: 'BAD_INPUT',
    retryable: false,
    message: expect.stringMatching(/"nope".*not in the source/),
  });
  await expect(
    egressBatch(deps, target(source, `file://${dir}/central`, { rename: { missing: 'x' } })),
  ).rejects.toMatchObject({
    code: 'BAD_INPUT',
    message: expect.stringMatching(/"missing", which is not a source column/),
  });
});

test('a region whose table does not exist yet has nothing to egress', async () => {
  const r = await egressBatch(deps, target(`file://${dir}/not-yet`, `file://${dir}/central`));
  expect(r).toMatchObject({ caughtUp: true, sourceVersion: -1, latestSourceVersion: -1, rowsEgressed: 0 });
});

test('config: columns and rename reach the egress target; renaming lineage columns is refused', () => {
  const base = `regions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t" }\n`;
  const ok = parseConfig(
    `${base}central:\n  table: "file:///c"\n  columns: [msg, level]\n  rename: { level: severity }\n`,
    'ok.yaml',
  );
  expect(egressTargetOf(ok, ok.regions[0]!)).toMatchObject({
    columns: ['msg', 'level'],
    rename: { level: 'severity' },
  });
  expect(() =>
    parseConfig(`${base}central:\n  table: "file:///c"\n  rename: { _region: where }\n`, 'bad.yaml'),
  ).toThrow(/bad\.yaml:\d+.*central\.rename\._region.*lineage column _region cannot be renamed/);
});
