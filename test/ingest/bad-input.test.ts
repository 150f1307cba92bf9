/**
 * The bad-input corpus (test/fixtures/bad-input): every non-blank line of every file is either a row or a
 * quarantine record — 100% reconciled, nothing lost — and the per-file counts are in the batch commit.
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FileReconciliation } from '../../activities/ingest/types';
import { history } from '../../lake/table/maintenance';
import { openStore } from '../../lake/storage/open';
import { createTestLocation } from '../harness/stores';
import { ingestTargetAt, runIngestRegion, snapshot, tableRows } from './helpers';

const CORPUS = path.join(__dirname, '..', 'fixtures', 'bad-input');
jest.setTimeout(300_000);

test('bad-input corpus: 100% reconciled, quarantine keeps the raw bytes, type drift rescued', async () => {
  const expected = JSON.parse(readFileSync(path.join(CORPUS, 'expected.json'), 'utf8')) as Record<
    string,
    Omit<FileReconciliation, 'key' | 'size' | 'etag'>
  >;
  const files = readdirSync(CORPUS).filter((f) => f in expected);
  expect(files.length).toBe(Object.keys(expected).length);
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  for (const f of files) await raw.put(`in/${f}`, readFileSync(path.join(CORPUS, f)));
  const target = ingestTargetAt(loc.url, 'bad');
  await runIngestRegion(target, 'bad');
  const table = await openStore(target.table);
  const quarantine = await openStore(target.quarantine);
  const rows = await tableRows(table);
  const qrows = await tableRows(quarantine);

  // Per-file reconciliation recorded atomically with the batch.
  const commit = (await history(table)).find((h) => (h.operationParameters as Record<string, string>)?.files);
  const recon = JSON.parse(
    (commit!.operationParameters as Record<string, string>).files!,
  ) as FileReconciliation[];
  for (const f of files) {
    const r = recon.find((x) => x.key === `in/${f}`)!;
    const e = expected[f]!;
    expect({ file: f, ok: r.lines === r.rows + r.quarantined }).toEqual({ file: f, ok: true });
    for (const k of ['lines', 'rows', 'quarantined', 'rescued', 'blank'] as const)
      if (e[k] >= 0) expect({ file: f, [k]: r[k] }).toEqual({ file: f, [k]: e[k] });
    // Every non-blank line number appears exactly once, as a row or in quarantine.
    const seen = [
      ...rows.filter((x) => x._source_file === `in/${f}`).map((x) => Number(x._source_line)),
      ...qrows.filter((x) => x.source_file === `in/${f}`).map((x) => Number(x.line)),
    ];
    expect(seen.length).toBe(r.lines);
    expect(new Set(seen).size).toBe(r.lines);
  }
  // Quarantined bytes are the original line bytes.
  const bad = qrows.find((q) => q.source_file === 'in/invalid-utf8.jsonl')!;
  expect(Buffer.from(bad.raw as string, 'base64')).toEqual(
    Buffer.from([0x7b, 0x22, 0x6d, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  );
  const long = qrows.find((q) => q.source_file === 'in/long-line.jsonl.gz')!;
  expect(long.reason).toMatch(/exceeds the limit of 1048576/);
  const bigLine = gunzipSync(readFileSync(path.join(CORPUS, 'long-line.jsonl.gz')))
    .toString('utf8')
    .split('\n')[1]!;
  expect(Buffer.from(long.raw as string, 'base64').toString('utf8')).toBe(bigLine);
  // A truncated gzip: the line it cut short is kept decoded, and the file's stored bytes are kept whole.
  const truncated = qrows.filter((q) => q.source_file === 'in/truncated.jsonl.gz');
  expect(truncated.map((q) => String(q.reason))).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^line cut short by unreadable gzip data/),
      expect.stringMatching(
        /^unreadable gzip data .* the file's stored bytes 0-\d+ of \d+ are kept \(part 1 of 1\)$/,
      ),
    ]),
  );
  expect(
    Buffer.from(truncated.find((q) => Number(q.line) === -1)!.raw as string, 'base64').equals(
      readFileSync(path.join(CORPUS, 'truncated.jsonl.gz')),
    ),
  ).toBe(true);
  // Type drift: misfits rescued as JSON, the column NULL, nothing dropped.
  const drift = rows
    .filter((x) => x._source_file === 'in/type-drift.jsonl')
    .sort((a, b) => Number(a._source_line) - Number(b._source_line));
  expect(drift.map((x) => x.n)).toEqual(['1', null, null, '4']);
  expect(JSON.parse(drift[1]!._rescued_data as string)).toEqual({ n: 'two', http: { status: 'OK' } });
  expect(JSON.parse(drift[2]!._rescued_data as string)).toEqual({ msg: 3, n: 3.5, http: 'flat' });
  // New fields became columns, nested too.
  const schema = (await snapshot(table)).schema;
  expect(schema.fields.map((f) => f.name)).toEqual(
    expect.arrayContaining([
      'user',
      'tags',
      'http',
      '_rescued_data',
      '_source_file',
      '_source_line',
      '_ingested_at',
      '_region',
      '_event_date',
    ]),
  );
  const http = schema.fields.find((f) => f.name === 'http')!.type as { fields: { name: string }[] };
  expect(http.fields.map((f) => f.name)).toEqual(['status', 'method']);
  await loc.cleanup();
});
