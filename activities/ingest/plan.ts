/**
 * Discovery: list the raw location, subtract every file already in a manifest, and cut the new ones into
 * bounded batches (maxFilesPerBatch, maxBytesPerBatch; a single file larger than the byte cap still forms
 * its own batch). Pending manifests (planned, not yet committed) are returned first, unchanged.
 * `ingestBacklog` answers the same question without planning anything (`tributary status`).
 */
import type { ObjectStore } from '../../lake/storage/object-store';
import { loadSnapshotOrUndefined, defaultEngine } from '../../lake/table/operations';
import { type KnownFiles, createManifest, loadKnownFiles, maybeCompact, readManifest } from './file-state';
import { type PlanRequest, type PlanResult, type SourceFile } from './types';
import { type IngestTarget, appIdFor } from '../../shapes/targets';

/** Keys under hidden segments (`_…`, `.…`) are not log files (e.g. upload temp files, markers). */
const isHidden = (key: string) => key.split('/').some((s) => s.startsWith('_') || s.startsWith('.'));

/** The raw location's log files that no manifest names yet, in listing order: what planning would take. */
export async function unplannedFiles(
  raw: ObjectStore,
  known: Pick<KnownFiles, 'files'>,
): Promise<SourceFile[]> {
  const fresh: SourceFile[] = [];
  for await (const m of raw.list('')) {
    if (m.size === 0 && m.key.endsWith('/')) continue;
    if (isHidden(m.key) || known.files.has(m.key)) continue;
    fresh.push({ key: m.key, size: m.size, etag: m.etag, lastModified: m.lastModified.getTime() });
  }
  return fresh;
}

/** What a region's ingestion has still to commit. */
export interface IngestBacklog {
  /** Files not yet ingested: in pending batches or in no batch yet. */
  files: number;
  bytes: number;
  /** Batches planned and not committed yet. */
  pendingBatches: number;
  /** Of `files`, those no batch names yet. */
  unplannedFiles: number;
}

/**
 * The backlog of a region's ingestion, read-only (no manifest written, no compaction): the files of its
 * pending batches plus the raw files no batch names, listed as planning lists them.
 */
export async function ingestBacklog(
  deps: { open(url: string): Promise<ObjectStore> },
  target: Pick<IngestTarget, 'region' | 'raw' | 'table'>,
): Promise<IngestBacklog> {
  const appId = appIdFor(target.region);
  const [raw, table] = await Promise.all([deps.open(target.raw), deps.open(target.table)]);
  const snap = await loadSnapshotOrUndefined(table, defaultEngine);
  const committedSeq = snap?.txnVersion(appId) ?? -1;
  const known = await loadKnownFiles(table, appId);
  const seqs: number[] = [];
  for (let s = committedSeq + 1; s <= known.maxSeq; s++) seqs.push(s);
  const [pending, fresh] = await Promise.all([
    Promise.all(seqs.map((s) => readManifest(table, appId, s))),
    unplannedFiles(raw, known),
  ]);
  const pendingFiles = pending.flatMap((m) => m.files);
  const sum = (fs: readonly SourceFile[]) => fs.reduce((n, f) => n + f.size, 0);
  return {
    files: pendingFiles.length + fresh.length,
    bytes: sum(pendingFiles) + sum(fresh),
    pendingBatches: seqs.length,
    unplannedFiles: fresh.length,
  };
}

export async function planBatches(
  deps: { open(url: string): Promise<ObjectStore> },
  req: PlanRequest,
): Promise<PlanResult> {
  const t = req.target;
  const appId = appIdFor(t.region);
  const [raw, table] = await Promise.all([deps.open(t.raw), deps.open(t.table)]);
  const snap = await loadSnapshotOrUndefined(table, defaultEngine);
  const committedSeq = snap?.txnVersion(appId) ?? -1;
  const known = await loadKnownFiles(table, appId);
  await maybeCompact(table, appId, known, committedSeq);
  const pending: number[] = [];
  for (let s = committedSeq + 1; s <= known.maxSeq; s++) pending.push(s);

  const fresh = await unplannedFiles(raw, known);
  let next = Math.max(known.maxSeq, committedSeq) + 1;
  let i = 0;
  while (i < fresh.length && pending.length < req.maxBatches) {
    const files: SourceFile[] = [];
    let bytes = 0;
    while (
      i < fresh.length &&
      files.length < t.maxFilesPerBatch &&
      (files.length === 0 || bytes + fresh[i]!.size <= t.maxBytesPerBatch)
    ) {
      bytes += fresh[i]!.size;
      files.push(fresh[i++]!);
    }
    const m = await createManifest(table, appId, next, files);
    pending.push(m.seq);
    next++;
  }
  const rest = fresh.slice(i);
  return {
    committedSeq,
    pending,
    backlogFiles: rest.length,
    backlogBytes: rest.reduce((n, f) => n + f.size, 0),
  };
}
