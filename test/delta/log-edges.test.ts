/**
 * Delta reader edges: logs written by hand. A superseded metaData may be incomplete (Databricks DLT,
 * delta-rs#1302); versions beyond what a JS number holds exactly are refused, never rounded.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildLogSegment } from '../../lake/delta/log-segment';
import { Snapshot } from '../../lake/delta/snapshot';
import { duckdbParquetActions } from '../../lake/engine/checkpoint-io';
import { openStore } from '../../lake/storage/open';
import { cli } from '../harness/cli';

const engine = { parquet: duckdbParquetActions };
const root = mkdtempSync(path.join(tmpdir(), 'tributary-log-edges-'));

const schema = (fields: string[]) =>
  JSON.stringify({
    type: 'struct',
    fields: fields.map((name) => ({ name, type: 'long', nullable: true, metadata: {} })),
  });

/** A table directory whose `_delta_log/` holds exactly these files (name → lines of actions). */
function handWritten(name: string, files: Record<string, unknown[]>): { dir: string; url: string } {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, '_delta_log'), { recursive: true });
  for (const [f, actions] of Object.entries(files))
    writeFileSync(path.join(dir, '_delta_log', f), actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
  return { dir, url: `file://${dir}` };
}

const v = (n: number) => `${String(n).padStart(20, '0')}.json`;
const protocol = { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
const metaData = (fields: string[], extra: Record<string, unknown> = {}) => ({
  metaData: {
    id: 'dlt-table',
    format: { provider: 'parquet', options: {} },
    schemaString: schema(fields),
    partitionColumns: [],
    configuration: {},
    createdTime: 1,
    ...extra,
  },
});

describe('a superseded metaData without schemaString (Databricks DLT tables)', () => {
  const { metaData: m0 } = metaData([]);
  const { schemaString: _dropped, ...incomplete } = m0;
  void _dropped;
  const t = handWritten('dlt', {
    [v(0)]: [{ commitInfo: { operation: 'CREATE TABLE' } }, protocol, { metaData: incomplete }],
    [v(1)]: [{ commitInfo: { operation: 'SET TBLPROPERTIES' } }, metaData(['a', 'b'])],
  });

  test('the latest version reads with the winning metaData', async () => {
    const snap = await Snapshot.load(await openStore(t.url), engine);
    expect(snap.version).toBe(1);
    expect(snap.schema.fields.map((f) => f.name)).toEqual(['a', 'b']);
  });

  test('time travel to the version where the incomplete metaData is in force fails clearly', async () => {
    await expect(Snapshot.load(await openStore(t.url), engine, { version: 0 })).rejects.toMatchObject({
      code: 'INVALID_LOG',
      message: expect.stringMatching(
        /v0: the metaData in force is incomplete: .*00000000000000000000\.json line 3 \(metaData\): field 'schemaString' must be string, got none/,
      ),
    });
  });

  test('a newer incomplete metaData is refused when a snapshot is brought up to date', async () => {
    const u = handWritten('dlt-update', {
      [v(0)]: [protocol, metaData(['a'])],
      [v(1)]: [{ commitInfo: {} }],
    });
    const store = await openStore(u.url);
    const snap = await Snapshot.load(store, engine);
    writeFileSync(path.join(u.dir, '_delta_log', v(2)), JSON.stringify({ metaData: incomplete }) + '\n');
    await expect(snap.update(store, engine)).rejects.toMatchObject({
      code: 'INVALID_LOG',
      message: expect.stringMatching(
        /v2: the metaData in force is incomplete: .*line 1 \(metaData\): field 'schemaString'/,
      ),
    });
  });

  test('the table takes appends and reads back through the CLI; --version 0 is refused', async () => {
    const input = path.join(root, 'dlt-in.jsonl');
    writeFileSync(input, '{"a": 1, "b": 2}\n{"a": 3, "b": 4}\n');
    const a = await cli('table', 'append', t.url, '--input', input);
    expect(a.stderr).toBe('');
    expect(JSON.parse(a.stdout)).toMatchObject({ version: 2, rows: 2 });
    const r = await cli('table', 'read', t.url);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['{"a":1,"b":2}', '{"a":3,"b":4}']);
    const old = await cli('table', 'read', t.url, '--version', '0');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/the metaData in force is incomplete: .*field 'schemaString' must be string/);
    expect(old.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});
describe('versions beyond Number.MAX_SAFE_INTEGER are refused, never rounded', () => {
  const base = { [v(0)]: [protocol, metaData(['a'])], [v(1)]: [{ commitInfo: {} }] };

  test.each([
    ['99999999999999999999.json', '99999999999999999999'],
    ['09007199254740992.json'.padStart(25, '0'), '9007199254740992'],
    ['99999999999999999999.checkpoint.parquet', '99999999999999999999'],
    ['99999999999999999999.crc', '99999999999999999999'],
  ])('a log file named %s', async (file, shown) => {
    const t = handWritten(`huge-${file}`, base);
    writeFileSync(path.join(t.dir, '_delta_log', file), '{"commitInfo":{}}\n');
    const store = await openStore(t.url);
    await expect(Snapshot.load(store, engine)).rejects.toMatchObject({
      code: 'INVALID_LOG',
      message: `table ${t.url}: log file _delta_log/${file}: version ${shown}: beyond 9007199254740991, the largest version Tributary represents exactly`,
    });
    // Versions before it still read (the listing stops before the file).
    expect((await Snapshot.load(store, engine, { version: 1 })).version).toBe(1);
  });

  test('the largest exact version is still a version', async () => {
    const t = handWritten('max-safe', base);
    const store = await openStore(t.url);
    writeFileSync(path.join(t.dir, '_delta_log', v(Number.MAX_SAFE_INTEGER)), '{"commitInfo":{}}\n');
    await expect(Snapshot.load(store, engine)).rejects.toMatchObject({
      code: 'INVALID_LOG',
      message: expect.stringMatching(/version 9007199254740991 cannot be reconstructed: commit 2 is missing/),
    });
  });

  test('a _last_checkpoint hint beyond it is ignored (it is only a hint)', async () => {
    const t = handWritten('huge-hint', base);
    writeFileSync(path.join(t.dir, '_delta_log', '_last_checkpoint'), '{"version": 99999999999999999999}');
    expect((await Snapshot.load(await openStore(t.url), engine)).version).toBe(1);
  });

  test('a version asked for beyond it is refused before anything is listed', async () => {
    const t = handWritten('huge-ask', base);
    await expect(Snapshot.load(await openStore(t.url), engine, { version: 1e20 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'version must be an integer from 0 to 9007199254740991, got 100000000000000000000',
    });
  });

  test('CLI --version and --as-of-version beyond it are refused, not rounded', async () => {
    const t = handWritten('huge-cli', base);
    const r = await cli('table', 'read', t.url, '--version', '99999999999999999999');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /--version 99999999999999999999: beyond 9007199254740991, the largest version Tributary represents exactly/,
    );
    expect(r.stderr).not.toMatch(/100000000000000000000/);
    const q = await cli(
      'query',
      'SELECT count(*) FROM t.x',
      '--table',
      `t.x=${t.url}`,
      '--as-of-version',
      '99999999999999999999',
    );
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(/--as-of-version 99999999999999999999: beyond 9007199254740991/);
    const info = await cli('table', 'info', t.url, '--version', '9007199254740992');
    expect(info.code).toBe(1);
    expect(info.stderr).toMatch(/--version 9007199254740992: beyond/);
  });
});

test('a log of 150,000 commits without a checkpoint builds its segment (no spread-argument stack overflow)', async () => {
  const t = handWritten('many-commits', {});
  for (let i = 0; i < 150_000; i++) writeFileSync(path.join(t.dir, '_delta_log', v(i)), '');
  const seg = await buildLogSegment(await openStore(t.url), t.url);
  expect(seg).toMatchObject({ version: 149_999, checkpoint: undefined });
  expect(seg.commits).toHaveLength(150_000);
}, 120_000);

test('multi-part checkpoint names outside 1..parts do not make a checkpoint look complete', async () => {
  const t = handWritten('bad-parts', { [v(0)]: [protocol, metaData(['a'])], [v(1)]: [{ commitInfo: {} }] });
  // Parts 1 and 3 "of 2": two distinct part numbers, but part 2 is missing. Not parquet either: were the
  // checkpoint taken as complete, reading it would fail.
  for (const f of ['0000000001.0000000002', '0000000003.0000000002'])
    writeFileSync(
      path.join(t.dir, '_delta_log', `${v(1).slice(0, 20)}.checkpoint.${f}.parquet`),
      'not parquet',
    );
  const snap = await Snapshot.load(await openStore(t.url), engine);
  expect(snap.version).toBe(1);
  expect(snap.segment.checkpoint).toBeUndefined();
  expect(snap.segment.commits.map((c) => c.version)).toEqual([0, 1]);
});

describe('time travel before _last_checkpoint lists backwards from the version', () => {
  // Names only: buildLogSegment lists, it does not read. Checkpoints at 100 and 2000, the hint at 2000.
  const t = handWritten('list-back', {});
  const log = path.join(t.dir, '_delta_log');
  for (let i = 0; i <= 3000; i++) if (i !== 2700) writeFileSync(path.join(log, v(i)), '');
  for (const c of [100, 2000])
    writeFileSync(path.join(log, `${v(c).slice(0, 20)}.checkpoint.parquet`), 'names only');
  writeFileSync(path.join(log, '_last_checkpoint'), JSON.stringify({ version: 2000, size: 1 }));
  const segment = async (version: number) => buildLogSegment(await openStore(t.url), t.url, version);
  const versions = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  test('a checkpoint inside the first window', async () => {
    const s = await segment(150);
    expect(s.checkpoint?.version).toBe(100);
    expect(s.commits.map((c) => c.version)).toEqual(versions(101, 150));
  });

  test('a checkpoint far behind: the window widens until it holds one', async () => {
    const s = await segment(1500);
    expect(s.checkpoint?.version).toBe(100);
    expect(s.commits.map((c) => c.version)).toEqual(versions(101, 1500));
  });

  test('before the first checkpoint: from version 0', async () => {
    const s = await segment(99);
    expect(s.checkpoint).toBeUndefined();
    expect(s.commits.map((c) => c.version)).toEqual(versions(0, 99));
  });

  test('at or after the hint: from the hint; a missing commit after it is still an error', async () => {
    expect((await segment(2600)).checkpoint?.version).toBe(2000);
    await expect(segment(2800)).rejects.toThrow(
      /version 2800 cannot be reconstructed: commit 2700 is missing/,
    );
  });
});
