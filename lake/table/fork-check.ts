/**
 * The end-of-fork check of a live table fork (issue 15), over row keys (`_region`, `_source_file`,
 * `_source_line`): the keys of main ∪ fork equal the keys main held at the fork's base version plus every
 * row appended since (main's blind appends after the base, and the fork's own blind appends: egress routed
 * there); no key is in both tables or twice in one; no row of main matches the subset and every row of the
 * fork does. Computed in DuckDB as counts and set differences over the keys, read straight from the files.
 *
 * "Appended since" is read from the log: commits whose commitInfo says isBlindAppend (egress, plain
 * appends). A clone, a DELETE or an OPTIMIZE is not one, so rows they rewrite or copy are not counted twice.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TributaryError } from '../errors';
import type { AddFile, CommitInfo } from '../delta/actions';
import { readCommitRange } from '../delta/commits';
import type { DeltaEngine } from '../delta/engine';
import { dataFileKey } from '../delta/paths';
import { Snapshot } from '../delta/snapshot';
import { withConnection } from '../engine/duckdb';
import { withEngineErrors } from '../engine/errors';
import { materialize } from '../engine/local-files';
import { localFileSelect } from '../engine/scan';
import { toDuckDbSqlOver } from '../predicate';
import type { ObjectStore } from '../storage/object-store';
import { defaultEngine, latestSnapshot } from './latest';
import { bindPredicate } from './skipping';

export const FORK_KEY_COLUMNS = ['_region', '_source_file', '_source_line'] as const;

export interface ForkKeyCheck {
  verified: boolean;
  /** Versions read. */
  mainVersion: number;
  forkVersion: number;
  /** Main's version at the first clone: the keys main held before the fork. */
  baseVersion: number;
  /** Keys main held at baseVersion plus keys appended since (main's and the fork's own appends). */
  expectedKeys: number;
  mainRows: number;
  forkRows: number;
  /** Expected keys in neither table. */
  missingKeys: number;
  /** Keys in a table that were neither in main before nor appended since. */
  unexpectedKeys: number;
  inBoth: number;
  /** Rows whose key another row of the same table has. */
  duplicateKeys: number;
  /** Rows of main where the subset is TRUE. */
  mainMatchingSubset: number;
  /** Rows of the fork where the subset is not TRUE (FALSE or NULL). */
  forkNotMatchingSubset: number;
}

/** The key columns must be in the table's schema (a central table written by egress has them). */
export function ensureKeyColumns(snap: Snapshot, table: string): void {
  const names = new Set(snap.schema.fields.map((f) => f.name));
  const missing = FORK_KEY_COLUMNS.filter((c) => !names.has(c));
  if (missing.length)
    throw new TributaryError(
      'BAD_INPUT',
      `table ${table} has no ${missing.join(', ')} column(s): a fork is checked by the lineage keys (${FORK_KEY_COLUMNS.join(', ')}) that egress writes`,
    );
}

/** Adds of the blind-append commits from..to (inclusive) of a table. */
async function appendedFiles(store: ObjectStore, from: number, to: number): Promise<AddFile[]> {
  const out: AddFile[] = [];
  if (from > to) return out;
  for await (const c of readCommitRange(store, from, to)) {
    let info: CommitInfo | undefined;
    const adds: AddFile[] = [];
    for (const a of c.actions) {
      if ('commitInfo' in a) info = a.commitInfo;
      else if ('add' in a && a.add.dataChange !== false) adds.push(a.add);
    }
    if (info?.isBlindAppend === true && info.operation !== 'CLONE') out.push(...adds);
  }
  return out;
}

const keySql = FORK_KEY_COLUMNS.map((k) => `CAST(q."${k}" AS VARCHAR) AS "${k}"`).join(', ');

/** Inserts the keys of the files' rows (read in `snap`'s logical schema) into `into`, with extra columns. */
async function loadKeys(
  c: DuckDBConnection,
  store: ObjectStore,
  snap: Snapshot,
  files: readonly AddFile[],
  into: string,
  extra = '',
): Promise<void> {
  for (const add of files) {
    const local = await materialize(store, dataFileKey(add.path, store.url));
    try {
      const rel = await localFileSelect(c, store, snap, add, local.path);
      await c.run(`INSERT INTO ${into} SELECT ${keySql}${extra} FROM (${rel}) q`);
    } finally {
      await local.release();
    }
  }
}

const count = async (c: DuckDBConnection, sql: string): Promise<number> =>
  Number((await c.runAndReadAll(`SELECT (${sql}) AS n`)).getRowObjectsJS()[0]!.n);

export async function checkFork(
  main: ObjectStore,
  fork: ObjectStore,
  req: { subset: string; baseVersion: number; engine?: DeltaEngine },
): Promise<ForkKeyCheck> {
  const engine = req.engine ?? defaultEngine;
  const [mainSnap, forkSnap] = await Promise.all([
    latestSnapshot(main, engine),
    latestSnapshot(fork, engine),
  ]);
  const base = await Snapshot.load(main, engine, { version: req.baseVersion });
  for (const [s, url] of [
    [mainSnap, main.url],
    [forkSnap, fork.url],
  ] as const)
    ensureKeyColumns(s, url);
  const [mainAppended, forkAppended] = await Promise.all([
    appendedFiles(main, req.baseVersion + 1, mainSnap.version),
    appendedFiles(fork, 0, forkSnap.version),
  ]);
  const matchOn = (snap: Snapshot) =>
    `, (${toDuckDbSqlOver(bindPredicate(req.subset, snap), 'q')}) IS TRUE AS m`;
  const cols = FORK_KEY_COLUMNS.map((k) => `"${k}" VARCHAR`).join(', ');
  const keys = FORK_KEY_COLUMNS.map((k) => `"${k}"`).join(', ');
  return withEngineErrors(`cannot check the fork of ${main.url} into ${fork.url}`, () =>
    withConnection(async (c) => {
      for (const t of ['f_expected', 'f_main', 'f_fork']) await c.run(`DROP TABLE IF EXISTS ${t}`);
      await c.run(`CREATE TEMP TABLE f_expected (${cols})`);
      await c.run(`CREATE TEMP TABLE f_main (${cols}, m BOOLEAN)`);
      await c.run(`CREATE TEMP TABLE f_fork (${cols}, m BOOLEAN)`);
      try {
        await loadKeys(c, main, mainSnap, base.files, 'f_expected');
        await loadKeys(c, main, mainSnap, mainAppended, 'f_expected');
        await loadKeys(c, fork, forkSnap, forkAppended, 'f_expected');
        await loadKeys(c, main, mainSnap, mainSnap.files, 'f_main', matchOn(mainSnap));
        await loadKeys(c, fork, forkSnap, forkSnap.files, 'f_fork', matchOn(forkSnap));
        // Parenthesised: EXCEPT and UNION ALL bind left to right.
        const actual = `SELECT ${keys} FROM (SELECT ${keys} FROM f_main UNION ALL SELECT ${keys} FROM f_fork)`;
        const r: ForkKeyCheck = {
          verified: false,
          mainVersion: mainSnap.version,
          forkVersion: forkSnap.version,
          baseVersion: req.baseVersion,
          expectedKeys: await count(c, `SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM f_expected)`),
          mainRows: await count(c, 'SELECT count(*) FROM f_main'),
          forkRows: await count(c, 'SELECT count(*) FROM f_fork'),
          missingKeys: await count(
            c,
            `SELECT count(*) FROM (SELECT ${keys} FROM f_expected EXCEPT ${actual})`,
          ),
          unexpectedKeys: await count(
            c,
            `SELECT count(*) FROM (${actual} EXCEPT SELECT ${keys} FROM f_expected)`,
          ),
          inBoth: await count(
            c,
            `SELECT count(*) FROM (SELECT ${keys} FROM f_main INTERSECT SELECT ${keys} FROM f_fork)`,
          ),
          duplicateKeys: await count(
            c,
            `SELECT (SELECT count(*) FROM f_main) - (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM f_main))` +
              ` + (SELECT count(*) FROM f_fork) - (SELECT count(*) FROM (SELECT DISTINCT ${keys} FROM f_fork))`,
          ),
          mainMatchingSubset: await count(c, 'SELECT count(*) FROM f_main WHERE m'),
          forkNotMatchingSubset: await count(c, 'SELECT count(*) FROM f_fork WHERE NOT m'),
        };
        r.verified =
          r.missingKeys === 0 &&
          r.unexpectedKeys === 0 &&
          r.inBoth === 0 &&
          r.duplicateKeys === 0 &&
          r.mainMatchingSubset === 0 &&
          r.forkNotMatchingSubset === 0;
        return r;
      } finally {
        for (const t of ['f_expected', 'f_main', 'f_fork']) await c.run(`DROP TABLE IF EXISTS ${t}`);
      }
    }),
  );
}
