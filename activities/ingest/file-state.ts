/**
 * Durable file state, kept with the table under `_tributary/ingest/<appId>/` (hidden from Delta readers):
 * - `batch-<seq>.json`: the manifest of batch `seq` (key, size, etag of each file), created once with
 *   create-if-absent before the batch is ingested. Retries reuse it, so a batch never changes.
 * - `state-<seq>.json`: a compaction of every manifest up to `seq`, so planning does not re-read them all.
 * A batch is done when the table records `txn(appId, seq)`; manifests beyond that are pending. A file is
 * known once any manifest names it, so it is planned once however often it is listed again, and a late
 * file whose key sorts before known ones is still found (planning compares sets, not a watermark).
 */
import { isTributaryError } from '../../lake/errors';
import { parseVersion } from '../../lake/delta/log-path';
import type { ObjectStore } from '../../lake/storage/object-store';
import { readStateJson } from '../state-files';
import type { SourceFile } from './types';

const pad = (n: number) => String(n).padStart(20, '0');
export const stateDir = (appId: string) => `_tributary/ingest/${appId}/`;
export const manifestKey = (appId: string, seq: number) => `${stateDir(appId)}batch-${pad(seq)}.json`;
const stateKey = (appId: string, seq: number) => `${stateDir(appId)}state-${pad(seq)}.json`;

export interface Manifest {
  seq: number;
  createdAt: string;
  files: SourceFile[];
}

const COMPACT_EVERY = 20;

const readJson = <T>(store: ObjectStore, key: string): Promise<T> =>
  readStateJson<T>(store, key, 'ingest state file');

export async function readManifest(store: ObjectStore, appId: string, seq: number): Promise<Manifest> {
  return readJson<Manifest>(store, manifestKey(appId, seq));
}

export interface KnownFiles {
  /** key → etag of every file in any manifest. */
  files: Map<string, string>;
  /** Highest manifest sequence (-1: none). */
  maxSeq: number;
  /** Manifest sequences above the latest compaction (for compaction). */
  sinceCompaction: number[];
  compactedThrough: number;
}

export async function loadKnownFiles(store: ObjectStore, appId: string): Promise<KnownFiles> {
  const manifests: number[] = [];
  let compactedThrough = -1;
  for await (const m of store.list(stateDir(appId))) {
    const name = m.key.slice(stateDir(appId).length);
    const b = /^batch-(\d{20})\.json$/.exec(name);
    const s = /^state-(\d{20})\.json$/.exec(name);
    // Sequences are parsed exactly (a name beyond 2^53 - 1 is refused, never rounded onto another batch).
    if (b) manifests.push(parseVersion(b[1]!, `ingest state file ${m.key}: sequence`, 'INVALID_LOG'));
    else if (s)
      compactedThrough = Math.max(
        compactedThrough,
        parseVersion(s[1]!, `ingest state file ${m.key}: sequence`, 'INVALID_LOG'),
      );
  }
  const files = new Map<string, string>();
  if (compactedThrough >= 0) {
    const st = await readJson<{ files: [string, string][] }>(store, stateKey(appId, compactedThrough));
    for (const [k, e] of st.files) files.set(k, e);
  }
  const later = manifests.filter((s) => s > compactedThrough).sort((a, b) => a - b);
  const read = await Promise.all(later.map((s) => readManifest(store, appId, s)));
  for (const m of read) for (const f of m.files) files.set(f.key, f.etag);
  return {
    files,
    maxSeq: manifests.reduce((a, b) => Math.max(a, b), compactedThrough), // no spread: lists are unbounded
    sinceCompaction: later,
    compactedThrough,
  };
}

/** Writes the manifest of batch `seq`; if another planner got there first, returns theirs. */
export async function createManifest(
  store: ObjectStore,
  appId: string,
  seq: number,
  files: SourceFile[],
): Promise<Manifest> {
  const m: Manifest = { seq, createdAt: new Date().toISOString(), files };
  try {
    await store.putIfAbsent(manifestKey(appId, seq), JSON.stringify(m));
    return m;
  } catch (e) {
    if (isTributaryError(e, 'ALREADY_EXISTS')) return readManifest(store, appId, seq);
    throw e;
  }
}

/** Folds committed manifests into one state file once enough have accumulated. */
export async function maybeCompact(
  store: ObjectStore,
  appId: string,
  known: KnownFiles,
  committedSeq: number,
): Promise<boolean> {
  const done = known.sinceCompaction.filter((s) => s <= committedSeq);
  if (done.length < COMPACT_EVERY) return false;
  const through = done.reduce((a, b) => Math.max(a, b)); // no spread: the list is unbounded
  // Only files of manifests ≤ through (pending manifests stay separate).
  const files = new Map<string, string>();
  if (known.compactedThrough >= 0)
    for (const [k, e] of (
      await readJson<{ files: [string, string][] }>(store, stateKey(appId, known.compactedThrough))
    ).files)
      files.set(k, e);
  for (const s of done) for (const f of (await readManifest(store, appId, s)).files) files.set(f.key, f.etag);
  try {
    await store.putIfAbsent(stateKey(appId, through), JSON.stringify({ through, files: [...files] }));
  } catch (e) {
    if (!isTributaryError(e, 'ALREADY_EXISTS')) throw e;
  }
  return true;
}
