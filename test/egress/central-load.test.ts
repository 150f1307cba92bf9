/**
 * Fifty regions egress at once into one central table, on every backend, while queries read central.
 * Egress runs in separate OS processes (real optimistic-concurrency races on the store; every region's
 * schema grows by a column part-way, so central's schema evolves concurrently too), a reader process
 * loads and scans snapshots throughout. Afterwards central holds exactly the approved rows, each once;
 * every region's txn is at its source's latest version, every source version is in exactly one central
 * commit, and central's log is contiguous. Every query saw a consistent snapshot. Commit retries are
 * reported per backend and must stay bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { egressAppIdFor } from '../../shapes/targets';
import type { CommitInfo } from '../../lake/delta/actions';
import { commitKey } from '../../lake/delta/log-path';
import { readCommit, Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { isTributaryError } from '../../lake/errors';
import { openStore } from '../../lake/storage/open';
import { defaultEngine } from '../../lake/table/operations';
import { ALL_BACKENDS, type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { EVOLVES_AT, approvedKeys, rowKey } from './load-rows';

const RUNNER = path.join(__dirname, 'fixtures', 'egress-runner.ts');
const READER = path.join(__dirname, 'fixtures', 'central-reader.ts');
const REGIONS = 50;
const PROCESSES = 4;
const COMMITS = 3; // source commits per region
const ROWS = 30; // rows per source commit (10 approved, 10 false, 10 NULL)
const MAX_VERSIONS_PER_BATCH = 1; // one central commit per source commit: 150 racing commits
/** writeTable's cap on lost version races per plan: reaching it means a commit gave up. */
const COMMIT_ATTEMPT_CAP = 1000;

interface BatchLine {
  region: string;
  from: number;
  to: number;
  latest: number;
  centralVersion: number | null;
  rows: number;
  attempts: number;
  caughtUp: boolean;
}

interface QueryLine {
  loop: 'fresh' | 'incremental';
  version?: number | null;
  files?: number;
  uniquePaths?: number;
  statsRows?: number;
  rows?: number;
  uniqueKeys?: number;
  approved?: number;
  ms?: number;
  error?: string;
}

function child(script: string, job: object): { proc: ChildProcess; done: Promise<string> } {
  const proc = spawn(process.execPath, ['--require', 'tsx/cjs', script, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TRIBUTARY_DUCKDB_THREADS: '1' },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<string>((resolve, reject) =>
    proc.once('exit', (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(
            new Error(`${path.basename(script)} exited with ${code ?? signal}:\n${stderr.slice(-4000)}`),
          ),
    ),
  );
  return { proc, done };
}

const lines = <T>(stdout: string) =>
  stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

const kinds: BackendKind[] = [...ALL_BACKENDS.filter((k) => k !== 'local'), 'local']; // emulators first

describe.each(kinds.map((k) => [k]))('50 regions egress concurrently into one central table: %s', (kind) => {
  test(`${REGIONS} regions × ${COMMITS} commits in ${PROCESSES} processes, queries running: exactly the approved rows, once`, async () => {
    const t0 = Date.now();
    const loc = await createTestLocation(kind);
    const central = `${loc.url}/central`;
    const regions = Array.from({ length: REGIONS }, (_, i) => `r${String(i).padStart(2, '0')}`);
    const reader = child(READER, { kind, central });
    const runners = Array.from({ length: PROCESSES }, (_, p) =>
      child(RUNNER, {
        kind,
        base: loc.url,
        central,
        regions: regions.filter((_, i) => i % PROCESSES === p),
        commits: COMMITS,
        rowsPerCommit: ROWS,
        maxVersionsPerBatch: MAX_VERSIONS_PER_BATCH,
      }),
    );
    let batches: BatchLine[];
    let queries: QueryLine[];
    try {
      // allSettled: a failed runner must not leave the others writing while the test cleans up.
      const outs = await Promise.allSettled(runners.map((r) => r.done));
      reader.proc.stdin!.end();
      const readerOut = await reader.done;
      const failed = outs.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      batches = outs.flatMap((o) => lines<BatchLine>((o as PromiseFulfilledResult<string>).value));
      queries = lines<QueryLine>(readerOut);
    } finally {
      for (const p of [reader, ...runners]) p.proc.kill('SIGKILL');
    }
    const egressMs = Date.now() - t0;

    const store = await openStore(central, emulatorOptions([kind]));
    try {
      const snap = await Snapshot.load(store, defaultEngine);

      // Central = exactly the approved rows, each once.
      const rows = await scanRows(store, snap);
      const expected = regions.flatMap((r) => approvedKeys(r, COMMITS, ROWS));
      const keys = rows.map(rowKey);
      expect(rows.length).toBe(expected.length);
      expect(new Set(keys).size).toBe(rows.length);
      expect([...keys].sort()).toEqual([...expected].sort());
      expect(rows.every((r) => r.egress_approved === true)).toBe(true);
      // The schema grew concurrently in every region (trace_id from source commit EVOLVES_AT on): central
      // has the column once, rows from before it read NULL.
      expect(snap.schema.fields.filter((f) => f.name === 'trace_id')).toHaveLength(1);
      for (const r of rows) {
        const commit = Number(/part-(\d+)/.exec(String(r._source_file))![1]);
        const want = commit >= EVOLVES_AT ? `trace-${String(r._region)}-${Number(r._source_line) - 1}` : null;
        if (r.trace_id !== want) expect([rowKey(r), r.trace_id]).toEqual([rowKey(r), want]);
      }

      // No lost commit: every region's txn is at its source's last version; the log is contiguous.
      for (const r of regions) expect([r, snap.txnVersion(egressAppIdFor(r))]).toEqual([r, COMMITS - 1]);
      for (let v = 0; v <= snap.version; v++) await store.head(commitKey(v));
      const after = await store.head(commitKey(snap.version + 1)).catch((e: unknown) => e);
      expect(isTributaryError(after, 'NOT_FOUND')).toBe(true);
      // Every central commit is one egress batch; together they cover each region's source versions once.
      const covered = new Map<string, number[]>();
      for (let v = 0; v <= snap.version; v++) {
        const info = (await readCommit(store, commitKey(v), store.url)).find(
          (a): a is { commitInfo: CommitInfo } => 'commitInfo' in a,
        )!.commitInfo;
        const p = info.operationParameters as Record<string, string>;
        const [from, to] = p.sourceVersions!.split('..').map(Number) as [number, number];
        for (let s = from; s <= to; s++)
          (covered.get(p.region!) ?? covered.set(p.region!, []).get(p.region!)!).push(s);
      }
      for (const r of regions)
        expect([r, covered.get(r)]).toEqual([r, Array.from({ length: COMMITS }, (_, i) => i)]);
      const committed = batches.filter((b) => b.attempts > 0);
      expect(committed).toHaveLength(snap.version + 1);
      expect(committed.map((b) => b.centralVersion).sort((a, b) => a! - b!)).toEqual(
        Array.from({ length: snap.version + 1 }, (_, v) => v),
      );

      // Every query saw one consistent snapshot: its rows are its files' stats, no duplicate, all approved.
      const errors = queries.filter((q) => q.error);
      expect(errors.map((q) => q.error)).toEqual([]);
      const seen = queries.filter((q) => typeof q.version === 'number');
      for (const q of seen) {
        expect(q.uniquePaths).toBe(q.files);
        expect(q.rows).toBe(q.statsRows);
        expect(q.uniqueKeys).toBe(q.rows);
        expect(q.approved).toBe(q.rows);
      }
      // The queries really ran during egress: they saw several intermediate versions.
      const versions = new Set(seen.map((q) => q.version));
      expect([...versions].filter((v) => v! < snap.version).length).toBeGreaterThanOrEqual(3);
      for (const l of ['incremental', 'fresh'] as const) {
        const vs = seen.filter((q) => q.loop === l).map((q) => q.version!);
        if (l === 'incremental') expect(vs).toEqual([...vs].sort((a, b) => a - b)); // never goes back
      }

      // Commit retries: bounded, and reported.
      const attempts = committed.map((b) => b.attempts).sort((a, b) => a - b);
      expect(attempts[attempts.length - 1]).toBeLessThan(COMMIT_ATTEMPT_CAP);
      process.stdout.write(
        `[central-load ${kind}] ${REGIONS} regions, ${committed.length} central commits, ${rows.length} rows in ${(egressMs / 1000).toFixed(1)} s; ` +
          `commit attempts median ${quantile(attempts, 0.5)} p90 ${quantile(attempts, 0.9)} max ${attempts[attempts.length - 1]}; ` +
          `${seen.length} consistent queries over ${versions.size} versions ` +
          `(median ${quantile(
            seen.map((q) => q.ms!).sort((a, b) => a - b),
            0.5,
          )} ms)\n`,
      );
    } finally {
      await store.close();
      await loc.cleanup();
    }
  }, 300_000);
});
