/**
 * Log replay (PROTOCOL.md "Action Reconciliation"): the newest action for a file key wins, so replay
 * newest-first and skip keys already seen. A file is keyed by (path, deletion-vector id).
 */
import type { Action, AddFile, DomainMetadata, Metadata, Protocol, RemoveFile, Txn } from './actions';
import { dvUniqueId } from './deletion-vectors';

export interface ReplayState {
  protocol?: Protocol;
  metadata?: Metadata;
  /** Active files in no particular order. */
  files: AddFile[];
  /** Remove actions still in the reconciled state (tombstones), for vacuum. */
  tombstones: RemoveFile[];
  txns: Map<string, Txn>;
  domains: Map<string, DomainMetadata>;
}

export const fileKey = (f: { path: string; deletionVector?: AddFile['deletionVector'] }): string =>
  f.deletionVector ? `${f.path}\u0000${dvUniqueId(f.deletionVector)}` : f.path;

export class Replayer {
  private readonly seen = new Set<string>();
  readonly state: ReplayState = { files: [], tombstones: [], txns: new Map(), domains: new Map() };
  private readonly seenDomains = new Set<string>();

  /**
   * Feed one commit's (or checkpoint's) actions; call newest first. Within one commit a path is never both
   * added and removed with the same key (protocol), so order inside a batch does not matter.
   */
  apply(actions: readonly Action[], fromCheckpoint = false): void {
    const s = this.state;
    const batchSeen: string[] = [];
    for (const a of actions) {
      if ('add' in a) {
        const k = fileKey(a.add);
        if (!this.seen.has(k)) {
          s.files.push(a.add);
          batchSeen.push(k);
        }
      } else if ('remove' in a) {
        const k = fileKey(a.remove);
        if (!this.seen.has(k)) {
          s.tombstones.push(a.remove);
          batchSeen.push(k);
        }
      } else if ('protocol' in a) s.protocol ??= a.protocol;
      else if ('metaData' in a) s.metadata ??= a.metaData;
      else if ('txn' in a) {
        if (!s.txns.has(a.txn.appId)) s.txns.set(a.txn.appId, a.txn);
      } else if ('domainMetadata' in a) {
        const d = a.domainMetadata;
        if (!this.seenDomains.has(d.domain)) {
          this.seenDomains.add(d.domain);
          if (!d.removed) s.domains.set(d.domain, d);
        }
      }
    }
    for (const k of batchSeen) this.seen.add(k);
    void fromCheckpoint;
  }
}
