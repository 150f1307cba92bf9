/**
 * A local store follows a symbolic link only while it stays inside the store root: a data file linked to a file
 * outside, or a directory linked elsewhere, is refused (BAD_INPUT, naming the key and where it leads) by reads,
 * writes, deletes and listings, and nothing outside is read, created or removed.
 */
import { existsSync, mkdtempSync, promises as fs, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isTributaryError } from '../../lake/errors';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { cli } from '../harness/cli';

async function refusal(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    const r = await fn();
    if (r && typeof (r as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
      for await (const x of r as AsyncIterable<unknown>) void x;
    else if (r instanceof Readable) for await (const x of r) void x;
  } catch (e) {
    return isTributaryError(e)
      ? { code: e.code, message: e.message }
      : { code: String(e), message: String(e) };
  }
  return { code: 'accepted', message: '' };
}

const OUTSIDE = /resolves through a symbolic link to .*, outside the store root .*: refused/;

async function keys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const m of store.list(prefix)) out.push(m.key);
  return out;
}

describe('local store and symbolic links', () => {
  let base: string;
  let outside: string;
  let n = 0;
  /** A fresh store root under `base`. */
  const freshRoot = async () => {
    const root = path.join(base, `root-${n++}`);
    await fs.mkdir(root, { recursive: true });
    return { root, store: await openStore(`file://${root}`) };
  };

  beforeAll(async () => {
    base = mkdtempSync(path.join(tmpdir(), 'tributary-symlinks-'));
    outside = path.join(base, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'SECRET');
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  afterEach(() => {
    // Nothing was ever created, changed or removed outside.
    expect(readdirSync(outside).sort()).toEqual(['secret.txt']);
  });

  test('a file linked to a file outside the root: refused by reads, copies and listings', async () => {
    const { root, store } = await freshRoot();
    await fs.mkdir(path.join(root, 'data'));
    await fs.mkdir(path.join(root, 'other'));
    await fs.writeFile(path.join(root, 'other', 'ok.json'), '{}');
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'data', 'part-0.parquet'));
    for (const [op, fn] of [
      ['get', () => store.get('data/part-0.parquet')],
      ['ranged get', () => store.get('data/part-0.parquet', { range: { start: 0, end: 3 } })],
      ['getStream', () => store.getStream('data/part-0.parquet')],
      ['head', () => store.head('data/part-0.parquet')],
      ['copy', () => store.copy('data/part-0.parquet', 'data/copy.parquet')],
      ['list all', () => store.list('')],
      ['list data/', () => store.list('data/')],
    ] as const) {
      const r = await refusal(fn);
      expect([op, r.code]).toEqual([op, 'BAD_INPUT']);
      expect(r.message).toMatch(OUTSIDE);
      expect(r.message).toContain('data/part-0.parquet');
      expect(r.message).not.toContain('SECRET');
    }
    expect(existsSync(path.join(root, 'data', 'copy.parquet'))).toBe(false);
    // Other subtrees list as before.
    expect(await keys(store, 'other/')).toEqual(['other/ok.json']);
    // Overwriting or deleting the link itself never touches its target.
    await store.put('data/part-0.parquet', 'mine');
    expect(Buffer.from(await store.get('data/part-0.parquet')).toString()).toBe('mine');
    await store.delete('data/part-0.parquet');
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('SECRET');
  });

  test('a directory linked outside the root: refused by writes, deletes and listings', async () => {
    const { root, store } = await freshRoot();
    await fs.symlink(outside, path.join(root, 'linked'));
    const src = path.join(base, 'upload.bin');
    await fs.writeFile(src, 'x');
    for (const [op, fn] of [
      ['put', () => store.put('linked/new.json', 'x')],
      ['put deeper', () => store.put('linked/sub/deep.json', 'x')],
      ['putIfAbsent', () => store.putIfAbsent('linked/new.json', 'x')],
      ['putStream', () => store.putStream('linked/new.json', Readable.from([Buffer.from('x')]))],
      ['putFile', () => store.putFile('linked/new.json', src)],
      ['copy into', () => store.copy('linked/secret.txt', 'linked/new.json')],
      ['delete', () => store.delete('linked/secret.txt')],
      ['deleteMany', () => store.deleteMany(['linked/secret.txt'])],
      ['get', () => store.get('linked/secret.txt')],
      ['list', () => store.list('linked/')],
      ['list all', () => store.list('')],
    ] as const) {
      const r = await refusal(fn);
      expect([op, r.code]).toEqual([op, 'BAD_INPUT']);
      expect(r.message).toMatch(OUTSIDE);
    }
  });

  test('links that stay inside the root are followed; dangling links are not listed', async () => {
    const { root, store } = await freshRoot();
    await store.put('real/a.json', '{"a":1}');
    await fs.symlink(path.join(root, 'real', 'a.json'), path.join(root, 'alias.json'));
    await fs.symlink(path.join(root, 'real'), path.join(root, 'dir-alias'));
    await fs.symlink(path.join(root, 'missing.json'), path.join(root, 'dangling.json'));
    expect(Buffer.from(await store.get('alias.json')).toString()).toBe('{"a":1}');
    expect(Buffer.from(await store.get('dir-alias/a.json')).toString()).toBe('{"a":1}');
    expect(await keys(store)).toEqual(['alias.json', 'dir-alias/a.json', 'real/a.json']);
    await store.put('dir-alias/b.json', '{}');
    expect(existsSync(path.join(root, 'real', 'b.json'))).toBe(true);
    expect((await refusal(() => store.get('dangling.json'))).code).toBe('NOT_FOUND');
  });

  test('a directory linked back into its own ancestors is a loop: refused, not walked forever', async () => {
    const { root, store } = await freshRoot();
    await store.put('a/x.json', '{}');
    await fs.symlink(path.join(root, 'a'), path.join(root, 'a', 'loop'));
    const r = await refusal(() => store.list(''));
    expect(r.code).toBe('BAD_INPUT');
    expect(r.message).toMatch(/a\/loop is a symbolic link back into a directory that contains it/);
  });

  test('the store root itself may be a link (the operator chose it)', async () => {
    const { root } = await freshRoot();
    const link = path.join(base, `root-link-${n++}`);
    await fs.symlink(root, link);
    const store = await openStore(`file://${link}`);
    await store.put('a/b.json', '{}');
    expect(await keys(store)).toEqual(['a/b.json']);
    expect(existsSync(path.join(root, 'a', 'b.json'))).toBe(true);
  });

  test('table read of a local table whose data file links to another table is refused', async () => {
    const dir = path.join(base, `tables-${n++}`);
    await fs.mkdir(dir);
    const input = path.join(dir, 'in.jsonl');
    await fs.writeFile(input, '{"msg":"mine","n":1}\n');
    expect((await cli('table', 'append', `file://${dir}/t`, '--input', input)).code).toBe(0);
    await fs.writeFile(input, '{"msg":"SECRET-ROW","n":2}\n');
    expect((await cli('table', 'append', `file://${dir}/other`, '--input', input)).code).toBe(0);
    const parquet = (t: string) =>
      readdirSync(path.join(dir, t), { recursive: true, encoding: 'utf8' }).find((f) =>
        f.endsWith('.parquet'),
      )!;
    const mine = path.join(dir, 't', parquet('t'));
    await fs.rm(mine);
    await fs.symlink(path.join(dir, 'other', parquet('other')), mine);
    const r = await cli('table', 'read', `file://${dir}/t`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error \(BAD_INPUT\): .*\.parquet resolves through a symbolic link to .*outside the store root/,
    );
    expect(r.stdout).not.toContain('SECRET-ROW');
  });
});
