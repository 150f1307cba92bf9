/**
 * Reading the commits between two versions, in order, as a protocol operation: what an incremental reader
 * (egress today; clone and replica promotion next) walks instead of a snapshot. Each commit is parsed as
 * Delta's log defines it and its `protocol` action, if any, is checked: a table upgraded mid-range to a
 * reader feature Tributary does not support stops the walk at that version instead of being read wrongly.
 */
import { TributaryError, isTributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';
import { type Action, parseCommit } from './actions';
import { ensureReadSupported } from './features';
import { commitKey } from './log-path';

export interface CommitEntry {
  version: number;
  actions: Action[];
}

export interface CommitRangeOptions {
  /** Commits fetched ahead of the one being consumed (default 8): a range is read at store latency / 8. */
  readAhead?: number;
  /** Called with a version whose commit file is gone (log cleaned up); its error is thrown instead. */
  missing?: (version: number) => Error;
  /** Check each commit's protocol action (default true; a snapshot checks only its final protocol). */
  checkProtocol?: boolean;
}

/** The actions of one commit file. */
export async function readCommit(store: ObjectStore, key: string, table: string): Promise<Action[]> {
  const bytes = await store.get(key);
  return parseCommit(Buffer.from(bytes).toString('utf8'), `${table}/${key}`);
}

/**
 * Commits `from`..`to` (inclusive) of the table in `store`, ascending. A commit file that does not exist
 * (cleaned up by log retention, or not written yet) is INVALID_LOG, never skipped: a gap would lose data.
 */
export async function* readCommitRange(
  store: ObjectStore,
  from: number,
  to: number,
  opts: CommitRangeOptions = {},
): AsyncGenerator<CommitEntry> {
  const ahead = Math.max(1, opts.readAhead ?? 8);
  const read = (v: number): Promise<CommitEntry> =>
    readCommit(store, commitKey(v), store.url).then(
      (actions) => ({ version: v, actions }),
      (e: unknown) => {
        if (!isTributaryError(e, 'NOT_FOUND')) throw e;
        throw (
          opts.missing?.(v) ??
          new TributaryError(
            'INVALID_LOG',
            `table ${store.url} has no commit ${v} (the log was cleaned up before it was read)`,
            { cause: e, retryable: false },
          )
        );
      },
    );
  const window: Promise<CommitEntry>[] = [];
  let next = from;
  const fill = () => {
    while (next <= to && window.length < ahead) {
      const p = read(next++);
      p.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
      window.push(p);
    }
  };
  fill();
  while (window.length) {
    const entry = await window.shift()!;
    fill();
    if (opts.checkProtocol !== false)
      for (const a of entry.actions)
        if ('protocol' in a) ensureReadSupported(a.protocol, `${store.url} (version ${entry.version})`);
    yield entry;
  }
}
