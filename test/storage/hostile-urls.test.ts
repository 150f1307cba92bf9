/**
 * Hostile storage URLs and keys, run against every backend (local files, S3 on moto, Azure on Azurite, GCS on
 * fake-gcs-server): each one is either refused with a message naming the problem, or (for the canonical forms
 * that look odd but are fine) used without reading or writing anything outside the URL's own root. "Outside" is
 * checked by listing a victim location on the same backend (another directory, bucket or container) and the own
 * location's whole bucket before and after.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../config/load';
import { storeOptionsOf } from '../../config/targets';
import { storeOptionsFromEnv } from '../../cli/store-options';
import { isTributaryError } from '../../lake/errors';
import { checkKey, checkListPrefix } from '../../lake/storage/keys';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { formatStoreUrl, parseStoreUrl } from '../../lake/storage/url';
import { cliEnv } from '../harness/cli';
import { requireService } from '../harness/env';
import { ALL_BACKENDS, type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isTributaryError(e)) return { code: e.code, message: e.message };
    return { code: `not a TributaryError: ${String(e)}`, message: String(e) };
  }
  return { code: 'accepted', message: '' };
}

/** The URL of the bucket, container or directory a location is in (its root without the prefix). */
function containerUrlOf(url: string): string {
  const loc = parseStoreUrl(url);
  return loc.kind === 'local' ? url : formatStoreUrl({ ...loc, prefix: '' });
}

/** Every key (with its size) under a URL: what must not change. */
async function snapshot(kind: BackendKind, url: string): Promise<string[]> {
  if (kind === 'local') {
    const out: string[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      for (const d of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const p = path.join(dir, d.name);
        if (d.isDirectory()) await walk(p, `${rel}${d.name}/`);
        else out.push(`${rel}${d.name} ${(await fs.lstat(p)).size}`);
      }
    };
    await walk(fileURLToPath(url), '');
    return out.sort();
  }
  const store = await openStore(url, emulatorOptions([kind]));
  try {
    const out: string[] = [];
    for await (const m of store.list('')) out.push(`${m.key} ${m.size}`);
    return out;
  } finally {
    await store.close();
  }
}

/**
 * URLs built from the own location `own` (no prefix) and the victim's name `v` (its directory's base name, its
 * bucket or its container): each must be refused, naming the problem.
 */
function refusedUrls(own: string, v: string): [string, RegExp][] {
  const withUser = own.replace('://', '://user:pw@');
  const withPort = own.replace(/^([a-z0-9]+:\/\/)([^/]*)/, (_m, s: string, host: string) =>
    s === 'file://' ? `${s}localhost:99` : `${s}${host}:99`,
  );
  const noSlashes = own.startsWith('file:') ? own.replace('file:///', 'file:') : own.replace('://', ':');
  return [
    [`${own}/x%2F..%2F..%2F${v}%2Fprobe`, /'\.\.' segment/],
    [`${own}/x/../../${v}/probe`, /'\.\.' segment/],
    [`${own}/x/%2e%2e/%2E%2E/${v}/probe`, /'\.\.' segment/],
    [`${own}/./probe`, /'\.' segment/],
    [`${own}/a/%2E/b`, /'\.' segment/],
    [`${own}//probe`, /empty segment|starts with '\/'/],
    [`${own}/a%2F%2Fb`, /empty segment/],
    [`${own}/a%00b`, /escaped control character/],
    [`${own}/a\u0000b`, /control character U\+0000/],
    [`${own}/a\nb`, /control character U\+000A/],
    [`${own}#/../../${v}`, /fragment/],
    [`${own}/p#frag`, /fragment/],
    [`${own}?prefix=../${v}`, /query string/],
    [`${own}/p?versionId=1`, /query string/],
    [`${own}/x%2`, /malformed percent-escape/],
    [`${own}/x\\..\\..\\${v}\\probe`, /backslash/],
    [`${own}/x%5C..%5C..%5C${v}%5Cprobe`, /backslash/],
    [`${withUser}/p`, own.startsWith('file:') ? /with a host/ : /credentials|password/],
    [`${withPort}/p`, own.startsWith('file:') ? /with a host/ : /port/],
    [`${noSlashes}/p`, own.startsWith('file:') ? /must be absolute/ : /expected/],
  ];
}

/**
 * Canonical forms that look like traversal but are not (a '%2F' written as '%252F' is a literal '%2F', a
 * '...' is not a dot segment): accepted, and everything stays under the prefix
 * shown, inside the own location.
 */
function acceptedUrls(own: string, v: string): [string, string][] {
  return [
    [`${own}/x%252F..%252F..%252F${v}%252Fprobe`, `x%2F..%2F..%2F${v}%2Fprobe`],
    [`${own}/.../..x/x..`, '.../..x/x..'],
    [`${own}/%2e%2e%2e/a`, '.../a'],
    [`${own}/a%20b/c%3Fd%23e`, 'a b/c?d#e'],
  ];
}

describe('hostile storage URLs: parsing', () => {
  test('the cases of issue 13 are refused, each naming the problem', () => {
    const cases: [string, RegExp][] = [
      ['az://devstoreaccount1/lake-westeurope/x%2F..%2F..%2Fraw-westeurope%2Fprobe', /'\.\.' segment/],
      ['gs://b/a%2F..%2F..%2Fx', /'\.\.' segment/],
      ['gs://bucket#frag/p', /fragment/],
      ['file:relative', /must be absolute/],
      ['file:///data/x/../../etc', /'\.\.' segment/],
      ['s3://bucket/../../other', /'\.\.' segment/],
      ['s3://bucket/p?x=1', /query string/],
      ['s3://user:secret@bucket/p', /credentials/],
      ['s3://bucket/a\u0000b', /control character U\+0000/],
      ['s3://bucket/a%00b', /escaped control character/],
      ['/data/x/../../etc', /'\.\.' segment/],
      ['abfss://c:pw@acc.dfs.core.windows.net/p', /password/],
      ['abfss://c@acc.dfs.core.windows.net/a/../b', /'\.\.' segment/],
      ['file://otherhost/etc', /with a host/],
      ['s3://bucket:443/p', /port/],
    ];
    for (const [url, problem] of cases) {
      let err: unknown;
      try {
        parseStoreUrl(url);
      } catch (e) {
        err = e;
      }
      expect([url, isTributaryError(err, 'CONFIG_INVALID')]).toEqual([url, true]);
      expect((err as Error).message).toMatch(problem);
      // The refusal never repeats credentials.
      expect((err as Error).message).not.toMatch(/secret|:pw@/);
    }
  });

  test('canonical URLs parse as before and format back to themselves', () => {
    for (const url of [
      's3://bucket',
      's3://bucket/a/b',
      'gs://bucket/a/b',
      'az://acct/container/a/b',
      'file:///tmp/x',
      's3://bucket/a%25b/c%23d%3Fe',
    ]) {
      expect(formatStoreUrl(parseStoreUrl(url))).toBe(url);
    }
    expect(parseStoreUrl('s3://bucket/a/b/')).toEqual({ kind: 's3', bucket: 'bucket', prefix: 'a/b' });
    expect(parseStoreUrl('file:/tmp/x')).toEqual({ kind: 'local', root: '/tmp/x' });
    expect(parseStoreUrl('file://localhost/tmp/x')).toEqual({ kind: 'local', root: '/tmp/x' });
    expect(parseStoreUrl('abfss://c@acct.dfs.core.windows.net/p/q')).toEqual({
      kind: 'azure',
      account: 'acct',
      container: 'c',
      prefix: 'p/q',
    });
  });

  test('keys and list prefixes are checked the same way, on every backend', () => {
    for (const key of ['', '../x', 'a/../../x', 'a/./b', 'a//b', '/a', 'a/', 'a\u0000b', 'a\rb', 'a\\b']) {
      expect(() => checkKey(key)).toThrow(/invalid object key/);
    }
    for (const p of ['../', '../x', 'a/../', 'a/./b', '/a', 'a//b', 'a\u0000']) {
      expect(() => checkListPrefix(p)).toThrow(/invalid list prefix/);
    }
    for (const p of ['', 'a', 'a/', '_delta_log/0000', 'a/..x', 'a/.']) expect(checkListPrefix(p)).toBe(p);
  });
});

describe('storage endpoints must be http(s) URLs', () => {
  const yaml = (endpoint: string) =>
    [
      'storage:',
      '  gcs:',
      `    endpoint: ${JSON.stringify(endpoint)}`,
      'regions:',
      '  - name: r1',
      '    cloud: local',
      '    raw: file:///tmp/raw',
      '    table: file:///tmp/table',
    ].join('\n');

  test('config settings', () => {
    for (const [endpoint, problem] of [
      ['file:///etc', /must be an http:\/\/ or https:\/\/ URL, not file:/],
      ['ftp://host/x', /not ftp:/],
      ['127.0.0.1:4443', /not a URL|not 127/],
      ['http://host/#x', /fragment/],
    ] as const) {
      expect(() => parseConfig(yaml(endpoint), 'c.yaml')).toThrow(problem);
      expect(() => parseConfig(yaml(endpoint), 'c.yaml')).toThrow(/c\.yaml:3: storage\.gcs\.endpoint/);
    }
    expect(parseConfig(yaml('http://127.0.0.1:4443'), 'c.yaml').storage.gcs?.endpoint).toBe(
      'http://127.0.0.1:4443',
    );
    const withSecret = refusal(() => parseConfig(yaml('ftp://user:PW@h/?k=Q')));
    return withSecret.then((r) => expect(r.message).not.toMatch(/PW|k=Q|user/));
  });

  test('env overrides (config and CLI) and store options', async () => {
    const config = parseConfig(yaml('http://127.0.0.1:4443'));
    for (const name of ['TRIBUTARY_S3_ENDPOINT', 'TRIBUTARY_AZURE_ENDPOINT', 'TRIBUTARY_GCS_ENDPOINT']) {
      const env = { [name]: 'file:///etc' };
      expect(() => storeOptionsOf(config, env)).toThrow(new RegExp(`invalid ${name} "file:///etc"`));
      expect(() => storeOptionsFromEnv(env)).toThrow(new RegExp(`invalid ${name} .*not file:`));
    }
    expect(storeOptionsOf(config, { TRIBUTARY_GCS_ENDPOINT: '' }).gcs?.endpoint).toBe(
      'http://127.0.0.1:4443',
    );
    for (const [url, opts] of [
      ['gs://b/p', { gcs: { endpoint: 'file:///etc' } }],
      ['s3://b/p', { s3: { endpoint: 'javascript:alert(1)' } }],
      ['az://acct/cont/p', { azure: { endpoint: 'ftp://x' } }],
    ] as const) {
      const r = await refusal(openStore(url, opts));
      expect(r.code).toBe('CONFIG_INVALID');
      expect(r.message).toMatch(/endpoint .* must be an http:\/\/ or https:\/\/ URL/);
    }
  });

  test('through the CLI', async () => {
    const r = await cliEnv({ TRIBUTARY_GCS_ENDPOINT: 'file:///etc' }, 'table', 'read', 'gs://b/t');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CONFIG_INVALID.*TRIBUTARY_GCS_ENDPOINT.*http:\/\/ or https:\/\//);
  });
});

describe.each(ALL_BACKENDS.map((b) => [b]))('hostile URLs and keys against %s', (kind: BackendKind) => {
  let own: { url: string; cleanup: () => Promise<void> };
  let victim: { url: string; cleanup: () => Promise<void> };
  let victimName: string;
  let victimBefore: string[];
  const opts = () => emulatorOptions([kind]);

  beforeAll(async () => {
    own = await createTestLocation(kind);
    victim = await createTestLocation(kind);
    victimName =
      kind === 'local'
        ? path.basename(fileURLToPath(victim.url))
        : victim.url.split('/').filter(Boolean).pop()!;
    const v = await openStore(victim.url, opts());
    await v.put('sentinel.json', '{"victim":true}');
    await v.put('probe/keep.json', '{"victim":true}');
    await v.close();
    victimBefore = await snapshot(kind, victim.url);
    expect(victimBefore).toHaveLength(2);
  });
  afterAll(async () => {
    await own?.cleanup();
    await victim?.cleanup();
  });
  afterEach(async () => {
    expect(await snapshot(kind, victim.url)).toEqual(victimBefore);
  });

  test('refused URLs name the problem and touch nothing', async () => {
    const ownBefore = await snapshot(kind, containerUrlOf(own.url));
    for (const [url, problem] of refusedUrls(own.url, victimName)) {
      const r = await refusal(openStore(url, opts()));
      expect([url, r.code]).toEqual([url, 'CONFIG_INVALID']);
      expect([url, r.message]).toEqual([url, expect.stringMatching(problem)]);
      expect(r.message).not.toMatch(/:pw@/);
    }
    expect(await snapshot(kind, containerUrlOf(own.url))).toEqual(ownBefore);
  });

  test('odd but canonical URLs stay inside their own root', async () => {
    for (const [url, prefix] of acceptedUrls(own.url, victimName)) {
      expect(parseStoreUrl(url)).toMatchObject(kind === 'local' ? {} : { prefix });
      const store = await openStore(url, opts());
      try {
        await store.put('probe.json', '{"n":1}');
        await store.putIfAbsent('probe-2.json', '{"n":2}');
        await store.putStream('probe-3.json', Readable.from([Buffer.from('{"n":3}')]));
        await store.copy('probe.json', 'probe-4.json');
        const keys: string[] = [];
        for await (const m of store.list('')) keys.push(m.key);
        expect([url, keys]).toEqual([url, ['probe-2.json', 'probe-3.json', 'probe-4.json', 'probe.json']]);
        expect(Buffer.from(await store.get('probe-3.json')).toString()).toBe('{"n":3}');
        // Where they landed, seen from the bucket/container/directory itself.
        const all = await snapshot(kind, own.url);
        const expected = ['probe-2.json', 'probe-3.json', 'probe-4.json', 'probe.json'].map(
          (k) => `${prefix}/${k} 7`,
        );
        expect([url, all.filter((k) => k.startsWith(`${prefix}/`))]).toEqual([url, expected.sort()]);
        await store.deleteMany(['probe.json', 'probe-2.json', 'probe-3.json', 'probe-4.json']);
      } finally {
        await store.close();
      }
    }
  });

  test('hostile keys and list prefixes are refused by every operation', async () => {
    const store: ObjectStore = await openStore(`${own.url}/root`, opts());
    const up = `../${kind === 'local' ? `../${victimName}` : victimName}/sentinel.json`;
    try {
      for (const key of [up, 'a/../../x', './x', 'a//b', '/abs', 'a\u0000b', '']) {
        const ops: [string, () => unknown][] = [
          ['get', () => store.get(key)],
          ['getStream', () => store.getStream(key)],
          ['head', () => store.head(key)],
          ['put', () => store.put(key, 'x')],
          ['putIfAbsent', () => store.putIfAbsent(key, 'x')],
          ['putStream', () => store.putStream(key, Readable.from([Buffer.from('x')]))],
          ['delete', () => store.delete(key)],
          ['deleteMany', () => store.deleteMany(['ok.json', key])],
          ['copy from', () => store.copy(key, 'ok.json')],
          ['copy to', () => store.copy('ok.json', key)],
        ];
        for (const [op, fn] of ops) {
          const r = await refusal(fn);
          expect([op, key, r.code]).toEqual([op, key, 'BAD_INPUT']);
          expect(r.message).toMatch(/invalid object key/);
        }
      }
      for (const prefix of ['../', `../${victimName}/`, 'a/../../', './', '/']) {
        const r = await refusal(async () => {
          for await (const m of store.list(prefix)) void m;
        });
        expect([prefix, r.code]).toEqual([prefix, 'BAD_INPUT']);
        expect(r.message).toMatch(/invalid list prefix/);
      }
    } finally {
      await store.close();
    }
  });
});

describe('the Azure case of issue 13 through the CLI', () => {
  test('table append to az://…/x%2F..%2F..%2F<other container>%2Fprobe is refused; the other container is untouched', async () => {
    const lake = await createTestLocation('azure');
    const raw = await createTestLocation('azure');
    const env = { TRIBUTARY_AZURE_ENDPOINT: requireService('azure').endpoint };
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'tributary-hostile-'));
    try {
      const input = path.join(dir, 'l.jsonl');
      await fs.writeFile(input, '{"msg":"probe","n":1}\n');
      const rawName = raw.url.split('/').pop()!;
      const before = await snapshot('azure', raw.url);
      const r = await cliEnv(
        env,
        'table',
        'append',
        `${lake.url}/x%2F..%2F..%2F${rawName}%2Fprobe`,
        '--input',
        input,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/error \(CONFIG_INVALID\): invalid storage URL .*'\.\.' segment/);
      expect(await snapshot('azure', raw.url)).toEqual(before);
      expect(await snapshot('azure', lake.url)).toEqual([]);
      // The same table name, written canonically, lands in its own container.
      const ok = await cliEnv(env, 'table', 'append', `${lake.url}/x/probe`, '--input', input);
      expect(ok.code).toBe(0);
      expect((await snapshot('azure', lake.url)).every((k) => k.startsWith('x/probe/'))).toBe(true);
      expect(await snapshot('azure', raw.url)).toEqual(before);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      await lake.cleanup();
      await raw.cleanup();
    }
  });
});
