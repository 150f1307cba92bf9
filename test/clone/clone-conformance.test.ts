/**
 * The shared Delta conformance corpus (Spark, delta-rs and kernel tables) as clone sources (issue 14,
 * evidence 1): every table is cloned into a fresh local target and the target's rows equal the corpus'
 * expected rows; a few (deletion vectors, column mapping, checkpoints) are cloned into S3 too. A table
 * that cannot be cloned must fail with the clear error listed in CANNOT_CLONE, never be skipped.
 *
 * Deletion vectors: dv-partitioned-with-checkpoint, log-replay-dv-key-cases (the .bin files travel).
 * Column mapping: table-with-columnmapping-mode-id, data-skipping-basic-stats-all-types-columnmapping-id
 * (mode id), data-reader-timestamp_ntz-name-mode (mode name): physical names and field ids travel in the
 * schema, the data files are copied as they are.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { isTributaryError } from '../../lake/errors';
import { Snapshot } from '../../lake/delta/snapshot';
import { dvStoreKey } from '../../lake/delta/deletion-vectors';
import { sortLines } from '../../lake/engine/canonical';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { cloneTable } from '../../lake/table/clone';
import { defaultEngine } from '../../lake/table/operations';
import { type BackendKind, openTestStore } from '../harness/stores';

/** ../shared beside the repo; from a git worktree under <root>/wt/<name>, the one beside <root>. */
const CORPUS =
  [
    path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance'),
    path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'delta-conformance'),
  ].find((d) => existsSync(path.join(d, 'tables'))) ??
  path.resolve(__dirname, '..', '..', '..', 'shared', 'delta-conformance');

/** Tables a deep clone refuses, with the error it gives. Empty means every table clones. */
const CANNOT_CLONE: Record<string, RegExp> = {};
const DELETION_VECTORS = ['dv-partitioned-with-checkpoint', 'log-replay-dv-key-cases'];
const COLUMN_MAPPING = [
  'table-with-columnmapping-mode-id',
  'data-skipping-basic-stats-all-types-columnmapping-id',
  'data-reader-timestamp_ntz-name-mode',
];
/** Also cloned into S3 (moto). */
const TO_S3 = [...DELETION_VECTORS, ...COLUMN_MAPPING, 'multi-part-checkpoint', 'v2-checkpoint-json'];

const expectedRows = (name: string) =>
  sortLines(
    readFileSync(path.join(CORPUS, 'expected', `${name}.jsonl`), 'utf8')
      .split('\n')
      .filter(Boolean),
  );
const rowsOf = async (s: ObjectStore) =>
  sortLines((await scanRows(s, await Snapshot.load(s, defaultEngine))).map((r) => JSON.stringify(r)));

if (!existsSync(path.join(CORPUS, 'tables'))) {
  test('conformance corpus is present', () => {
    throw new Error(`Delta conformance corpus not found at ${CORPUS}`);
  });
} else {
  const tables = readdirSync(path.join(CORPUS, 'tables')).sort();
  test('the corpus has the deletion-vector and column-mapping tables named here', () => {
    for (const t of [...DELETION_VECTORS, ...COLUMN_MAPPING, ...TO_S3]) expect(tables).toContain(t);
  });

  const cases: [string, BackendKind][] = [
    ...tables.map((t) => [t, 'local'] as [string, BackendKind]),
    ...TO_S3.map((t) => [t, 's3'] as [string, BackendKind]),
  ];
  describe.each(cases)('clone conformance table %s → %s', (name, kind) => {
    test('target rows equal the expected rows', async () => {
      const source = await openStore(`file://${path.join(CORPUS, 'tables', name)}`);
      const target = await openTestStore(kind, 'clone');
      try {
        const refused = CANNOT_CLONE[name];
        if (refused) {
          const e = await cloneTable(source, target).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(isTributaryError(e) ? e.message : String(e)).toMatch(refused);
          return;
        }
        const src = await Snapshot.load(source, defaultEngine);
        const r = await cloneTable(source, target);
        expect(r.kind).toBe('committed');
        expect(r.sourceVersion).toBe(src.version);
        expect(r.metrics.sourceNumOfFiles).toBe(src.files.length);
        expect(await rowsOf(target)).toEqual(expectedRows(name));
        const tgt = await Snapshot.load(target, defaultEngine);
        expect(tgt.protocol.minReaderVersion).toBe(src.protocol.minReaderVersion);
        expect([...(tgt.protocol.readerFeatures ?? [])].sort()).toEqual(
          [...(src.protocol.readerFeatures ?? [])].sort(),
        );
        expect(tgt.schema).toEqual(src.schema);
        expect(tgt.columnMappingMode).toBe(src.columnMappingMode);
        if (COLUMN_MAPPING.includes(name)) expect(tgt.columnMappingMode).not.toBe('none');
        if (DELETION_VECTORS.includes(name)) {
          const dvs = tgt.files.filter((f) => f.deletionVector);
          expect(dvs.length).toBeGreaterThan(0);
          for (const f of dvs)
            if (f.deletionVector!.storageType === 'u')
              await expect(target.head(dvStoreKey(f.deletionVector!, target.url))).resolves.toBeTruthy();
        }
        expect(await cloneTable(source, target)).toMatchObject({ kind: 'upToDate', bytesTransferred: 0 });
      } finally {
        await target.cleanup();
        await source.close();
      }
    });
  });
}
