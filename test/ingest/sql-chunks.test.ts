/**
 * SqlChunks (activities/ingest/sql-chunks.ts) writes staged lines as data files a chunk at a time. Checked
 * here: every staged line becomes a row once, and a chunk's staged files are removed as soon as its COPY is
 * done, so a batch needs scratch space for about two chunks, not for all its lines.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { METADATA_FIELDS } from '../../activities/ingest/batch';
import { SqlChunks } from '../../activities/ingest/sql-chunks';
import { BatchStaging } from '../../activities/ingest/stage-batch';
import { LocalStore } from '../../lake/storage/local';
import { logLines } from './helpers';

jest.setTimeout(120_000);

test('staged lines become rows once, and each chunk frees its staged files when written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sql-chunks-'));
  const keys = ['a.jsonl', 'b.jsonl', 'c.jsonl', 'd.jsonl'];
  // Each file repeats a line shape its first lines settle, so most lines are staged for DuckDB; each file
  // is ~35 MiB staged, so the first chunk (32 MiB) closes after the first file and the next (128 MiB) only
  // at the end.
  const texts = keys.map((_, f) => {
    const base = logLines(f, 1000).join('\n');
    return Buffer.from(`${base}\n`.repeat(150));
  });
  const st = await BatchStaging.create(
    keys.map((key, i) => ({ key, size: texts[i]!.length, etag: '' })),
    { type: 'struct', fields: [] },
    new Set(METADATA_FIELDS.map((f) => f.name)),
  );
  const chunks = new SqlChunks({
    table: new LocalStore(dir),
    fileKeys: keys,
    region: 'r',
    now: new Date().toISOString(),
    eventTimeColumn: 'ts',
    maxLineBytes: 1 << 20,
    seq: 0,
    metadata: METADATA_FIELDS,
  });
  try {
    const written: string[][] = [];
    for (const [i, text] of texts.entries()) {
      const staged = await st.decodeFile(i, Readable.from([text]), { maxLineBytes: 1 << 20 }, async () =>
        Readable.from([text]),
      );
      written.push([staged.path]);
      await chunks.add(staged, st.conformer.schema);
    }
    // The first chunk (file 0) went to DuckDB when it was added. Its staged file goes as soon as it is
    // written, while the later files' still wait for the next chunk.
    for (const t0 = Date.now(); existsSync(written[0]![0]!); ) {
      expect(Date.now() - t0).toBeLessThan(30_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(
      written
        .slice(1)
        .flat()
        .filter((p) => existsSync(p)),
    ).toHaveLength(3);
    await chunks.finish(st.conformer.schema);
    const rows = chunks.adds.reduce(
      (n, a) => n + (JSON.parse(a.stats!) as { numRecords: number }).numRecords,
      0,
    );
    expect(st.stagedLines).toBeGreaterThan(590_000);
    expect({ rows, rerouted: chunks.failing.length }).toEqual({ rows: st.stagedLines, rerouted: 0 });
    expect(written.flat().filter((p) => existsSync(p))).toEqual([]);
  } finally {
    await st.discard();
    rmSync(dir, { recursive: true, force: true });
  }
});
