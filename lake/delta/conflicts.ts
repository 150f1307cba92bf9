/**
 * Conflict rules for optimistic concurrency (delta-io/delta ConflictChecker, delta-rs conflict_checker.rs),
 * at the WriteSerializable isolation level. Each check is a small named function; the first that fails
 * names the conflict.
 */
import type { Action, AddFile, CommitInfo, RemoveFile } from './actions';
import { fileKey } from './replay';

export type ConflictKind =
  | 'ProtocolChanged'
  | 'MetadataChanged'
  | 'ConcurrentAppend'
  | 'ConcurrentDeleteRead'
  | 'ConcurrentDeleteDelete'
  | 'ConcurrentTransaction';

/** What my transaction read and intends, for checking against commits that won the race. */
export interface TxnIntent {
  /** Blind append: wrote files without reading the table. */
  isBlindAppend: boolean;
  /** Files (by fileKey) my transaction read and based its writes on; `'all'` = the whole table. */
  readFiles: ReadonlySet<string> | 'all';
  /** Whether I read the table at all (a blind append did not). */
  readsTable: boolean;
  /** Files I remove. */
  removes: ReadonlySet<string>;
  /** My actions change protocol or metadata. */
  changesMetadata: boolean;
  /** App transaction ids my commit carries. */
  appIds: ReadonlySet<string>;
  /** My read predicate applied to a file (from its partition values and stats); undefined = whole table. */
  readFilter?: (add: AddFile) => boolean;
}

export interface Conflict {
  kind: ConflictKind;
  version: number;
  detail: string;
}

export function intentOf(
  actions: readonly Action[],
  opts: {
    isBlindAppend: boolean;
    readFiles: ReadonlySet<string> | 'all';
    readFilter?: (add: AddFile) => boolean;
  },
): TxnIntent {
  const removes = new Set<string>();
  const appIds = new Set<string>();
  let changesMetadata = false;
  for (const a of actions) {
    if ('remove' in a) removes.add(fileKey(a.remove));
    else if ('txn' in a) appIds.add(a.txn.appId);
    else if ('metaData' in a || 'protocol' in a) changesMetadata = true;
  }
  return {
    isBlindAppend: opts.isBlindAppend,
    readFiles: opts.readFiles,
    readsTable: !opts.isBlindAppend,
    removes,
    changesMetadata,
    appIds,
    readFilter: opts.readFilter,
  };
}

/** Checks one winning commit against my intent; returns the conflict or undefined. */
export function checkConflict(
  me: TxnIntent,
  winner: readonly Action[],
  version: number,
): Conflict | undefined {
  const adds: AddFile[] = [];
  const removes: RemoveFile[] = [];
  let info: CommitInfo | undefined;
  for (const a of winner) {
    if ('protocol' in a)
      return { kind: 'ProtocolChanged', version, detail: 'the protocol was changed concurrently' };
    if ('metaData' in a)
      return {
        kind: 'MetadataChanged',
        version,
        detail: 'the table metadata (schema or properties) was changed concurrently',
      };
    if ('add' in a) adds.push(a.add);
    else if ('remove' in a) removes.push(a.remove);
    else if ('commitInfo' in a) info = a.commitInfo;
    else if ('txn' in a && me.appIds.has(a.txn.appId))
      return {
        kind: 'ConcurrentTransaction',
        version,
        detail: `application ${a.txn.appId} committed concurrently`,
      };
  }
  // Added files vs my reads: under WriteSerializable, blind appends of others never conflict (unless I change metadata).
  const winnerBlind = info?.isBlindAppend === true;
  // Only added files my read predicate could match count (delta ConflictChecker: "files matching my read predicate").
  const relevant = adds.filter((f) => f.dataChange && (me.readFilter?.(f) ?? true));
  if (me.readsTable && relevant.length > 0 && (!winnerBlind || me.changesMetadata))
    return {
      kind: 'ConcurrentAppend',
      version,
      detail: `${relevant.length} file(s) matching what this transaction read were added concurrently (e.g. ${relevant[0]!.path})`,
    };
  for (const r of removes) {
    const k = fileKey(r);
    if (me.removes.has(k))
      return { kind: 'ConcurrentDeleteDelete', version, detail: `file ${r.path} was removed concurrently` };
    if (me.readsTable && r.dataChange && (me.readFiles === 'all' || me.readFiles.has(k)))
      return {
        kind: 'ConcurrentDeleteRead',
        version,
        detail: `file ${r.path}, which this transaction read, was removed concurrently`,
      };
  }
  return undefined;
}
