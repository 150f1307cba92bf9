/**
 * LineWriter (activities/ingest/staging.ts) reuses its 4 MiB buffers once the file stream has written
 * them. Checked here: several writers at once, each writing many buffers' worth, get back exactly what
 * they pushed, in order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LineWriter } from '../../activities/ingest/staging';

test('concurrent writers reusing buffers each keep their exact lines', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'staging-'));
  try {
    const writers = [0, 1, 2].map((w) => new LineWriter(path.join(dir, `w${w}.jsonl`)));
    const expected: string[][] = [[], [], []];
    for (let i = 0; i < 60_000; i++)
      for (const [w, out] of writers.entries()) {
        const body = `{"w":${w},"i":${i},"pad":"${String.fromCharCode(97 + ((i + w) % 26)).repeat(100 + (i % 200))}"}`;
        if (i % 3 === 0) {
          out.pushStaged(w, i, i * 7, Buffer.from(body));
          expected[w]!.push(`{"f":${w},"n":${i},"o":${i * 7},"v":${body}}`);
        } else if (i % 3 === 1) {
          out.push(body);
          expected[w]!.push(body);
        } else {
          out.pushBytes('>', Buffer.from(body));
          expected[w]!.push(`>${body}`);
        }
        if (i % 1000 === 999) await out.drain();
      }
    await Promise.all(writers.map((w) => w.close()));
    for (const [w, out] of writers.entries()) {
      const got = readFileSync(out.path, 'utf8').split('\n');
      expect(got.pop()).toBe('');
      expect(got.length).toBe(expected[w]!.length);
      expect(got).toEqual(expected[w]);
      expect(out.lines).toBe(60_000);
      expect(out.bytes).toBe(Buffer.byteLength(readFileSync(out.path)));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
