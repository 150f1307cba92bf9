/**
 * Incremental deep clone (issue 14, evidence 5): bytes copied against bytes new, and clone throughput
 * against a raw object-by-object copy of the same files with the same copy function and concurrency, in
 * the same run, same-store and cross-cloud. The emulators are started here and stopped at the end.
 *
 *   npx tsx bench/clone.ts                       (npm run bench:clone)
 *   npx tsx bench/clone.ts --files 300 --file-kb 1024 --append 30 --reps 3 --concurrency 8 \
 *       --pairs local:local,s3:s3,s3:gcs,local:azure
 *
 * Per pair (source backend : target backend):
 *  - a source table of --files data files of about --file-kb each (one partition per file, random
 *    payload so Parquet cannot shrink it much) is written on the source backend;
 *  - (i) a full clone into a fresh target: bytes copied / source bytes; then --append new files are
 *    appended and an incremental clone runs: bytes copied / bytes of the new files. Both must be 1.00.
 *  - (ii) --reps rounds, the order alternating, of: a full clone into a fresh location, and a raw copy of
 *    the same data files (the snapshot's add paths) into another fresh location with the same copy
 *    function (the clone's default, lake/table/clone.ts defaultCopy) and the same bounded concurrency
 *    (lake/each-limit). MB/s = source data bytes / wall time; ratio = clone/raw (target ≥ 0.80). The
 *    clone's time includes everything it does beyond copying: loading the source snapshot and the
 *    target's, the plan, a HEAD per object (one LIST above 256 objects) to skip what is already there, and
 *    the commit. The summary gives the median round and the best round of each side: on a shared machine
 *    the emulators' speed swings by 2-3× between rounds, which the best round is less sensitive to.
 * "Same store" is a second bucket (directory) on the same endpoint (local→local, s3→s3); cross-cloud is
 * s3→gcs and local→azure.
 */
import { parseArgs } from 'node:util';
import { Snapshot } from '../lake/delta/snapshot';
import { dataFileKey } from '../lake/delta/paths';
import { eachLimit } from '../lake/each-limit';
import type { ObjectStore } from '../lake/storage/object-store';
import { openStore } from '../lake/storage/open';
import { type CloneResult, cloneTable, defaultCopy } from '../lake/table/clone';
import { defaultEngine, writeTable } from '../lake/table/operations';
import type { ServiceName } from '../deploy/local-services';
import { type BackendKind, createTestLocation, emulatorOptions } from '../test/harness/stores';
import { MiB, fmt, median, ratio, startBenchServices, timeMs } from './common';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '200' },
    'file-kb': { type: 'string', default: '1024' },
    append: { type: 'string', default: '20' },
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    pairs: { type: 'string', default: 'local:local,s3:s3,s3:gcs,local:azure' },
  },
});
const num = (name: keyof typeof args): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got ${args[name]}`);
  return n;
};
const FILES = num('files');
const FILE_KB = num('file-kb');
const APPEND = num('append');
const REPS = num('reps');
const CONCURRENCY = num('concurrency');
const KINDS: readonly BackendKind[] = ['local', 's3', 'azure', 'gcs'];
const PAIRS = String(args.pairs)
  .split(',')
  .map((p) => {
    const [a, b] = p.split(':') as [BackendKind, BackendKind];
    if (!KINDS.includes(a) || !KINDS.includes(b)) throw new Error(`--pairs: bad pair ${p} (use e.g. s3:gcs)`);
    return [a, b] as const;
  });

/** Bytes of random payload per row: 8 md5 hex digests. */
const PAYLOAD_CHARS = 256;

/**
 * `count` partitions (p = first..first+count-1) of about FILE_KB each: one data file per partition.
 * Hex payload is ~4 bits of entropy per character, so a row costs about PAYLOAD_CHARS / 2 bytes in Parquet.
 */
function sourceSql(first: number, count: number): string {
  const rowsPerFile = Math.max(1, Math.round((FILE_KB * 1024) / (PAYLOAD_CHARS / 2 + 8)));
  const payload = Array.from({ length: PAYLOAD_CHARS / 32 }, () => 'md5(random()::VARCHAR)').join(' || ');
  return `(SELECT (${first} + (i % ${count}))::BIGINT AS p, i::BIGINT AS id, ${payload} AS payload FROM range(${rowsPerFile * count}) t(i))`;
}

interface Loc {
  store: ObjectStore;
  cleanup(): Promise<void>;
}
async function location(kind: BackendKind, prefix: string): Promise<Loc> {
  const loc = await createTestLocation(kind, prefix);
  const store = await openStore(loc.url, emulatorOptions([kind]));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await loc.cleanup();
    },
  };
}

const dataBytes = (files: readonly { size: number }[]) => files.reduce((n, f) => n + f.size, 0);
const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

/** The raw side: every data file of the snapshot, object by object, same copy function and concurrency. */
async function rawCopy(src: ObjectStore, snap: Snapshot, dst: ObjectStore): Promise<number> {
  let bytes = 0;
  await eachLimit(snap.files, CONCURRENCY, async (f) => {
    const key = dataFileKey(f.path, src.url);
    const c = await defaultCopy(src, key, dst, key, f.size);
    bytes += c.bytes;
  });
  return bytes;
}

interface PairResult {
  pair: string;
  files: number;
  sourceMiB: number;
  fullRatio: string;
  incrRatio: string;
  incrFiles: number;
  cloneMbps: number;
  rawMbps: number;
  cloneRuns: number[];
  rawRuns: number[];
  serverSide: number;
}

async function benchPair(a: BackendKind, b: BackendKind): Promise<PairResult> {
  const pair = `${a}→${b}`;
  const src = await location(a, 'src/table');
  const cleanups: (() => Promise<void>)[] = [src.cleanup];
  try {
    const tWrite = await timeMs(() =>
      writeTable(src.store, { sourceSql: sourceSql(0, FILES), partitionBy: ['p'] }),
    );
    const s0 = await Snapshot.load(src.store, defaultEngine);
    console.log(
      `  ${pair}: source ${s0.files.length} files, ${fmt(dataBytes(s0.files) / MiB, 1)} MiB (written in ${fmt(tWrite / 1000, 1)} s)`,
    );

    // (i) bytes copied / bytes new, full then incremental.
    const tgt = await location(b, 'replica');
    cleanups.push(tgt.cleanup);
    const full = await cloneTable(src.store, tgt.store, { concurrency: CONCURRENCY, copy: defaultCopy });
    await writeTable(src.store, { sourceSql: sourceSql(FILES, APPEND) });
    const s1 = await Snapshot.load(src.store, defaultEngine);
    const had = new Set(s0.files.map((f) => f.path));
    const fresh = s1.files.filter((f) => !had.has(f.path));
    const incr = await cloneTable(src.store, tgt.store, { concurrency: CONCURRENCY, copy: defaultCopy });
    check(full, 'full', s0.version);
    check(incr, 'incremental', s1.version);
    const fullRatio = ratio(full.bytesTransferred, dataBytes(s0.files));
    const incrRatio = ratio(incr.bytesTransferred, dataBytes(fresh));
    console.log(
      `  ${pair}: full clone copied ${fmt(full.bytesTransferred / MiB, 1)} MiB of ${fmt(dataBytes(s0.files) / MiB, 1)} MiB (${fullRatio}); ` +
        `incremental after ${fresh.length} new files copied ${fmt(incr.bytesTransferred / MiB, 2)} MiB of ${fmt(dataBytes(fresh) / MiB, 2)} MiB new (${incrRatio})`,
    );

    // (ii) throughput: full clone vs raw copy of the same files, fresh locations each round.
    const snap = s1;
    const bytes = dataBytes(snap.files);
    const cloneRuns: number[] = [];
    const rawRuns: number[] = [];
    let serverSide = 0;
    const runClone = async () => {
      const t = await location(b, 'clone');
      try {
        let r: CloneResult | undefined;
        const ms = await timeMs(async () => {
          r = await cloneTable(src.store, t.store, {
            version: snap.version,
            concurrency: CONCURRENCY,
            copy: defaultCopy,
          });
        });
        check(r!, 'timed', snap.version);
        if (r!.bytesTransferred !== bytes)
          throw new Error(`${pair}: clone copied ${r!.bytesTransferred} of ${bytes}`);
        serverSide = r!.serverSideCopies;
        cloneRuns.push(mbps(bytes, ms));
      } finally {
        await t.cleanup();
      }
    };
    const runRaw = async () => {
      const t = await location(b, 'raw');
      try {
        let copied = 0;
        const ms = await timeMs(async () => {
          copied = await rawCopy(src.store, snap, t.store);
        });
        if (copied !== bytes) throw new Error(`${pair}: raw copy copied ${copied} of ${bytes}`);
        rawRuns.push(mbps(bytes, ms));
      } finally {
        await t.cleanup();
      }
    };
    // One untimed warm-up each, then REPS rounds with the order alternating.
    await runRaw();
    await runClone();
    cloneRuns.length = 0;
    rawRuns.length = 0;
    for (let i = 0; i < REPS; i++)
      if (i % 2 === 0) {
        await runClone();
        await runRaw();
      } else {
        await runRaw();
        await runClone();
      }
    const res: PairResult = {
      pair,
      files: snap.files.length,
      sourceMiB: bytes / MiB,
      fullRatio,
      incrRatio,
      incrFiles: fresh.length,
      cloneMbps: median(cloneRuns),
      rawMbps: median(rawRuns),
      cloneRuns,
      rawRuns,
      serverSide,
    };
    console.log(
      `  ${pair}: clone ${fmt(res.cloneMbps, 1)} MB/s, raw copy ${fmt(res.rawMbps, 1)} MB/s, ratio ${ratio(res.cloneMbps, res.rawMbps)} ` +
        `(clone runs ${res.cloneRuns.map((x) => fmt(x, 1)).join('/')}, raw ${res.rawRuns.map((x) => fmt(x, 1)).join('/')})`,
    );
    return res;
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

function check(r: CloneResult, what: string, version: number) {
  if (r.kind !== 'committed' || r.sourceVersion !== version)
    throw new Error(
      `${what} clone: ${r.kind} at source version ${r.sourceVersion}, expected a commit of ${version}`,
    );
}

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log(
    `bench:clone: ${FILES} files × ~${FILE_KB} KiB (+${APPEND} appended), concurrency ${CONCURRENCY}, ${REPS} reps + 1 warm-up, median; MB = 2^20 bytes`,
  );
  const cloud = [...new Set(PAIRS.flat().filter((k) => k !== 'local'))] as ServiceName[];
  const svc = await startBenchServices(cloud);
  const results: PairResult[] = [];
  try {
    for (const [a, b] of PAIRS) {
      const down = svc.services.find((s) => (s.name === a || s.name === b) && s.error);
      if (down) {
        console.log(`  ${a}→${b}: ${down.name} NOT RUNNING (${down.error})`);
        continue;
      }
      results.push(await benchPair(a, b));
    }
  } finally {
    await svc.stop();
  }
  console.log('\nsummary (bytes copied / bytes new must be 1.00; clone/raw target ≥ 0.80)');
  console.log(
    'pair          files   MiB  full  incr   clone MB/s  raw MB/s  clone/raw   best: clone    raw  clone/raw',
  );
  for (const r of results) {
    const bc = Math.max(...r.cloneRuns);
    const br = Math.max(...r.rawRuns);
    console.log(
      `${r.pair.padEnd(13)} ${String(r.files).padStart(5)} ${fmt(r.sourceMiB).padStart(5)}  ${r.fullRatio}  ${r.incrRatio}   ${fmt(r.cloneMbps, 1).padStart(10)}  ${fmt(r.rawMbps, 1).padStart(8)}  ${ratio(r.cloneMbps, r.rawMbps).padStart(9)}   ${fmt(bc, 1).padStart(11)}  ${fmt(br, 1).padStart(5)}  ${ratio(bc, br).padStart(9)}`,
    );
  }
  console.log(
    'median of the timed rounds, and the best round of each side (less sensitive to other load on the machine)',
  );
  console.log(`(${fmt((Date.now() - t0) / 1000, 0)} s)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
