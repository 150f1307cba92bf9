/**
 * OPTIMIZE (lake/table/optimize.ts) on real stores: many small appends compact into a few files with the
 * same rows; the commit carries no data change, so egress sends nothing twice; appends racing it never
 * conflict, and a delete racing it makes it re-plan without bringing a deleted row back; delta-rs reads
 * the result.
 */
import { readFileSync } from 'node:fs';
import { Snapshot, statsNumRecords } from '../../lake/delta/snapshot';
import { commitKey } from '../../lake/delta/log-path';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { deleteWhere } from '../../lake/table/delete';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { optimize, parseFileSize, planBins } from '../../lake/table/optimize';
import { egressBatch } from '../../activities/egress/batch';
import type { EgressTarget } from '../../shapes/targets';
import { jsonlRelation } from '../harness/jsonl';
import { type BackendKind, emulatorOptions, openTestStore } from '../harness/stores';
import { openStore } from '../../lake/storage/open';
import { deltaRsRows, deltaRsUri, rowSet } from '../interop/deltars';
import { sparkBatch } from '../interop/spark';

jest.setTimeout(600_000);

const snapOf = (s: ObjectStore) => Snapshot.load(s, defaultEngine);
const rowsOf = async (s: ObjectStore) => scanRows(s, await snapOf(s));

/** `n` appends of `per` rows each over two day partitions; ids are unique across the table. */
async function smallAppends(s: ObjectStore, n: number, per = 4, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await writeTable(s, {
      sourceSql: jsonlRelation(
        Array.from({ length: per }, (_, j) => ({
          day: j % 2 === 0 ? '2026-12-01' : '2026-12-02',
          id: i * per + j,
          msg: `line ${i}/${j}`,
          egress_approved: (i + j) % 3 !== 0,
        })),
      ),
      partitionBy: i === 0 ? ['day'] : undefined,
    });
}

interface LoggedFile {
  path: string;
  dataChange: boolean;
}
interface LoggedAction {
  commitInfo?: {
    operation: string;
    isBlindAppend: boolean;
    operationMetrics: Record<string, string>;
  };
  add?: LoggedFile;
  remove?: LoggedFile;
}

async function commitActions(s: ObjectStore, version: number): Promise<LoggedAction[]> {
  const text = Buffer.from(await s.get(commitKey(version))).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LoggedAction);
}

/** Runs egress batches for one region until it is caught up; returns the rows it sent. */
async function egressAll(open: (u: string) => Promise<ObjectStore>, t: EgressTarget): Promise<number> {
  let rows = 0;
  for (let i = 0; i < 100; i++) {
    const r = await egressBatch({ open }, t);
    rows += r.rowsEgressed;
    expect(r.skippedChangeCommits).toEqual([]);
    if (r.caughtUp) return rows;
  }
  throw new Error('egress never caught up');
}

describe.each([['local'], ['s3']] as [BackendKind][])('optimize on %s', (kind) => {
  let store: ObjectStore & { cleanup(): Promise<void> };
  const stores: ObjectStore[] = [];
  const open = async (u: string) => {
    const s = await openStore(u, emulatorOptions([kind]));
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    store = await openTestStore(kind);
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await store.cleanup();
  });

  test('200 small appends become one file per partition: same rows, stats, OPTIMIZE commit, delta-rs agrees, egress sends nothing twice', async () => {
    const table = await open(`${store.url}/regional`);
    await smallAppends(table, 200);
    const before = await rowsOf(table);
    expect(before).toHaveLength(800);
    expect((await snapOf(table)).files).toHaveLength(400);

    const target: EgressTarget = {
      region: 'eu',
      source: table.url,
      central: `${store.url}/central`,
      filter: 'egress_approved = true',
      onChangeCommits: 'fail',
      maxVersionsPerBatch: 1000,
    };
    const approved = before.filter((r) => r.egress_approved === true).length;
    expect(await egressAll(open, target)).toBe(approved);

    const dry = await optimize(table, { dryRun: true });
    expect(dry).toMatchObject({
      version: undefined,
      dryRun: true,
      numRemovedFiles: 400,
      partitionsOptimized: 2,
    });
    expect((await snapOf(table)).version).toBe(199);

    const r = await optimize(table);
    expect(r).toMatchObject({
      version: 200,
      readVersion: 199,
      filesConsidered: 400,
      filesSkipped: 0,
      partitionsOptimized: 2,
      numRemovedFiles: 400,
      numAddedFiles: 2,
      rowsRewritten: 800,
      replans: 0,
    });
    const snap = await snapOf(table);
    expect(snap.files).toHaveLength(2);
    expect(snap.files.map((f) => f.partitionValues.day).sort()).toEqual(['2026-12-01', '2026-12-02']);
    expect(snap.files.map((f) => statsNumRecords(f))).toEqual([400, 400]);
    for (const f of snap.files) {
      const st = JSON.parse(f.stats!) as { minValues: { id: number }; maxValues: { id: number } };
      expect(st.minValues.id).toBeLessThan(st.maxValues.id);
    }
    expect(rowSet(await rowsOf(table))).toEqual(rowSet(before));

    const actions = await commitActions(table, 200);
    const info = actions.find((a) => a.commitInfo)!.commitInfo!;
    expect(info.operation).toBe('OPTIMIZE');
    expect(info.isBlindAppend).toBe(false);
    expect(info.operationMetrics).toMatchObject({ numRemovedFiles: '400', numAddedFiles: '2' });
    expect(Number(info.operationMetrics.numAddedBytes)).toBe(r.numAddedBytes);
    const adds = actions.flatMap((a) => (a.add ? [a.add] : []));
    const removes = actions.flatMap((a) => (a.remove ? [a.remove] : []));
    expect(adds).toHaveLength(2);
    expect(removes).toHaveLength(400);
    expect([...adds, ...removes].every((x) => x.dataChange === false)).toBe(true);

    // The compacted commit is no data change: egress reads past it and sends nothing.
    expect(await egressAll(open, target)).toBe(0);
    const central = await rowsOf(await open(target.central));
    expect(central).toHaveLength(approved);
    expect(new Set(central.map((x) => x.id)).size).toBe(approved);

    // delta-rs reads the compacted table identically; a second optimize has nothing to do.
    expect(rowSet(await deltaRsRows(deltaRsUri(table.url), kind))).toEqual(rowSet(before));
    const again = await optimize(table);
    expect(again).toMatchObject({ version: undefined, numRemovedFiles: 0, filesSkipped: 2 });
  });

  test('appends racing optimize never conflict; a delete of a file it rewrote makes it re-plan and no deleted row comes back', async () => {
    await smallAppends(store, 40);
    // Appends land between the rewrite and the commit: no conflict, their files stay as they are.
    const r1 = await optimize(store, {
      concurrency: 1,
      onProgress: async (p) => {
        if (p.binsDone === 1) await smallAppends(store, 3, 4, 1000);
      },
    });
    expect(r1).toMatchObject({ replans: 0, numRemovedFiles: 80, numAddedFiles: 2 });
    let snap = await snapOf(store);
    expect(snap.files).toHaveLength(2 + 6);
    const afterAppends = await rowsOf(store);
    expect(afterAppends).toHaveLength(160 + 12);

    // More small files, then a delete in one partition lands while optimize rewrites: it re-plans.
    await smallAppends(store, 10, 4, 2000);
    let deleted = 0;
    const r2 = await optimize(store, {
      concurrency: 1,
      onProgress: async (p) => {
        if (p.binsDone === 1 && deleted === 0)
          deleted = (await deleteWhere(store, "day = '2026-12-02' AND id < 40")).deletedRows;
      },
    });
    expect(deleted).toBeGreaterThan(0);
    expect(r2.replans).toBe(1);
    expect(r2.binsKept).toBe(1); // the other partition's rewrite stayed valid
    expect(r2.version).toBeDefined();
    const final = await rowsOf(store);
    const expected = [...afterAppends, ...(await rowsAppended(store, 2000, 10))].filter(
      (x) => !(String(x.day) === '2026-12-02' && Number(x.id) < 40),
    );
    expect(final).toHaveLength(160 + 12 + 40 - deleted);
    expect(rowSet(final)).toEqual(rowSet(expected));
    snap = await snapOf(store);
    expect(snap.files.length).toBeLessThanOrEqual(4);
    // No file of an abandoned plan is left behind: every data file is active or a removed one.
    const referenced = new Set([...snap.files, ...snap.tombstones].map((f) => decodeURIComponent(f.path)));
    for await (const m of store.list(''))
      if (!m.key.startsWith('_delta_log/')) expect(referenced.has(m.key)).toBe(true);
  });
});

/** The rows smallAppends(…, n, 4, from) wrote (they are deterministic). */
async function rowsAppended(_s: ObjectStore, from: number, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = from; i < from + n; i++)
    for (let j = 0; j < 4; j++)
      out.push({
        day: j % 2 === 0 ? '2026-12-01' : '2026-12-02',
        id: String(i * 4 + j),
        msg: `line ${i}/${j}`,
        egress_approved: (i + j) % 3 !== 0,
      });
  return out;
}

describe('optimize planning and options', () => {
  test('sizes parse with units; a bad one is a clear error', () => {
    expect(parseFileSize('134217728')).toBe(134217728);
    expect(parseFileSize('128mb')).toBe(128 * 1024 * 1024);
    expect(parseFileSize('1 GiB')).toBe(1024 ** 3);
    expect(() => parseFileSize('lots')).toThrow(/not a size/);
    expect(() => parseFileSize('0')).toThrow(/positive/);
  });

  test('bins respect the target, skip big files and lone files, and --where names partition columns only', async () => {
    const s = await openTestStore('local');
    try {
      await smallAppends(s, 6);
      const snap = await snapOf(s);
      const size = snap.files[0]!.size;
      // A target of about 2.5 files: bins of 2 per partition (3 per partition in all 3 bins of 2).
      const { bins } = planBins(snap, Math.floor(size * 2.5), undefined);
      expect(bins.every((b) => b.files.length === 2)).toBe(true);
      expect(bins.reduce((n, b) => n + b.files.length, 0)).toBe(12);
      expect(planBins(snap, 1, undefined).bins).toEqual([]); // every file is already "big"
      const one = await optimize(s, { where: "day = '2026-12-01'" });
      expect(one).toMatchObject({
        filesConsidered: 6,
        numRemovedFiles: 6,
        numAddedFiles: 1,
        partitionsOptimized: 1,
      });
      await expect(optimize(s, { where: 'id > 3' })).rejects.toThrow(/partition columns only/);
      await expect(optimize(s, { targetFileSize: -1 })).rejects.toThrow(/positive/);
    } finally {
      await s.cleanup();
    }
  });

  test('deletion vectors of a Spark table are applied while rewriting (conformance table dv-partitioned-with-checkpoint)', async () => {
    const { cpSync } = await import('node:fs');
    const path = await import('node:path');
    const corpus = path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance');
    const s = await openTestStore('local');
    try {
      const dir = new URL(s.url).pathname;
      cpSync(path.join(corpus, 'tables', 'dv-partitioned-with-checkpoint'), dir, { recursive: true });
      const expected = readFileSync(
        path.join(corpus, 'expected', 'dv-partitioned-with-checkpoint.jsonl'),
        'utf8',
      )
        .split('\n')
        .filter(Boolean);
      const before = await rowsOf(s);
      expect(before).toHaveLength(expected.length);
      const withDv = (await snapOf(s)).files.filter((f) => f.deletionVector).length;
      expect(withDv).toBeGreaterThan(0);
      const r = await optimize(s);
      expect(r.numDeletionVectorsRemoved).toBe(withDv);
      const snap = await snapOf(s);
      expect(snap.files.filter((f) => f.deletionVector)).toEqual([]);
      expect(rowSet(await rowsOf(s))).toEqual(rowSet(before));
    } finally {
      await s.cleanup();
    }
  });
});

test('a table delta-rs compacted (optimize.compact) reads the same, and egress from it sends nothing twice', async () => {
  const root = await openTestStore('local');
  const open = (u: string) => openStore(u);
  try {
    const table = await open(`${root.url}/regional`);
    await smallAppends(table, 30);
    const before = await rowsOf(table);
    const target: EgressTarget = {
      region: 'us',
      source: table.url,
      central: `${root.url}/central`,
      filter: 'egress_approved = true',
      onChangeCommits: 'fail',
      maxVersionsPerBatch: 7,
    };
    const approved = before.filter((r) => r.egress_approved === true).length;
    expect(await egressAll(open, target)).toBe(approved);
    const { deltaRs } = await import('../interop/deltars');
    const metrics = JSON.parse(await deltaRs(['optimize', new URL(table.url).pathname])) as {
      numFilesAdded: number;
      numFilesRemoved: number;
    };
    expect(metrics).toMatchObject({ numFilesAdded: 2, numFilesRemoved: 60 });
    await smallAppends(table, 2, 4, 900); // new rows after their compaction
    const snap = await snapOf(table);
    expect(snap.version).toBe(32);
    expect(snap.files).toHaveLength(2 + 4);
    const after = await rowsOf(table);
    expect(rowSet(after)).toEqual(rowSet([...before, ...(await rowsAppended(table, 900, 2))]));
    const newApproved = after.filter((r) => Number(r.id) >= 900 * 4 && r.egress_approved === true).length;
    expect(newApproved).toBeGreaterThan(0);
    expect(await egressAll(open, target)).toBe(newApproved);
    const central = await rowsOf(await open(target.central));
    expect(central).toHaveLength(approved + newApproved);
    expect(new Set(central.map((x) => String(x.id))).size).toBe(central.length);
  } finally {
    await root.cleanup();
  }
});

test('Spark reads compacted tables identically (ours, and a Spark DV table we compacted) and lists OPTIMIZE in history', async () => {
  const { cpSync } = await import('node:fs');
  const path = await import('node:path');
  const corpus = path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance');
  const a = await openTestStore('local');
  const b = await openTestStore('local');
  try {
    await smallAppends(a, 12);
    const r = await optimize(a);
    expect(r).toMatchObject({ version: 12, numAddedFiles: 2 });
    await smallAppends(a, 1, 4, 500); // v13: an append after the compaction
    const dirB = new URL(b.url).pathname;
    cpSync(path.join(corpus, 'tables', 'dv-partitioned-with-checkpoint'), dirB, { recursive: true });
    const beforeB = await rowsOf(b);
    expect((await optimize(b)).numDeletionVectorsRemoved).toBeGreaterThan(0);
    const dirA = new URL(a.url).pathname;
    const out = await sparkBatch([
      ['read', dirA],
      ['history', dirA],
      ['read', dirB],
      ['read', dirA, 11],
    ]);
    expect(rowSet(out[0]!)).toEqual(rowSet(await rowsOf(a)));
    expect(out[1]!.map((h) => h.operation)).toEqual([
      'CREATE TABLE AS SELECT',
      ...Array(11).fill('WRITE'),
      'OPTIMIZE',
      'WRITE',
    ]);
    expect(rowSet(out[2]!)).toEqual(rowSet(beforeB));
    expect(rowSet(out[3]!)).toEqual(
      rowSet(await scanRows(a, await Snapshot.load(a, defaultEngine, { version: 11 }))),
    );
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
});
