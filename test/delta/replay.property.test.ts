/**
 * Log replay as properties (STYLE.md "Tests"): any sequence of commits replays to the state a tiny reference
 * model predicts, at every version, with or without checkpoints, whatever the order of actions inside a
 * commit; log file names round-trip; concurrent blind appenders lose no add and leave no gap.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  type Action,
  type AddFile,
  type Metadata,
  type Protocol,
  type RemoveFile,
  parseCommit,
  serializeCommit,
} from '../../lake/delta/actions';
import { writeCheckpoint } from '../../lake/delta/checkpoint';
import type { DeletionVectorDescriptor } from '../../lake/delta/deletion-vectors';
import type { DeltaEngine } from '../../lake/delta/engine';
import { LOG_DIR, checkpointKey, commitKey, pad20, parseLogKey } from '../../lake/delta/log-path';
import { listCommits } from '../../lake/delta/log-segment';
import { Snapshot } from '../../lake/delta/snapshot';
import { commit } from '../../lake/delta/transaction';
import { duckdbParquetActions } from '../../lake/engine/checkpoint-io';
import { LocalStore } from '../../lake/storage/local';
import { compareKeys } from '../../lake/storage/object-store';

const engine: DeltaEngine = { parquet: duckdbParquetActions };

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'tributary-replay-prop-'));
});
afterAll(async () => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshStore = async () => new LocalStore(await mkdtemp(path.join(root, `t${dirs++}-`)));

// ---------------------------------------------------------------------------------------------------------
// Table fixtures
// ---------------------------------------------------------------------------------------------------------

const PROTOCOL: Protocol = {
  minReaderVersion: 3,
  minWriterVersion: 7,
  readerFeatures: ['deletionVectors'],
  writerFeatures: ['deletionVectors', 'domainMetadata'],
};
const SCHEMA = JSON.stringify({
  type: 'struct',
  fields: [
    { name: 'p', type: 'string', nullable: true, metadata: {} },
    { name: 'v', type: 'long', nullable: true, metadata: {} },
  ],
});
const metadata = (partitionColumns: string[], configuration: Record<string, string>): Metadata => ({
  id: '6f1c2a8e-0b7d-4e1a-9c3f-2d5e8a7b9c01',
  format: { provider: 'parquet', options: {} },
  schemaString: SCHEMA,
  partitionColumns,
  createdTime: 1_700_000_000_000,
  configuration,
});
/** Partition values, including the empty string, null and characters that need escaping in paths. */
const PART_VALUES = ['a', '', null, 'ü x/%=', '2024-01-01'] as const;
const APP_IDS = ['app-a', 'app-b', 'app-c'];
const DOMAINS = ['tributary.test.d0', 'tributary.test.d1', 'tributary.test.d2'];

// ---------------------------------------------------------------------------------------------------------
// Reference model: keys computed here, independently of lake/delta/replay.ts
// ---------------------------------------------------------------------------------------------------------

/** PROTOCOL.md "Deletion Vector Descriptor Schema", derived field `uniqueId`. */
const dvId = (dv: DeletionVectorDescriptor): string =>
  `${dv.storageType}${dv.pathOrInlineDv}${dv.offset == null ? '' : `@${dv.offset}`}`;
/** PROTOCOL.md "Action Reconciliation": a logical file is identified by (path, deletionVector.uniqueId). */
const keyOf = (f: { path: string; deletionVector?: DeletionVectorDescriptor | null }): string =>
  f.deletionVector ? `${f.path} #${dvId(f.deletionVector)}` : f.path;

interface FileView {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  stats: string | null;
  dv: {
    storageType: string;
    pathOrInlineDv: string;
    offset?: number;
    sizeInBytes: number;
    cardinality: number;
  } | null;
}

/** What a snapshot must agree on, in a shape `toEqual` compares without caring about order. */
interface View {
  version: number;
  protocol: Protocol;
  partitionColumns: string[];
  config: Record<string, string>;
  files: Record<string, FileView>;
  /** Keys that appear more than once among the active files (must be empty). */
  duplicateFiles: string[];
  tombstones: string[];
  txns: Record<string, number>;
  domains: Record<string, string>;
}

function fileView(a: AddFile): FileView {
  const dv = a.deletionVector;
  return {
    path: a.path,
    partitionValues: { ...a.partitionValues },
    size: Number(a.size),
    modificationTime: Number(a.modificationTime),
    stats: a.stats ?? null,
    dv: dv
      ? {
          storageType: dv.storageType,
          pathOrInlineDv: dv.pathOrInlineDv,
          ...(dv.offset == null ? {} : { offset: Number(dv.offset) }),
          sizeInBytes: Number(dv.sizeInBytes),
          cardinality: Number(dv.cardinality),
        }
      : null,
  };
}

function protocolView(p: Protocol): Protocol {
  return {
    minReaderVersion: Number(p.minReaderVersion),
    minWriterVersion: Number(p.minWriterVersion),
    readerFeatures: [...(p.readerFeatures ?? [])].sort(),
    writerFeatures: [...(p.writerFeatures ?? [])].sort(),
  };
}

function snapshotView(s: Snapshot): View {
  const files: Record<string, FileView> = {};
  const duplicateFiles: string[] = [];
  for (const f of s.files) {
    const k = keyOf(f);
    if (k in files) duplicateFiles.push(k);
    files[k] = fileView(f);
  }
  return {
    version: s.version,
    protocol: protocolView(s.protocol),
    partitionColumns: [...s.partitionColumns],
    config: { ...s.metadata.configuration },
    files,
    duplicateFiles,
    tombstones: s.tombstones.map(keyOf).sort(),
    txns: Object.fromEntries([...s.txns].map(([id, t]) => [id, Number(t.version)])),
    domains: Object.fromEntries(
      [...s.domains].map(([d, m]) => [d, m.removed ? '<removed>' : m.configuration]),
    ),
  };
}

/** Later actions overwrite earlier ones; a removed domain disappears. */
class Model {
  readonly files = new Map<string, { add: AddFile } | { remove: RemoveFile }>();
  readonly txns = new Map<string, number>();
  readonly domains = new Map<string, string>();
  protocol: Protocol | undefined;
  metadata: Metadata | undefined;

  apply(actions: readonly Action[]): void {
    for (const a of actions) {
      if ('add' in a) this.files.set(keyOf(a.add), { add: a.add });
      else if ('remove' in a) this.files.set(keyOf(a.remove), { remove: a.remove });
      else if ('txn' in a) this.txns.set(a.txn.appId, a.txn.version);
      else if ('metaData' in a) this.metadata = a.metaData;
      else if ('protocol' in a) this.protocol = a.protocol;
      else if ('domainMetadata' in a) {
        if (a.domainMetadata.removed) this.domains.delete(a.domainMetadata.domain);
        else this.domains.set(a.domainMetadata.domain, a.domainMetadata.configuration);
      }
    }
  }

  keys(kind: 'add' | 'remove'): string[] {
    return [...this.files]
      .filter(([, a]) => kind in a)
      .map(([k]) => k)
      .sort();
  }

  view(version: number): View {
    const files: Record<string, FileView> = {};
    for (const [k, a] of this.files) if ('add' in a) files[k] = fileView(a.add);
    return {
      version,
      protocol: protocolView(this.protocol!),
      partitionColumns: [...this.metadata!.partitionColumns],
      config: { ...this.metadata!.configuration },
      files,
      duplicateFiles: [],
      tombstones: this.keys('remove'),
      txns: Object.fromEntries(this.txns),
      domains: Object.fromEntries(this.domains),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generated plans, interpreted against the model so removes and re-adds name real keys
// ---------------------------------------------------------------------------------------------------------

type DvKind = 'i' | 'u';
type Op =
  /** Add a new path, with or without a DV. */
  | { op: 'add'; part: number; stats: boolean; dv: DvKind | null }
  /** Add an already-used path under a fresh DV id: a second logical file for the same path. */
  | { op: 'addDv'; pick: number; dv: DvKind }
  /** Remove an active (path, dv) and add the same path with a fresh DV, in one commit (how DELETE works). */
  | { op: 'updateDv'; pick: number; dv: DvKind }
  | { op: 'remove'; pick: number; extended: boolean }
  /** Add a removed (path, dv) key again. */
  | { op: 'readd'; pick: number }
  | { op: 'txn'; app: number; step: number }
  | { op: 'meta'; conf: Record<string, string> }
  | { op: 'domain'; domain: number; removed: boolean; value: number };

interface Plan {
  partitioned: boolean;
  commits: { ops: Op[]; seed: number }[];
  checkpoints: number[];
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      part: fc.nat(PART_VALUES.length - 1),
      stats: fc.boolean(),
      dv: fc.constantFrom<DvKind | null>(null, null, 'i', 'u'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('addDv' as const),
      pick: fc.nat(),
      dv: fc.constantFrom<DvKind>('i', 'u'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('updateDv' as const),
      pick: fc.nat(),
      dv: fc.constantFrom<DvKind>('i', 'u'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat(), extended: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('readd' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('txn' as const),
      app: fc.nat(APP_IDS.length - 1),
      step: fc.nat(2),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('meta' as const),
      conf: fc.dictionary(fc.constantFrom('test.k1', 'test.k2', 'test.k3'), fc.string({ maxLength: 6 }), {
        maxKeys: 3,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('domain' as const),
      domain: fc.nat(DOMAINS.length - 1),
      removed: fc.boolean(),
      value: fc.nat(99),
    }),
  },
);

const planArb: fc.Arbitrary<Plan> = fc.record({
  partitioned: fc.boolean(),
  commits: fc.array(fc.record({ ops: fc.array(opArb, { maxLength: 6 }), seed: fc.integer() }), {
    minLength: 1,
    maxLength: 15,
  }),
  checkpoints: fc.array(fc.nat(), { maxLength: 2 }),
});

interface Built {
  /** Commit v's actions in generated order. */
  commits: Action[][];
  /** The model's view after commit v. */
  views: View[];
}

function build(plan: Plan, now: number): Built {
  const model = new Model();
  const partitionColumns = plan.partitioned ? ['p'] : [];
  const lastAdd = new Map<string, AddFile>();
  let files = 0;
  let dvs = 0;
  // 'i': inline, no offset. 'u': two consecutive fresh DVs share a file at different offsets, so their ids
  // differ only in `@offset`.
  const freshDv = (kind: DvKind): DeletionVectorDescriptor => {
    const n = dvs++;
    return kind === 'i'
      ? {
          storageType: 'i',
          pathOrInlineDv: `wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L${n}`,
          sizeInBytes: 40 + n,
          cardinality: 1 + (n % 5),
        }
      : {
          storageType: 'u',
          pathOrInlineDv: `ab^-aqEH.-t@S}K{vb[*k^${n >> 1}`,
          offset: 1 + 37 * (n & 1),
          sizeInBytes: 34,
          cardinality: 2 + (n % 3),
        };
  };
  const newAdd = (
    p: string,
    partitionValues: Record<string, string | null>,
    dv: DeletionVectorDescriptor | null,
    stats: boolean,
  ): AddFile => {
    const n = files++;
    return {
      path: p,
      partitionValues,
      size: 1000 + n,
      modificationTime: 1_700_000_000_000 + n,
      dataChange: true,
      ...(stats
        ? {
            stats: JSON.stringify({
              numRecords: 10 + n,
              minValues: { v: 0 },
              maxValues: { v: n },
              nullCount: { v: 0 },
            }),
          }
        : {}),
      ...(dv ? { deletionVector: dv } : {}),
    };
  };
  const removeOf = (k: string, extended: boolean): RemoveFile => {
    const a = lastAdd.get(k)!;
    return {
      path: a.path,
      deletionTimestamp: now, // within the 7-day retention, so checkpoints keep the tombstone
      dataChange: true,
      ...(a.deletionVector ? { deletionVector: a.deletionVector } : {}),
      ...(extended ? { extendedFileMetadata: true, partitionValues: a.partitionValues, size: a.size } : {}),
    };
  };

  const out: Built = { commits: [], views: [] };
  for (const [v, c] of plan.commits.entries()) {
    const actions: Action[] = [{ commitInfo: { timestamp: now + v, operation: 'PROPERTY TEST' } }];
    if (v === 0) actions.push({ protocol: PROTOCOL }, { metaData: metadata(partitionColumns, {}) });
    // The protocol allows at most one action per file key, app id, domain and metaData in one commit.
    const touched = new Set<string>();
    const add = (a: AddFile) => {
      const k = keyOf(a);
      touched.add(k);
      lastAdd.set(k, a);
      actions.push({ add: a });
    };
    const untouched = (keys: string[]) => keys.filter((k) => !touched.has(k));
    for (const op of c.ops) {
      switch (op.op) {
        case 'add': {
          const pv: Record<string, string | null> = plan.partitioned
            ? { p: PART_VALUES[op.part] ?? null }
            : {};
          add(
            newAdd(
              `${plan.partitioned ? 'p-' : ''}part-${String(files).padStart(5, '0')}-ü %20.parquet`,
              pv,
              op.dv ? freshDv(op.dv) : null,
              op.stats,
            ),
          );
          break;
        }
        case 'addDv': {
          const known = [...lastAdd.values()];
          const base = known[op.pick % Math.max(1, known.length)];
          if (base) add(newAdd(base.path, base.partitionValues, freshDv(op.dv), base.stats != null));
          break;
        }
        case 'updateDv':
        case 'remove': {
          const active = untouched(model.keys('add'));
          const k = active[op.pick % Math.max(1, active.length)];
          if (k === undefined) break;
          touched.add(k);
          actions.push({ remove: removeOf(k, op.op === 'remove' && op.extended) });
          if (op.op === 'updateDv') {
            const base = lastAdd.get(k)!;
            add(newAdd(base.path, base.partitionValues, freshDv(op.dv), true));
          }
          break;
        }
        case 'readd': {
          const removed = untouched(model.keys('remove'));
          const k = removed[op.pick % Math.max(1, removed.length)];
          if (k === undefined) break;
          const base = lastAdd.get(k)!;
          add({
            ...newAdd(base.path, base.partitionValues, base.deletionVector ?? null, base.stats != null),
          });
          break;
        }
        case 'txn': {
          const appId = APP_IDS[op.app]!;
          if (touched.has(`txn:${appId}`)) break;
          touched.add(`txn:${appId}`);
          actions.push({
            txn: { appId, version: (model.txns.get(appId) ?? -1) + 1 + op.step, lastUpdated: now },
          });
          break;
        }
        case 'meta': {
          if (v === 0 || touched.has('metaData')) break;
          touched.add('metaData');
          actions.push({
            metaData: metadata(partitionColumns, { ...op.conf, 'test.generation': String(v) }),
          });
          break;
        }
        case 'domain': {
          const domain = DOMAINS[op.domain]!;
          if (touched.has(`domain:${domain}`)) break;
          touched.add(`domain:${domain}`);
          actions.push({
            domainMetadata: {
              domain,
              configuration: JSON.stringify({ value: op.value }),
              removed: op.removed,
            },
          });
          break;
        }
      }
    }
    model.apply(actions);
    out.commits.push(actions);
    out.views.push(model.view(v));
  }
  return out;
}

/** Deterministic Fisher–Yates from a 32-bit seed (mulberry32). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function writeLog(store: LocalStore, commits: readonly (readonly Action[])[]): Promise<void> {
  for (const [v, actions] of commits.entries())
    await store.putIfAbsent(commitKey(v), serializeCommit(actions));
}

/** Loads the snapshot at `version` (latest when undefined) and compares it with the model, naming the case. */
async function expectSnapshot(
  store: LocalStore,
  expected: View,
  what: string,
  version?: number,
): Promise<void> {
  const snap = await Snapshot.load(store, engine, version === undefined ? {} : { version });
  try {
    expect(snapshotView(snap)).toEqual(expected);
  } catch (e) {
    throw new Error(
      `${what}, ${version === undefined ? 'latest' : `version ${version}`} (segment: checkpoint ${snap.segment.checkpoint?.version ?? 'none'}, ${snap.segment.commits.length} commits):\n${(e as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------

describe('log replay', () => {
  test('replay equals the reference model at every version, with or without checkpoints, whatever the order inside commits', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, async (plan) => {
        const { commits, views } = build(plan, Date.now());
        const last = commits.length - 1;
        const cps = [...new Set(plan.checkpoints.map((c) => c % commits.length))];

        const inOrder = await freshStore();
        const reordered = await freshStore();
        try {
          await writeLog(inOrder, commits);
          await writeLog(
            reordered,
            commits.map((actions, v) => shuffled(actions, plan.commits[v]!.seed)),
          );
          for (const [name, store] of [
            ['commits only', inOrder],
            ['shuffled commits only', reordered],
          ] as const) {
            await expectSnapshot(store, views[last]!, name);
            for (let v = 0; v <= last; v++) await expectSnapshot(store, views[v]!, name, v);
          }
          // Checkpoints in generated order, so `_last_checkpoint` may point at the older one.
          for (const cp of cps) {
            await writeCheckpoint(inOrder, engine, cp);
            await writeCheckpoint(reordered, engine, cp);
          }
          if (cps.length) {
            for (const [name, store] of [
              ['with checkpoints ' + cps.join(','), inOrder],
              ['shuffled, with checkpoints ' + cps.join(','), reordered],
            ] as const) {
              await expectSnapshot(store, views[last]!, name);
              for (let v = 0; v <= last; v++) await expectSnapshot(store, views[v]!, name, v);
            }
          }
        } finally {
          await rm(new URL(inOrder.url).pathname, { recursive: true, force: true });
          await rm(new URL(reordered.url).pathname, { recursive: true, force: true });
        }
      }),
      { numRuns: 25, interruptAfterTimeLimit: 45_000 },
    );
  });
});

describe('log file names', () => {
  const version = fc.integer({ min: 0, max: 10 ** 12 });

  test('commitKey / checkpointKey round-trip through parseLogKey', () => {
    fc.assert(
      fc.property(version, (v) => {
        expect(parseLogKey(commitKey(v))).toEqual({ kind: 'commit', version: v, key: commitKey(v) });
        expect(parseLogKey(checkpointKey(v))).toEqual({
          kind: 'checkpoint',
          version: v,
          key: checkpointKey(v),
        });
        const multi = `${LOG_DIR}/${pad20(v)}.checkpoint.${String(2).padStart(10, '0')}.${String(3).padStart(10, '0')}.parquet`;
        expect(parseLogKey(multi)).toEqual({ kind: 'checkpoint', version: v, key: multi, part: 2, parts: 3 });
        // Not directly under _delta_log/, or not a log file name: not a log file.
        expect(parseLogKey(`x/${commitKey(v)}`)).toBeUndefined();
        expect(parseLogKey(`${LOG_DIR}/_sidecars/${pad20(v)}.json`)).toBeUndefined();
        expect(parseLogKey(`${LOG_DIR}/${String(v).padStart(19, '0')}.json`)).toBeUndefined();
        expect(parseLogKey(`${LOG_DIR}/${String(v).padStart(21, '0')}.json`)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  test('key order is version order, and every key of version v-1 sorts before the listing start for v', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        fc.pre(a !== b);
        const [lo, hi] = a < b ? [a, b] : [b, a];
        expect(compareKeys(commitKey(lo), commitKey(hi))).toBeLessThan(0);
        expect(compareKeys(checkpointKey(lo), commitKey(hi))).toBeLessThan(0);
        // log-segment.ts lists from `<v-1>.~` when a checkpoint hint says v.
        const start = `${LOG_DIR}/${pad20(hi - 1)}.~`;
        for (const k of [
          commitKey(hi - 1),
          checkpointKey(hi - 1),
          `${LOG_DIR}/${pad20(hi - 1)}.crc`,
          `${LOG_DIR}/${pad20(hi - 1)}.${pad20(hi)}.compacted.json`,
        ])
          expect(compareKeys(k, start)).toBeLessThan(0);
        for (const k of [
          commitKey(hi),
          checkpointKey(hi),
          `${LOG_DIR}/${pad20(hi)}.checkpoint.0000000001.0000000002.parquet`,
        ])
          expect(compareKeys(k, start)).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });
});

describe('concurrent commits', () => {
  test('10 in-process blind appenders × 5 commits: versions 0..50 contiguous, every add exactly once', async () => {
    const WRITERS = 10;
    const EACH = 5;
    const store = await freshStore();
    const created = await commit(store, engine, {
      readVersion: -1,
      operation: 'CREATE TABLE',
      isBlindAppend: false,
      actions: [{ protocol: PROTOCOL }, { metaData: metadata([], {}) }],
    });
    expect(created).toMatchObject({ kind: 'committed', version: 0 });

    const pathOf = (w: number, i: number) => `w${w}-c${i}.parquet`;
    const perWriter = await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        let seen = 0;
        const versions: number[] = [];
        for (let i = 0; i < EACH; i++) {
          const r = await commit(store, engine, {
            readVersion: seen,
            operation: 'WRITE',
            isBlindAppend: true,
            actions: [
              {
                add: {
                  path: pathOf(w, i),
                  partitionValues: {},
                  size: 100,
                  modificationTime: Date.now(),
                  dataChange: true,
                },
              },
            ],
          });
          expect(r.kind).toBe('committed');
          versions.push(r.version);
          seen = r.version;
        }
        return versions;
      }),
    );

    const N = WRITERS * EACH + 1;
    for (const vs of perWriter) expect(vs).toEqual([...vs].sort((a, b) => a - b)); // each writer moves forward
    expect(perWriter.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: N - 1 }, (_, i) => i + 1));
    const log = await listCommits(store);
    expect(log.map((c) => c.version)).toEqual(Array.from({ length: N }, (_, i) => i));
    for (const c of log.slice(1)) {
      const actions = parseCommit(Buffer.from(await store.get(c.key)).toString('utf8'), c.key);
      expect(actions.filter((a) => 'add' in a)).toHaveLength(1);
      const info = actions.find((a) => 'commitInfo' in a);
      expect(info && 'commitInfo' in info && info.commitInfo.readVersion).toBeLessThan(c.version);
    }

    const snap = await Snapshot.load(store, engine);
    expect(snap.version).toBe(N - 1);
    const paths = snap.files.map((f) => f.path).sort();
    const expected = Array.from({ length: WRITERS }, (_, w) =>
      Array.from({ length: EACH }, (_, i) => pathOf(w, i)),
    )
      .flat()
      .sort();
    expect(paths).toEqual(expected); // exactly once each: same length, same multiset
  });
});
