/**
 * Poison input never wedges a region: the nasty-input corpus (poison-corpus.ts), each file in a batch of
 * its own and all in one batch, on the real Temporal dev server. Every non-blank line is exactly one row
 * or one quarantine record, nothing blocks the other files, nothing retries for ever. A line the engine
 * refuses (beyond what the limits catch) is isolated by trial runs and quarantined with the reason.
 */
import type { FileReconciliation } from '../../activities/ingest/types';
import type { IngestTarget } from '../../shapes/targets';
import { history } from '../../lake/table/maintenance';
import { openStore } from '../../lake/storage/open';
import type { IngestRunSummary } from '../../workflows/ingest';
import { cli } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { type CorpusFile, nastyCorpus, nestedObject } from './poison-corpus';
import {
  ingestTargetAt,
  logLines,
  runIngestRegion,
  snapshot,
  tableRows,
  writeLocalRegionConfig,
} from './helpers';

jest.setTimeout(600_000);

type Row = Record<string, unknown>;

const runRegion = (target: IngestTarget) => runIngestRegion(target, 'poison');

async function reconciliations(tableUrl: string): Promise<FileReconciliation[]> {
  return (await history(await openStore(tableUrl)))
    .map((h) => (h.operationParameters as Record<string, string> | undefined)?.files)
    .filter((f): f is string => typeof f === 'string')
    .flatMap((f) => JSON.parse(f) as FileReconciliation[]);
}

/** Checks each corpus file line by line against what it says must become of its lines. */
function checkFile(f: CorpusFile, rows: Row[], qrows: Row[], recon: FileReconciliation[]): void {
  const key = `in/${f.key}`;
  const r = recon.filter((x) => x.key === key);
  expect({ key, reconciliations: r.length }).toEqual({ key, reconciliations: 1 });
  const mine = rows.filter((x) => x._source_file === key);
  const quar = qrows.filter((x) => x.source_file === key);
  expect({ key, lines: r[0]!.lines }).toEqual({ key, lines: r[0]!.rows + r[0]!.quarantined });
  expect({ key, rows: mine.length, quarantined: quar.length }).toEqual({
    key,
    rows: r[0]!.rows,
    quarantined: r[0]!.quarantined,
  });
  // Every line number exactly once, as a row or as a quarantine record.
  const seen = [...mine.map((x) => Number(x._source_line)), ...quar.map((x) => Number(x.line))];
  expect({ key, unique: new Set(seen).size }).toEqual({ key, unique: seen.length });
  for (const x of mine) {
    const want = f.expect?.[Number(x._source_line)] ?? f.rest ?? 'row';
    expect({ key, line: Number(x._source_line), is: 'row' }).toEqual({
      key,
      line: Number(x._source_line),
      is: want === 'row' ? 'row' : String(want),
    });
  }
  for (const q of quar) {
    const line = Number(q.line);
    const reason = String(q.reason);
    if (line < 0) {
      expect({ key, line, reason }).toEqual({ key, line, reason: expect.stringMatching(f.raw ?? /^$/) });
      continue;
    }
    const want = f.expect?.[line] ?? (f.raw ? /^line cut short by unreadable gzip data/ : (f.rest ?? 'row'));
    expect({ key, line, reason }).toEqual({
      key,
      line,
      reason: want === 'row' ? 'a row' : expect.stringMatching(want),
    });
  }
  // A file kept as raw bytes keeps exactly its stored bytes.
  if (f.raw) {
    const parts = quar.filter((q) => Number(q.line) < 0).sort((a, b) => Number(b.line) - Number(a.line));
    expect(Buffer.concat(parts.map((q) => Buffer.from(q.raw as string, 'base64'))).equals(f.body)).toBe(true);
  }
}

test('nasty-input corpus, each file alone and all in one batch: every line one row or one quarantine record', async () => {
  const corpus = nastyCorpus();
  const results: { rows: number; quarantined: number; summary: IngestRunSummary }[] = [];
  for (const perBatch of [1, 100]) {
    const loc = await createTestLocation('local');
    const raw = await openStore(`${loc.url}/raw`);
    for (const f of corpus) await raw.put(`in/${f.key}`, f.body);
    const target = ingestTargetAt(loc.url, `poison${perBatch}`, perBatch);
    const summary = await runRegion(target);
    expect(summary.batches).toBe(perBatch === 1 ? corpus.length : 1);
    expect(summary.poisoned ?? []).toEqual([]); // the limits caught everything: nothing needed isolating
    const rows = await tableRows(await openStore(target.table));
    const qrows = await tableRows(await openStore(target.quarantine));
    const recon = await reconciliations(target.table);
    for (const f of corpus) checkFile(f, rows, qrows, recon);
    expect(summary.lines).toBe(summary.rows + summary.quarantined);
    expect(rows.length).toBe(summary.rows);

    // Keys no column can carry are rescued with their values; the others are columns.
    const fields = (await snapshot(await openStore(target.table))).schema.fields.map((x) => x.name);
    expect(fields).toEqual(
      expect.arrayContaining(['b', 'del', 'short', 'a.b', 'with space', 'ключ', '😀', 'x"y']),
    );
    for (const bad of ['', 'tab\there', 'nl\nkey', 'nul\u0000key', 'k'.repeat(300)])
      expect(fields).not.toContain(bad);
    const odd = rows
      .filter((x) => x._source_file === 'in/odd-keys.jsonl')
      .sort((a, b) => Number(a._source_line) - Number(b._source_line));
    expect(JSON.parse(odd[0]!._rescued_data as string)).toEqual({ '': 4 });
    expect(JSON.parse(odd[1]!._rescued_data as string)).toEqual({ x: { '': 4 } });
    expect(JSON.parse(odd[2]!._rescued_data as string)).toEqual({ y: { '': 2 } });
    expect(JSON.parse(odd[3]!._rescued_data as string)).toEqual({
      'tab\there': 1,
      'nl\nkey': 2,
      'nul\u0000key': 3,
    });
    expect(JSON.parse(odd[4]!._rescued_data as string)).toEqual({ ['k'.repeat(300)]: 1 });
    // Dates JS would roll over (2024-02-30) are rescued, not sent to DuckDB to refuse.
    const dates = rows
      .filter((x) => x._source_file === 'in/dates.jsonl')
      .sort((a, b) => Number(a._source_line) - Number(b._source_line));
    // Each calendar error is rescued; 24:00:00 is the next day's midnight (ISO 8601, and DuckDB reads it so).
    expect(dates.map((x) => x._rescued_data === null)).toEqual([true, false, true, true]);
    expect(JSON.parse(dates[1]!._rescued_data as string)).toEqual({ ts: '2024-02-30T00:00:00Z' });
    expect(dates[2]!.ts).toBe('2024-01-02T00:00:00.000000Z');
    // The wide file: columns stop at the batch limit, the rest of the keys are rescued, nothing dropped.
    const wide = rows.filter((x) => x._source_file === 'in/wide.jsonl');
    expect(wide).toHaveLength(302);
    expect(fields.length).toBeLessThanOrEqual(500 + 40);
    results.push({ rows: rows.length, quarantined: qrows.length, summary });
  }
  // The same lines became rows and quarantine records either way.
  expect(results[0]!.rows).toBe(results[1]!.rows);
  expect(results[0]!.quarantined).toBe(results[1]!.quarantined);
});

test('a line the engine refuses is isolated: retried a bounded number of times, quarantined with the reason, the rest commits', async () => {
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  await raw.put('in/a.jsonl', logLines(1, 40).join('\n') + '\n');
  const poisoned = [...logLines(2, 40)];
  // 195 levels: within this target's depth limit (set by hand beyond what config allows), but DuckDB's
  // binder refuses the type ("Max expression depth limit of 1000 exceeded").
  poisoned.splice(22, 0, nestedObject(195));
  await raw.put('in/b.jsonl', poisoned.join('\n') + '\n');
  await raw.put('in/c.jsonl', logLines(3, 40).join('\n') + '\n');
  const target: IngestTarget = { ...ingestTargetAt(loc.url, 'isolate'), maxNestingDepth: 200 };

  const summary = await runRegion(target);
  expect(summary.batches).toBe(1);
  expect(summary.failing).toBeUndefined();
  expect(summary.poisoned).toEqual([
    { seq: 0, file: 'in/b.jsonl', lines: [23, 23], reason: expect.stringMatching(/expression depth/) },
  ]);
  const rows = await tableRows(await openStore(target.table));
  const qrows = await tableRows(await openStore(target.quarantine));
  expect(rows).toHaveLength(120);
  expect(qrows).toHaveLength(1);
  expect({ file: qrows[0]!.source_file, line: Number(qrows[0]!.line) }).toEqual({
    file: 'in/b.jsonl',
    line: 23,
  });
  expect(String(qrows[0]!.reason)).toMatch(/^isolated: .*expression depth/);
  expect(Buffer.from(qrows[0]!.raw as string, 'base64').toString()).toBe(nestedObject(195));
  expect(summary).toMatchObject({ lines: 121, rows: 120, quarantined: 1 });

  // `ingest status` shows the isolated lines with their reason.
  const { file } = writeLocalRegionConfig(loc.url, 'isolate', { ingest: '{}' });
  const st = await cli('ingest', 'status', '--region', 'isolate', '--config', file);
  expect(st.stderr).toBe('');
  expect(st.stdout).toMatch(/isolated in\/b\.jsonl lines 23-23: .*expression depth/);
});
