/**
 * Optimistic concurrency on every backend: 50 writers spread over 4 OS processes × 10 appends each to
 * one table (500 commits: 50 racing at once is the point, not the count), then appends mixed with
 * concurrent deletes. Versions must be contiguous, every add present once, no delete lost and no deleted
 * row resurrected.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { commitKey } from '../../lake/delta/log-path';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { ALL_BACKENDS, type BackendKind, openTestStore } from '../harness/stores';

const run = promisify(execFile);
const WRITER = path.join(__dirname, 'fixtures', 'concurrent-writer.ts');
const PROCESSES = 4;
const WRITERS = 50;
const APPENDS = 10;

interface OpLine {
  writer?: string;
  seq?: number;
  deleted?: number;
  rows?: number;
  version?: number;
  attempts?: number;
}

async function runProcesses(url: string, kind: BackendKind, jobs: object[]): Promise<OpLine[]> {
  // allSettled: a failed process must not leave the others writing while the test cleans up.
  const outs = await Promise.allSettled(
    jobs.map((job) =>
      run(process.execPath, ['--require', 'tsx/cjs', WRITER, JSON.stringify({ url, kind, ...job })], {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, TRIBUTARY_DUCKDB_THREADS: '1' },
      }),
    ),
  );
  const failed = outs.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed.length)
    throw new Error(
      `writer process failed: ${(failed[0]!.reason as { stderr?: string }).stderr ?? String(failed[0]!.reason)}`,
    );
  return outs.flatMap((o) =>
    (o as PromiseFulfilledResult<{ stdout: string }>).value.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OpLine),
  );
}

const histogram = (xs: number[]) => {
  const h = new Map<number, number>();
  for (const x of xs) h.set(x, (h.get(x) ?? 0) + 1);
  return [...h]
    .sort((a, b) => a[0] - b[0])
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
};

describe.each(ALL_BACKENDS.map((b) => [b]))('concurrent commits: %s', (kind: BackendKind) => {
  test(`${WRITERS} writers in ${PROCESSES} processes × ${APPENDS} appends: contiguous versions, every add once`, async () => {
    const store = await openTestStore(kind, 'central');
    try {
      await writeTable(store, {
        sourceSql: `(SELECT 'init' AS writer, -1::BIGINT AS seq, 'keep' AS kind, NULL::BIGINT AS id)`,
      });
      const writers = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
      const jobs = Array.from({ length: PROCESSES }, (_, p) => ({
        writers: writers.filter((_, i) => i % PROCESSES === p),
        appends: APPENDS,
      }));
      const ops = await runProcesses(store.url, kind, jobs);
      expect(ops).toHaveLength(WRITERS * APPENDS);
      const versions = ops.map((o) => o.version!).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: WRITERS * APPENDS }, (_, i) => i + 1));
      for (let v = 0; v <= WRITERS * APPENDS; v++) await store.head(commitKey(v)); // every commit file exists
      const snap = await Snapshot.load(store, defaultEngine);
      expect(snap.version).toBe(WRITERS * APPENDS);
      expect(new Set(snap.files.map((f) => f.path)).size).toBe(snap.files.length);
      const rows = await scanRows(store, snap);
      expect(rows).toHaveLength(WRITERS * APPENDS + 1);
      const keys = new Set(rows.map((r) => `${r.writer}/${r.seq}`));
      expect(keys.size).toBe(rows.length);
      for (const w of writers) for (let s = 0; s < APPENDS; s++) expect(keys.has(`${w}/${s}`)).toBe(true);
      process.stdout.write(
        `[${kind}] commit attempts per append (attempts:count): ${histogram(ops.map((o) => o.attempts!))}\n`,
      );
    } finally {
      await store.cleanup();
    }
  }, 600_000);

  test('appends mixed with concurrent deletes: no lost delete, no resurrected row', async () => {
    const store = await openTestStore(kind, 'mixed');
    try {
      // 40 victims spread over 8 files, so deletes rewrite shared files and must conflict and re-plan.
      for (let f = 0; f < 8; f++)
        await writeTable(store, {
          sourceSql: `(SELECT 'pre' AS writer, i::BIGINT AS seq, 'victim' AS kind, i::BIGINT AS id FROM range(${f * 5}, ${f * 5 + 5}) t(i))`,
        });
      const doomed = Array.from({ length: 20 }, (_, i) => i * 2); // every even id
      const jobs = Array.from({ length: PROCESSES }, (_, p) => ({
        writers: [`m${p}a`, `m${p}b`],
        appends: 5,
        deletes: doomed.filter((_, i) => i % PROCESSES === p),
      }));
      const ops = await runProcesses(store.url, kind, jobs);
      const deletes = ops.filter((o) => o.deleted !== undefined);
      expect(deletes).toHaveLength(doomed.length);
      for (const d of deletes) expect(d.rows).toBe(1);
      const rows = await scanRows(store, await Snapshot.load(store, defaultEngine));
      const victims = rows
        .filter((r) => r.kind === 'victim')
        .map((r) => Number(r.id))
        .sort((a, b) => a - b);
      expect(victims).toEqual(Array.from({ length: 20 }, (_, i) => i * 2 + 1)); // odd ids survive, even ids gone
      expect(rows.filter((r) => r.kind === 'keep')).toHaveLength(PROCESSES * 2 * 5);
    } finally {
      await store.cleanup();
    }
  }, 600_000);
});
