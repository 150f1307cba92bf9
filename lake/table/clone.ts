/**
 * Incremental deep clone (Databricks `CREATE TABLE … DEEP CLONE`, made incremental): the target becomes an
 * independent Delta table (its own log, versions and table id) whose snapshot equals the source's at a
 * recorded source version.
 *
 * - Where it stands is recorded on the target as `txn(tributary-clone/<source table id>, sourceVersion)`,
 *   so a retried clone is a no-op and the next run knows where to start.
 * - The source's `txn` actions travel (writers' exactly-once state, as Databricks' deep clone carries
 *   streaming state); a carried txn never moves an application's version backwards on the target.
 *   Tributary's own state beside the table (`_tributary/ingest/`) travels too: its files are immutable
 *   and every manifest a cloned txn covers exists before that txn was committed, so copying what is there
 *   once the source snapshot is read is consistent with the cloned version.
 * - Incremental: the commits since the recorded source version say which files the source added and
 *   removed; only those are copied or removed, in one commit. Files the target got from its own writers
 *   are left alone (unlike `CREATE OR REPLACE … DEEP CLONE`, which drops them): the live fork relies on it.
 * - When those commits are gone (log cleanup), the clone falls back to a snapshot diff: files of the source
 *   snapshot the target lacks are copied (except files the target itself removed, by its tombstones), and
 *   files the target got from this source (tagged `tributary.cloneSource`) that the source no longer has
 *   are removed.
 * - A target version is published only once every file it names is present and verified; files already
 *   on the target with the right size (an earlier, interrupted attempt) are not copied again.
 */
import { setMaxListeners } from 'node:events';
import { TributaryError, isTributaryError } from '../errors';
import { eachLimit } from '../each-limit';
import type { AddFile, Metadata, Protocol, RemoveFile, Txn } from '../delta/actions';
import { readCommitRange } from '../delta/commits';
import { dvStoreKey } from '../delta/deletion-vectors';
import type { DeltaEngine } from '../delta/engine';
import { dataFileKey } from '../delta/paths';
import { fileKey } from '../delta/replay';
import { Snapshot } from '../delta/snapshot';
import { copyObject } from '../storage/copy';
import { cloudOfUrl } from '../storage/url';
import type { ObjectStore } from '../storage/object-store';
import { commitFiles } from './commit-files';
import { defaultEngine, loadSnapshotOrUndefined } from './latest';
import { removeOf } from './operations';

/** The txn application under which a target records the source version it was cloned from. */
export const cloneAppId = (sourceTableId: string): string => `tributary-clone/${sourceTableId}`;
/** Tag on every add a clone copies: which source table the file came from. */
export const CLONE_SOURCE_TAG = 'tributary.cloneSource';
/** Tributary's own state kept beside a table that travels with it. */
export const CLONED_STATE_PREFIX = '_tributary/ingest/';

/** Delta's CLONE operationMetrics (camelCase in the log; `clone run` prints the snake_case forms). */
export interface CloneMetrics {
  sourceTableSize: number;
  sourceNumOfFiles: number;
  numCopiedFiles: number;
  copiedFilesSize: number;
  numRemovedFiles: number;
  removedFilesSize: number;
}

export interface CopiedObject {
  bytes: number;
  serverSide: boolean;
  verified: string;
}

export type CopyFn = (
  src: ObjectStore,
  srcKey: string,
  dst: ObjectStore,
  dstKey: string,
  expectedSize: number | undefined,
  signal?: AbortSignal,
) => Promise<CopiedObject>;

export interface CloneProgress {
  /** Objects (data, deletion-vector and state files) this run must bring over. */
  objectsToCopy: number;
  bytesToCopy: number;
  /** Brought over so far: copied now, or found already present from an earlier attempt. */
  objectsDone: number;
  bytesCopied: number;
  objectsAlreadyPresent: number;
}

export interface CloneOptions {
  /** Source version to clone (default: the latest). */
  version?: number;
  /**
   * Make the target equal the source even though it is not a clone of it (failing back onto an old
   * primary): files the source does not have are removed, files both have (same path) are kept.
   */
  replace?: boolean;
  engine?: DeltaEngine;
  /** Copies in flight (default 8). */
  concurrency?: number;
  copy?: CopyFn;
  /** Called as objects are brought over (an activity heartbeats it). */
  onProgress?: (p: CloneProgress) => void;
  /** Called with the plan before anything is copied. */
  onPlan?: (p: ClonePlanSummary) => void;
  signal?: AbortSignal;
}

export interface ClonePlanSummary {
  mode: 'full' | 'incremental' | 'snapshotDiff' | 'replace';
  previousSourceVersion: number | undefined;
  sourceVersion: number;
  adds: number;
  removes: number;
  objectsToCopy: number;
  bytesToCopy: number;
  /** Why a snapshot diff was used instead of the commits. */
  fallbackReason?: string;
}

export interface CloneResult {
  kind: 'committed' | 'upToDate';
  source: string;
  target: string;
  sourceTableId: string;
  sourceVersion: number;
  /** The target version that records sourceVersion (the version this run committed, or the current one). */
  targetVersion: number;
  previousSourceVersion: number | undefined;
  mode: ClonePlanSummary['mode'] | 'none';
  fallbackReason?: string;
  metrics: CloneMetrics;
  /** Bytes actually transferred this run (objects already present from an interrupted run are not). */
  bytesTransferred: number;
  serverSideCopies: number;
  carriedTxns: Txn[];
  stateFilesCopied: number;
}

/**
 * The copy a clone uses unless given one (bench/clone.ts times a raw copy loop with the same function):
 * server-side where the stores allow it, else streamed; size and checksums verified (copyObject).
 */
export const defaultCopy: CopyFn = (src, srcKey, dst, dstKey, expectedSize, signal) =>
  copyObject(src, srcKey, dst, dstKey, { expectedSize, signal });

interface ObjectToCopy {
  key: string;
  size: number | undefined;
}

/** The objects (data file, on-disk deletion vector) an add needs. */
function objectsOf(add: AddFile, source: ObjectStore): ObjectToCopy[] {
  if (/^[a-z][a-z0-9+.-]*:/i.test(add.path))
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `source ${source.url} names data file ${add.path} by absolute path (a shallow clone?); a deep clone copies files inside the table root only`,
    );
  const out: ObjectToCopy[] = [{ key: dataFileKey(add.path, source.url), size: add.size }];
  const dv = add.deletionVector;
  if (dv && dv.storageType !== 'i') {
    if (dv.storageType === 'p')
      throw new TributaryError(
        'PROTOCOL_UNSUPPORTED',
        `source ${source.url} has a deletion vector stored by absolute path (${dv.pathOrInlineDv}); a deep clone copies relative deletion vectors only`,
      );
    out.push({ key: dvStoreKey(dv, source.url), size: undefined });
  }
  return out;
}

const tagged = (add: AddFile, sourceId: string): AddFile => ({
  ...add,
  dataChange: true,
  tags: { ...(add.tags ?? {}), [CLONE_SOURCE_TAG]: sourceId },
});

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The target's metadata for the source's: the source's schema, partitioning and properties, the target's id. */
function metadataFor(source: Metadata, target: Metadata | undefined): Metadata | undefined {
  const m: Metadata = {
    ...source,
    id: target?.id ?? crypto.randomUUID(),
    createdTime: target?.createdTime ?? Date.now(),
  };
  if (target && sameJson({ ...target, createdTime: 0 }, { ...m, createdTime: 0 })) return undefined;
  return m;
}

/** The source's protocol, never lowering what the target already requires. */
function protocolFor(source: Protocol, target: Protocol | undefined): Protocol | undefined {
  if (!target) return source;
  const union = (a?: string[], b?: string[]) =>
    a || b ? [...new Set([...(a ?? []), ...(b ?? [])])].sort() : undefined;
  const p: Protocol = {
    minReaderVersion: Math.max(source.minReaderVersion, target.minReaderVersion),
    minWriterVersion: Math.max(source.minWriterVersion, target.minWriterVersion),
  };
  const rf = union(source.readerFeatures, target.readerFeatures);
  const wf = union(source.writerFeatures, target.writerFeatures);
  if (rf && p.minReaderVersion >= 3) p.readerFeatures = rf;
  if (wf && p.minWriterVersion >= 7) p.writerFeatures = wf;
  const norm = (x: Protocol) =>
    JSON.stringify({
      ...x,
      readerFeatures: x.readerFeatures?.slice().sort(),
      writerFeatures: x.writerFeatures?.slice().sort(),
    });
  return norm(p) === norm(target) ? undefined : p;
}

interface FileDiff {
  mode: ClonePlanSummary['mode'];
  adds: AddFile[];
  /** Keys of source files to remove from the target (where the target still has them). */
  removeKeys: Set<string>;
  fallbackReason?: string;
}

/** What the source changed between `from` (exclusive) and `to.version`, by its commits; undefined when gone. */
async function diffByCommits(
  source: ObjectStore,
  from: number,
  to: Snapshot,
): Promise<{ adds: AddFile[]; removeKeys: Set<string> } | { missing: string }> {
  const added = new Set<string>();
  const removed = new Set<string>();
  try {
    for await (const c of readCommitRange(source, from + 1, to.version)) {
      for (const a of c.actions) {
        if ('add' in a) {
          added.add(fileKey(a.add));
          removed.delete(fileKey(a.add));
        } else if ('remove' in a) {
          const k = fileKey(a.remove);
          if (!added.delete(k)) removed.add(k);
        }
      }
    }
  } catch (e) {
    if (isTributaryError(e, 'INVALID_LOG') && /has no commit/.test((e as Error).message))
      return { missing: (e as Error).message };
    throw e;
  }
  return { adds: to.files.filter((f) => added.has(fileKey(f))), removeKeys: removed };
}

async function planDiff(
  source: ObjectStore,
  src: Snapshot,
  target: Snapshot | undefined,
  previous: number | undefined,
  replace: boolean,
): Promise<FileDiff> {
  const sourceId = src.metadata.id;
  if (!target) return { mode: 'full', adds: [...src.files], removeKeys: new Set() };
  const targetKeys = new Set(target.files.map(fileKey));
  const srcKeys = new Set(src.files.map(fileKey));
  if (replace)
    return {
      mode: 'replace',
      adds: src.files.filter((f) => !targetKeys.has(fileKey(f))),
      removeKeys: new Set([...targetKeys].filter((k) => !srcKeys.has(k))),
    };
  if (previous === undefined)
    return {
      mode: 'full',
      adds: src.files.filter((f) => !targetKeys.has(fileKey(f))),
      removeKeys: new Set(),
    };
  const byCommits = await diffByCommits(source, previous, src);
  if (!('missing' in byCommits))
    return {
      mode: 'incremental',
      adds: byCommits.adds.filter((f) => !targetKeys.has(fileKey(f))),
      removeKeys: byCommits.removeKeys,
    };
  // The commits since the last clone are gone: compare snapshots. Files the target removed itself stay
  // removed (its tombstones say so); only files the target got from this source are removed.
  const removedByTarget = new Set(target.tombstones.map(fileKey));
  return {
    mode: 'snapshotDiff',
    fallbackReason: byCommits.missing,
    adds: src.files.filter((f) => !targetKeys.has(fileKey(f)) && !removedByTarget.has(fileKey(f))),
    removeKeys: new Set(
      target.files
        .filter((f) => f.tags?.[CLONE_SOURCE_TAG] === sourceId && !srcKeys.has(fileKey(f)))
        .map(fileKey),
    ),
  };
}

/** Every object under CLONED_STATE_PREFIX of the source that the target lacks. */
async function stateToCopy(source: ObjectStore, target: ObjectStore): Promise<ObjectToCopy[]> {
  const have = new Map<string, number>();
  for await (const m of target.list(CLONED_STATE_PREFIX)) have.set(m.key, m.size);
  const out: ObjectToCopy[] = [];
  for await (const m of source.list(CLONED_STATE_PREFIX))
    if (have.get(m.key) === undefined) out.push({ key: m.key, size: m.size });
  return out;
}

/** Copies the objects the target lacks (or has with another size); objects present are counted, not copied. */
async function bringOver(
  source: ObjectStore,
  target: ObjectStore,
  objects: ObjectToCopy[],
  opts: CloneOptions,
  progress: CloneProgress,
): Promise<{ transferred: number; serverSide: number }> {
  const copy = opts.copy ?? defaultCopy;
  // A large plan lists the target once instead of asking per object.
  let present: Map<string, number> | undefined;
  if (objects.length > 256) {
    present = new Map();
    for await (const m of target.list('')) if (!m.key.startsWith('_delta_log/')) present.set(m.key, m.size);
  }
  const sizeOnTarget = async (key: string): Promise<number | undefined> => {
    if (present) return present.get(key);
    try {
      return (await target.head(key)).size;
    } catch (e) {
      if (isTributaryError(e, 'NOT_FOUND')) return undefined;
      throw e;
    }
  };
  let transferred = 0;
  let serverSide = 0;
  const concurrency = opts.concurrency ?? 8;
  // Every copy in flight follows the caller's signal (a few listeners each, removed when it ends): more
  // than Node's default 10 is expected here, not a leak.
  if (opts.signal) setMaxListeners(Math.max(10, 4 * concurrency), opts.signal);
  await eachLimit(objects, concurrency, async (o) => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('clone cancelled');
    const have = await sizeOnTarget(o.key);
    if (have !== undefined && (o.size === undefined || have === o.size)) {
      progress.objectsAlreadyPresent++;
    } else {
      let r: CopiedObject;
      try {
        r = await copy(source, o.key, target, o.key, o.size, opts.signal);
      } catch (e) {
        if (isTributaryError(e, 'NOT_FOUND')) throw new SourceFileGone(o.key, source.url, e);
        throw e;
      }
      transferred += r.bytes;
      if (r.serverSide) serverSide++;
      progress.bytesCopied += r.bytes;
    }
    progress.objectsDone++;
    opts.onProgress?.({ ...progress });
  });
  return { transferred, serverSide };
}

/**
 * Brings `target` to the source's snapshot at `opts.version` (default latest) with one commit. See the
 * module comment for what travels and what stays.
 */
export async function cloneTable(
  source: ObjectStore,
  target: ObjectStore,
  opts: CloneOptions = {},
): Promise<CloneResult> {
  const engine = opts.engine ?? defaultEngine;
  const src = await Snapshot.load(
    source,
    engine,
    opts.version === undefined ? {} : { version: opts.version },
  );
  try {
    return await cloneSnapshot(source, target, src, opts);
  } catch (e) {
    if (!(e instanceof SourceFileGone)) throw e;
    // VACUUM removed a file of that version: clone the source's current snapshot instead, once.
    const latest = await Snapshot.load(source, engine);
    if (
      latest.version === src.version ||
      latest.files.some((f) => objectsOf(f, source).some((o) => o.key === e.key))
    )
      throw new TributaryError(
        'NOT_FOUND',
        `source ${source.url} version ${latest.version} names ${e.key}, which is gone from storage; the source table is damaged and cannot be cloned until it is repaired`,
        { cause: e, retryable: false },
      );
    const r = await cloneSnapshot(source, target, latest, opts);
    return {
      ...r,
      fallbackReason: `${e.message}; cloned the current version ${latest.version} instead of ${src.version}`,
    };
  }
}

/** A source object a clone must copy is gone (VACUUM after the snapshot was read). */
class SourceFileGone extends TributaryError {
  constructor(
    readonly key: string,
    source: string,
    cause: unknown,
  ) {
    super('NOT_FOUND', `source ${source} no longer has ${key} (removed by VACUUM?)`, {
      cause,
      retryable: false,
    });
  }
}

async function cloneSnapshot(
  source: ObjectStore,
  target: ObjectStore,
  src: Snapshot,
  opts: CloneOptions,
): Promise<CloneResult> {
  const engine = opts.engine ?? defaultEngine;
  const initial = await loadSnapshotOrUndefined(target, engine);
  const appId = cloneAppId(src.metadata.id);
  const sourceSize = src.files.reduce((n, f) => n + f.size, 0);
  const baseResult = {
    source: source.url,
    target: target.url,
    sourceTableId: src.metadata.id,
    sourceVersion: src.version,
  };
  const noChange: CloneMetrics = {
    sourceTableSize: sourceSize,
    sourceNumOfFiles: src.files.length,
    numCopiedFiles: 0,
    copiedFilesSize: 0,
    numRemovedFiles: 0,
    removedFilesSize: 0,
  };
  const previous = initial?.txnVersion(appId);
  if (initial && previous === undefined && !opts.replace && initial.files.length > 0)
    throw new TributaryError(
      'BAD_INPUT',
      `target ${target.url} is a Delta table that is not a clone of ${source.url} (no ${appId} record); ` +
        `clone into a new location, or give replace to make it equal the source (its other files are removed)`,
    );
  if (previous !== undefined && previous >= src.version && !opts.replace)
    return {
      kind: 'upToDate',
      ...baseResult,
      sourceVersion: previous,
      targetVersion: initial!.version,
      previousSourceVersion: previous,
      mode: 'none',
      metrics: noChange,
      bytesTransferred: 0,
      serverSideCopies: 0,
      carriedTxns: [],
      stateFilesCopied: 0,
    };

  let copied = false;
  let transferred = 0;
  let serverSide = 0;
  let stateFiles = 0;
  let diff: FileDiff | undefined;
  const r = await commitFiles(target, {
    engine,
    snapshot: initial,
    // A retried clone of the same source version is a no-op; a newer version is a new commit.
    txn: { appId, version: src.version },
    plan: async (tgt) => {
      diff = await planDiff(source, src, tgt, tgt?.txnVersion(appId), opts.replace === true);
      const targetFiles = new Map((tgt?.files ?? []).map((f) => [fileKey(f), f] as const));
      if (!copied) {
        const objects = diff.adds.flatMap((a) => objectsOf(a, source));
        const state = await stateToCopy(source, target);
        const progress: CloneProgress = {
          objectsToCopy: objects.length + state.length,
          bytesToCopy: [...objects, ...state].reduce((n, o) => n + (o.size ?? 0), 0),
          objectsDone: 0,
          bytesCopied: 0,
          objectsAlreadyPresent: 0,
        };
        opts.onPlan?.({
          mode: diff.mode,
          previousSourceVersion: tgt?.txnVersion(appId),
          sourceVersion: src.version,
          adds: diff.adds.length,
          removes: [...diff.removeKeys].filter((k) => targetFiles.has(k)).length,
          objectsToCopy: progress.objectsToCopy,
          bytesToCopy: progress.bytesToCopy,
          ...(diff.fallbackReason ? { fallbackReason: diff.fallbackReason } : {}),
        });
        const data = await bringOver(source, target, objects, opts, progress);
        const st = await bringOver(source, target, state, opts, progress);
        transferred = data.transferred + st.transferred;
        serverSide = data.serverSide + st.serverSide;
        stateFiles = state.length;
        copied = true;
      }
      const now = Date.now();
      const removes: RemoveFile[] = [...diff.removeKeys]
        .map((k) => targetFiles.get(k))
        .filter((f): f is AddFile => f !== undefined)
        .map((f) => removeOf(f, now));
      // Files another writer added to the target since (a re-plan) are not added twice.
      const adds = diff.adds
        .filter((f) => !targetFiles.has(fileKey(f)))
        .map((f) => tagged(f, src.metadata.id));
      const carried = [...src.txns.values()].filter(
        (t) => t.appId !== appId && (tgt?.txnVersion(t.appId) ?? -1) < t.version,
      );
      const metrics: CloneMetrics = {
        sourceTableSize: sourceSize,
        sourceNumOfFiles: src.files.length,
        numCopiedFiles: adds.length,
        copiedFilesSize: adds.reduce((n, f) => n + f.size, 0),
        numRemovedFiles: removes.length,
        removedFilesSize: removes.reduce((n, f) => n + (f.size ?? 0), 0),
      };
      const metadata = metadataFor(src.metadata, tgt?.metadata);
      const protocol = protocolFor(src.protocol, tgt?.protocol);
      return {
        result: { metrics, carried, mode: diff.mode },
        actions: {
          ...(protocol ? { protocol } : {}),
          ...(metadata ? { metadata } : {}),
          txns: carried,
          removes,
          adds,
          operation: 'CLONE',
          operationParameters: {
            source: source.url,
            sourceVersion: src.version,
            isShallow: false,
            ...(opts.replace ? { replace: true } : {}),
          },
          operationMetrics: {
            ...Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, String(v)])),
            // Where the copied bytes came from and went (cross-cloud copies are what replication costs).
            sourceCloud: cloudOfUrl(source.url),
            targetCloud: cloudOfUrl(target.url),
          },
          isBlindAppend: false,
          // The clone read the files it removes, and no target data otherwise: concurrent appends by the
          // target's own writers do not conflict with it.
          readFiles: new Set(removes.map(fileKey)),
          readFilter: () => false,
        },
      };
    },
  });
  if (r.kind === 'alreadyCommitted' || r.kind === 'nothing') {
    const t = await loadSnapshotOrUndefined(target, engine);
    return {
      kind: 'upToDate',
      ...baseResult,
      targetVersion: t?.version ?? -1,
      previousSourceVersion: previous,
      mode: 'none',
      metrics: noChange,
      bytesTransferred: transferred,
      serverSideCopies: serverSide,
      carriedTxns: [],
      stateFilesCopied: stateFiles,
    };
  }
  return {
    kind: 'committed',
    ...baseResult,
    targetVersion: r.version,
    previousSourceVersion: previous,
    mode: r.result.mode,
    ...(diff?.fallbackReason ? { fallbackReason: diff.fallbackReason } : {}),
    metrics: r.result.metrics,
    bytesTransferred: transferred,
    serverSideCopies: serverSide,
    carriedTxns: r.result.carried,
    stateFilesCopied: stateFiles,
  };
}
