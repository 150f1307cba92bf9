/**
 * readCommitRange (lake/delta/commits.ts): the commits between two versions in order, each parsed and its
 * protocol checked; a missing commit is an error, never a gap. Logs written by hand on the local store.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readCommitRange } from '../../lake/delta/commits';
import { isTributaryError } from '../../lake/errors';
import { openStore } from '../../lake/storage/open';

const root = mkdtempSync(path.join(tmpdir(), 'tributary-commit-range-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const v = (n: number) => `${String(n).padStart(20, '0')}.json`;
const add = (p: string) => ({
  add: { path: p, partitionValues: {}, size: 1, modificationTime: 0, dataChange: true },
});
const base = [
  { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
  {
    metaData: {
      id: 't',
      format: { provider: 'parquet', options: {} },
      schemaString: JSON.stringify({ type: 'struct', fields: [] }),
      partitionColumns: [],
      configuration: {},
    },
  },
];

function table(name: string, commits: Record<number, unknown[]>): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, '_delta_log'), { recursive: true });
  for (const [n, actions] of Object.entries(commits))
    writeFileSync(
      path.join(dir, '_delta_log', v(Number(n))),
      actions.map((a) => JSON.stringify(a)).join('\n') + '\n',
    );
  return `file://${dir}`;
}

async function collect(url: string, from: number, to: number, readAhead?: number) {
  const out: { version: number; adds: string[] }[] = [];
  for await (const c of readCommitRange(await openStore(url), from, to, { readAhead }))
    out.push({ version: c.version, adds: c.actions.flatMap((a) => ('add' in a ? [a.add.path] : [])) });
  return out;
}

test('versions from..to in order, whatever the read-ahead', async () => {
  const commits: Record<number, unknown[]> = { 0: base };
  for (let i = 1; i <= 40; i++) commits[i] = [add(`f${i}.parquet`)];
  const url = table('range', commits);
  const want = Array.from({ length: 30 }, (_, i) => ({ version: i + 5, adds: [`f${i + 5}.parquet`] }));
  for (const ahead of [1, 3, 8, 64]) expect(await collect(url, 5, 34, ahead)).toEqual(want);
  expect(await collect(url, 7, 6)).toEqual([]);
});

test('a missing commit fails the walk (INVALID_LOG) after the versions before it, never a gap', async () => {
  const url = table('gap', { 0: base, 1: [add('a.parquet')], 3: [add('c.parquet')] });
  const seen: number[] = [];
  const err = await (async () => {
    for await (const c of readCommitRange(await openStore(url), 1, 3)) seen.push(c.version);
  })().catch((e: unknown) => e);
  expect(seen).toEqual([1]);
  expect(isTributaryError(err, 'INVALID_LOG')).toBe(true);
  expect(String((err as Error).message)).toMatch(/has no commit 2 \(the log was cleaned up/);
});

test('a protocol upgrade to an unsupported reader feature stops the walk at that version', async () => {
  const url = table('upgrade', {
    0: base,
    1: [add('a.parquet')],
    2: [
      {
        protocol: {
          minReaderVersion: 3,
          minWriterVersion: 7,
          readerFeatures: ['noSuchFeature'],
          writerFeatures: [],
        },
      },
    ],
    3: [add('c.parquet')],
  });
  const seen: number[] = [];
  const err = await (async () => {
    for await (const c of readCommitRange(await openStore(url), 1, 3)) seen.push(c.version);
  })().catch((e: unknown) => e);
  expect(seen).toEqual([1]);
  expect(isTributaryError(err, 'PROTOCOL_UNSUPPORTED')).toBe(true);
  expect(String((err as Error).message)).toMatch(/version 2\).*noSuchFeature/);
});
