/** A table at one version: protocol, metadata, schema, active files, app transactions. */
import { TributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';
import {
  type Action,
  type AddFile,
  type CommitInfo,
  type DomainMetadata,
  type Metadata,
  type Protocol,
  type RemoveFile,
  type Txn,
  completeMetadata,
  parseAction,
  parseCommit,
} from './actions';
import type { DeltaEngine } from './engine';
import { ensureReadSupported } from './features';
import { LOG_DIR } from './log-path';
import {
  type CommitFile,
  type LogSegment,
  buildLogSegment,
  listCommits,
  listCommitsFrom,
} from './log-segment';
import { Replayer, fileKey } from './replay';
import { readCommitRange } from './commits';
import { type ColumnMappingMode, type StructType, parseSchema } from './schema';

export interface SnapshotOptions {
  /** Exact version (time travel). */
  version?: number;
  /** Latest version whose commit timestamp is ≤ this instant (time travel by timestamp). */
  timestamp?: Date;
}

export class Snapshot {
  private constructor(
    readonly table: string,
    readonly version: number,
    readonly protocol: Protocol,
    readonly metadata: Metadata,
    readonly schema: StructType,
    readonly files: readonly AddFile[],
    readonly tombstones: readonly RemoveFile[],
    readonly txns: ReadonlyMap<string, Txn>,
    readonly domains: ReadonlyMap<string, DomainMetadata>,
    readonly segment: LogSegment,
  ) {}

  get partitionColumns(): readonly string[] {
    return this.metadata.partitionColumns;
  }

  get columnMappingMode(): ColumnMappingMode {
    const m = this.metadata.configuration['delta.columnMapping.mode'] ?? 'none';
    return m === 'name' || m === 'id' ? m : 'none';
  }

  get config(): Readonly<Record<string, string>> {
    return this.metadata.configuration;
  }

  /** Latest `txn.version` recorded for an application id, if any (idempotent writers check this). */
  txnVersion(appId: string): number | undefined {
    return this.txns.get(appId)?.version;
  }

  get numRecords(): number | undefined {
    let n = 0;
    for (const f of this.files) {
      const r = statsNumRecords(f);
      if (r === undefined) return undefined;
      n += r - (f.deletionVector?.cardinality ?? 0);
    }
    return n;
  }

  static async load(store: ObjectStore, engine: DeltaEngine, opts: SnapshotOptions = {}): Promise<Snapshot> {
    const table = store.url;
    let version = opts.version;
    if (opts.timestamp) version = await versionAtTimestamp(store, opts.timestamp);
    const segment = await buildLogSegment(store, table, version);
    const r = new Replayer();
    // Newest first: commits descending, then the checkpoint.
    const commitActions = await readSegmentCommits(store, segment.commits);
    for (let i = commitActions.length - 1; i >= 0; i--) r.apply(commitActions[i]!);
    if (segment.checkpoint) r.apply(await readCheckpoint(store, engine, segment.checkpoint.keys), true);
    const s = r.state;
    if (!s.protocol)
      throw new TributaryError(
        'INVALID_LOG',
        `table ${table} v${segment.version}: no protocol action in the log`,
      );
    if (!s.metadata)
      throw new TributaryError(
        'INVALID_LOG',
        `table ${table} v${segment.version}: no metaData action in the log`,
      );
    ensureReadSupported(s.protocol, table);
    completeMetadata(s.metadata, `table ${table} v${segment.version}`);
    return new Snapshot(
      table,
      segment.version,
      s.protocol,
      s.metadata,
      parseSchema(s.metadata.schemaString),
      s.files,
      s.tombstones,
      s.txns,
      s.domains,
      segment,
    );
  }

  /**
   * The latest snapshot, built from this one by applying only the commits after it (oldest first: a
   * later action for a file key replaces an earlier one, the same reconciliation as replay). Writers that
   * commit often use this instead of reloading checkpoint + tail every time. Falls back to a full load
   * when the commits right after this version are no longer in the log.
   */
  async update(store: ObjectStore, engine: DeltaEngine): Promise<Snapshot> {
    const newer = await listCommitsFrom(store, this.version + 1);
    if (newer.length === 0) return this;
    if (newer[0]!.version !== this.version + 1 || newer.some((c, i) => c.version !== this.version + 1 + i))
      return Snapshot.load(store, engine);
    const batches = await readSegmentCommits(store, newer);
    const files = new Map(this.files.map((f) => [fileKey(f), f] as const));
    const tombstones = new Map(this.tombstones.map((f) => [fileKey(f), f] as const));
    const txns = new Map(this.txns);
    const domains = new Map(this.domains);
    let protocol = this.protocol;
    let metadata = this.metadata;
    for (const actions of batches) {
      for (const a of actions) {
        if ('add' in a) {
          const k = fileKey(a.add);
          files.set(k, a.add);
          tombstones.delete(k);
        } else if ('remove' in a) {
          const k = fileKey(a.remove);
          files.delete(k);
          tombstones.set(k, a.remove);
        } else if ('protocol' in a) protocol = a.protocol;
        else if ('metaData' in a) metadata = a.metaData;
        else if ('txn' in a) txns.set(a.txn.appId, a.txn);
        else if ('domainMetadata' in a) {
          if (a.domainMetadata.removed) domains.delete(a.domainMetadata.domain);
          else domains.set(a.domainMetadata.domain, a.domainMetadata);
        }
      }
    }
    const version = newer[newer.length - 1]!.version;
    ensureReadSupported(protocol, this.table);
    if (metadata !== this.metadata) completeMetadata(metadata, `table ${this.table} v${version}`);
    const segment: LogSegment = {
      version,
      checkpoint: this.segment.checkpoint,
      commits: [...this.segment.commits, ...newer],
    };
    const schema = metadata === this.metadata ? this.schema : parseSchema(metadata.schemaString);
    return new Snapshot(
      this.table,
      version,
      protocol,
      metadata,
      schema,
      [...files.values()],
      [...tombstones.values()],
      txns,
      domains,
      segment,
    );
  }
}

export function statsNumRecords(f: { stats?: string | null }): number | undefined {
  if (!f.stats) return undefined;
  try {
    const n = (JSON.parse(f.stats) as { numRecords?: unknown }).numRecords;
    return typeof n === 'number' ? n : undefined;
  } catch {
    return undefined;
  }
}

export { readCommit } from './commits';

/** The actions of contiguous commits, read through the one commit-range reader (bounded read-ahead). */
async function readSegmentCommits(store: ObjectStore, commits: readonly CommitFile[]): Promise<Action[][]> {
  const out: Action[][] = [];
  if (commits.length === 0) return out;
  // Only the final protocol decides whether a snapshot can be read (checked by the caller).
  for await (const c of readCommitRange(store, commits[0]!.version, commits[commits.length - 1]!.version, {
    readAhead: 16,
    checkProtocol: false,
  }))
    out.push(c.actions);
  return out;
}

/** Classic (single or multi-part) and v2 checkpoints, including v2 sidecar files. */
async function readCheckpoint(
  store: ObjectStore,
  engine: DeltaEngine,
  keys: readonly string[],
): Promise<Action[]> {
  const out: Action[] = [];
  for (const key of keys) {
    const rows = key.endsWith('.json')
      ? parseCommit(Buffer.from(await store.get(key)).toString('utf8'), `${store.url}/${key}`)
      : (await engine.parquet.readActions(store, key)).map((r, i) =>
          parseAction(r, `${store.url}/${key} row ${i}`),
        );
    for (const a of rows) {
      if (!a) continue;
      if ('sidecar' in a) {
        const sc = `${LOG_DIR}/_sidecars/${a.sidecar.path}`;
        const sideRows = await engine.parquet.readActions(
          store,
          a.sidecar.path.includes('/') ? a.sidecar.path : sc,
        );
        for (const [i, r] of sideRows.entries()) {
          const sa = parseAction(r, `${store.url}/${sc} row ${i}`);
          if (sa) out.push(sa);
        }
      } else out.push(a);
    }
  }
  return out;
}

/** Commit timestamps: file modification times made strictly increasing, as Delta does for time travel. */
export async function commitTimestamps(
  store: ObjectStore,
): Promise<{ version: number; timestamp: number; file: CommitFile }[]> {
  const commits = await listCommits(store);
  let prev = -Infinity;
  return commits.map((c) => {
    const ts = Math.max(c.lastModified.getTime(), prev + 1);
    prev = ts;
    return { version: c.version, timestamp: ts, file: c };
  });
}

async function versionAtTimestamp(store: ObjectStore, at: Date): Promise<number> {
  const ts = await commitTimestamps(store);
  const hit = ts.filter((t) => t.timestamp <= at.getTime()).pop();
  if (!hit)
    throw new TributaryError(
      'NOT_FOUND',
      `table ${store.url} has no version at or before ${at.toISOString()}` +
        (ts[0] ? ` (earliest commit ${new Date(ts[0].timestamp).toISOString()})` : ''),
    );
  return hit.version;
}

export type { CommitInfo };
