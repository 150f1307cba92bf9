/**
 * The egress isolation activity on its own (no Temporal): the last-resort round isolates every source file
 * of the batch, which then commits with nothing but its quarantine records, once; a failure that even a
 * trial run without any source file shows is refused (it is not in the data), so the workflow fails with
 * the reason instead of looping.
 */
import { egressBatch } from '../../activities/egress/batch';
import { isolateEgressBatch } from '../../activities/egress/isolate';
import { type EgressTarget, egressAppIdFor, egressQuarantineUrlOf } from '../../shapes/targets';
import { parseConfig } from '../../config/load';
import { egressTargetOf } from '../../config/targets';
import { isTributaryError } from '../../lake/errors';
import { withFaults } from '../../lake/storage/faults';
import { openStore } from '../../lake/storage/open';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../../lake/table/operations';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { commitKey } from '../../lake/delta/log-path';
import { readCommit } from '../../lake/delta/snapshot';
import { tableRows } from '../ingest/helpers';
import { regionalCommitSql } from './load-rows';

const deps = { open: (url: string) => openStore(url, emulatorOptions()) };

async function setup(commits: number, kind: BackendKind = 'local') {
  const loc = await createTestLocation(kind);
  const target: EgressTarget = {
    region: 'iso',
    source: `${loc.url}/regional`,
    central: `${loc.url}/central`,
    filter: 'egress_approved = true',
    onChangeCommits: 'fail',
    maxVersionsPerBatch: 10,
  };
  const source = await deps.open(target.source);
  for (let c = 0; c < commits; c++)
    await writeTable(source, { sourceSql: regionalCommitSql('iso', c, 6), mergeSchema: true });
  return { loc, target, source };
}

test('the last-resort round isolates every file; the batch commits its quarantine records only, once', async () => {
  const { loc, target } = await setup(3);
  try {
    const iso = await isolateEgressBatch(deps, { target, failure: 'boom', wholeBatch: true });
    expect(iso.upTo).toBe(2);
    expect(iso.isolated.map((x) => x.sourceVersion)).toEqual([0, 1, 2]);
    expect(
      iso.isolated.every((x) => x.reason === 'boom (the batch failed after every isolation round)'),
    ).toBe(true);
    const r = await egressBatch(deps, target, { isolated: iso.isolated, upTo: iso.upTo });
    expect(r).toMatchObject({ sourceVersion: 2, rowsEgressed: 0, filesRead: 0, caughtUp: true });
    expect(r.quarantined).toHaveLength(3);
    const central = await openStore(target.central);
    expect((await loadSnapshotOrUndefined(central, defaultEngine))!.txnVersion(egressAppIdFor('iso'))).toBe(
      2,
    );
    const quarantine = await openStore(egressQuarantineUrlOf(target));
    expect(await tableRows(quarantine)).toHaveLength(3);
    // The same call again (a retry after its commit landed) records nothing twice.
    const again = await egressBatch(deps, target, { isolated: iso.isolated, upTo: iso.upTo });
    expect(again).toMatchObject({ caughtUp: true, rowsEgressed: 0 });
    expect(await tableRows(quarantine)).toHaveLength(3);
    expect(await tableRows(central)).toEqual([]);
  } finally {
    await loc.cleanup();
  }
});

test('a failure a trial run without any source file shows too is not isolated: refused with the reason', async () => {
  const { loc, target } = await setup(2);
  try {
    const bad = { ...target, columns: ['no_such_column'] };
    const e = await isolateEgressBatch(deps, { target: bad, failure: 'boom' }).catch((x: unknown) => x);
    expect(isTributaryError(e, 'INTERNAL')).toBe(true);
    expect((e as Error & { retryable: boolean }).retryable).toBe(false);
    expect(String((e as Error).message)).toMatch(
      /^egress iso: source versions 0\.\.1 cannot be isolated: a trial run without any source file fails too \(.*no_such_column.*\), so the failure is not in the data$/,
    );
    expect(await loadSnapshotOrUndefined(await openStore(egressQuarantineUrlOf(target)), defaultEngine)).toBe(
      undefined,
    );
  } finally {
    await loc.cleanup();
  }
});

test('config: maxDeterministicFailures and the egress quarantine reach the target, with defaults and limits', () => {
  const base = `regions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t" }\n`;
  const dflt = parseConfig(`${base}central:\n  table: "file:///c/"\n`, 'ok.yaml');
  const t = egressTargetOf(dflt, dflt.regions[0]!);
  expect(t.maxDeterministicFailures).toBe(3);
  expect(egressQuarantineUrlOf(t)).toBe('file:///c_egress_quarantine');
  const set = parseConfig(
    `${base}central:\n  table: "file:///c"\n  maxDeterministicFailures: 5\n  quarantine: "file:///q"\n`,
    'ok.yaml',
  );
  const t2 = egressTargetOf(set, set.regions[0]!);
  expect(t2.maxDeterministicFailures).toBe(5);
  expect(egressQuarantineUrlOf(t2)).toBe('file:///q');
  expect(() =>
    parseConfig(`${base}central:\n  table: "file:///c"\n  maxDeterministicFailures: 0\n`, 'bad.yaml'),
  ).toThrow(/bad\.yaml:\d+.*central\.maxDeterministicFailures/);
  expect(() =>
    parseConfig(`${base}central:\n  table: "file:///c"\n  quarantine: "file:///c/"\n`, 'bad.yaml'),
  ).toThrow(/bad\.yaml:\d+.*central\.quarantine.*a table of its own/);
});

test.each(['local', 's3'] as BackendKind[])(
  "%s: trial runs find the corrupt file; its reason names the table's file, not a scratch copy",
  async (kind) => {
    const { loc, target, source } = await setup(3, kind);
    try {
      const [add] = (await readCommit(source, commitKey(1), source.url)).flatMap((a) =>
        'add' in a ? [a.add] : [],
      );
      await source.put(add!.path, Buffer.alloc(1000, 'garbage '));
      const first = await egressBatch(deps, target).catch((e: unknown) => e);
      expect(isTributaryError(first, 'INTERNAL')).toBe(true);
      const iso = await isolateEgressBatch(deps, { target, failure: String(first) });
      expect(iso.isolated).toEqual([
        {
          sourceVersion: 1,
          path: add!.path,
          reason: `source file ${add!.path} (source version 1) cannot be read as Parquet: Invalid Input Error: No magic bytes found at end of file '${add!.path}'`,
        },
      ]);
      const r = await egressBatch(deps, target, { isolated: iso.isolated, upTo: iso.upTo });
      expect(r).toMatchObject({ sourceVersion: 2, filesRead: 2, caughtUp: true });
      expect(r.rowsEgressed).toBeGreaterThan(0);
      const records = await tableRows(await deps.open(egressQuarantineUrlOf(target)));
      expect(records).toEqual([expect.objectContaining({ source_file: add!.path, source_rows: '6' })]);
    } finally {
      await loc.cleanup();
    }
  },
);

test('a source data file missing from storage fails egress loudly (not retried, not isolated: its rows may live on in a compacted file)', async () => {
  const { loc, target, source } = await setup(2);
  try {
    const [add] = (await readCommit(source, commitKey(0), source.url)).flatMap((a) =>
      'add' in a ? [a.add] : [],
    );
    await source.delete(add!.path);
    const first = await egressBatch(deps, target).catch((e: unknown) => e);
    expect(isTributaryError(first, 'NOT_FOUND')).toBe(true);
    expect((first as { retryable: boolean }).retryable).toBe(false);
    expect(String((first as Error).message)).toContain(add!.path);
  } finally {
    await loc.cleanup();
  }
});

test('an attempt whose central commit failed after recording its poison, re-isolated with more files: each is recorded once', async () => {
  const { loc, target, source } = await setup(3);
  try {
    const pathOf = async (v: number) =>
      (await readCommit(source, commitKey(v), source.url)).flatMap((a) =>
        'add' in a ? [a.add.path] : [],
      )[0]!;
    const a = { sourceVersion: 0, path: await pathOf(0), reason: 'a fails' };
    const b = { sourceVersion: 1, path: await pathOf(1), reason: 'b fails' };
    // The first attempt records [a], then central refuses its commit (for good).
    const central = await deps.open(target.central);
    const refusing = withFaults(central, [
      { ops: ['putIfAbsent'], key: '_delta_log/', probability: 1, error: () => new Error('commit refused') },
    ]);
    const refusingDeps = { open: async (u: string) => (u === target.central ? refusing : deps.open(u)) };
    await expect(egressBatch(refusingDeps, target, { isolated: [a], upTo: 2 })).rejects.toThrow(
      /commit refused/,
    );
    const quarantine = await deps.open(egressQuarantineUrlOf(target));
    expect((await tableRows(quarantine)).map((r) => r.reason)).toEqual(['a fails']);
    // The next round isolates b as well: b is recorded too, a not again.
    const r = await egressBatch(deps, target, { isolated: [a, b], upTo: 2 });
    expect(r).toMatchObject({ sourceVersion: 2, filesRead: 1 });
    const recorded = async () => (await tableRows(quarantine)).map((x) => x.reason).sort();
    expect(await recorded()).toEqual(['a fails', 'b fails']);
    await egressBatch(deps, target, { isolated: [a, b], upTo: 2 });
    expect(await recorded()).toEqual(['a fails', 'b fails']);
    expect(new Set((await tableRows(central)).map((x) => x._source_file))).toEqual(
      new Set(['logs/part-0002.jsonl']),
    );
  } finally {
    await loc.cleanup();
  }
});
