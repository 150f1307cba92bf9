import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { TributaryError, isTributaryError } from '../errors';
import { LocalStore } from './local';
import { withFaults, seededRandom } from './faults';
import { withRetries } from './retry';

const fresh = () => new LocalStore(mkdtempSync(path.join(tmpdir(), 'tributary-faults-')));
const fast = { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 5 };

describe('fault-injecting ObjectStore', () => {
  test('fails exactly the Nth matching call, before it reaches the store', async () => {
    const f = withFaults(fresh(), [{ ops: ['put'], failCalls: [2] }]);
    await f.put('a', '1');
    const e = await f.put('b', '2').catch((x: unknown) => x);
    expect(isTributaryError(e, 'STORAGE_TRANSIENT')).toBe(true);
    await expect(f.get('b')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await f.put('c', '3');
    expect(f.stats).toEqual({ calls: { put: 3, get: 1 }, injected: 1, byLabel: {} });
  });

  test("'after' faults take effect but report failure; retried putIfAbsent recognises its own write", async () => {
    const raw = fresh();
    const f = withFaults(raw, [{ ops: ['putIfAbsent'], failCalls: [1], when: 'after' }]);
    const first = await f.putIfAbsent('k', 'mine').catch((x: unknown) => x);
    expect(isTributaryError(first, 'STORAGE_TRANSIENT')).toBe(true);
    expect(Buffer.from(await raw.get('k')).toString()).toBe('mine'); // it landed
    // Through the retry layer, the lost response is resolved by comparing bytes: success, not ALREADY_EXISTS.
    const g = withRetries(withFaults(raw, [{ ops: ['putIfAbsent'], failCalls: [1], when: 'after' }]), fast);
    await raw.delete('k');
    await expect(g.putIfAbsent('k', 'mine')).resolves.toHaveProperty('etag');
    // …while a genuinely different writer still loses.
    await expect(g.putIfAbsent('k', 'theirs')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  test('probabilistic faults are reproducible from a seed and the retry layer absorbs them', async () => {
    const run = async (seed: number) => {
      const f = withFaults(fresh(), [{ probability: 0.3 }], seededRandom(seed));
      const s = withRetries(f, fast);
      for (let i = 0; i < 30; i++) await s.put(`k${i}`, String(i));
      for (let i = 0; i < 30; i++) expect(Buffer.from(await s.get(`k${i}`)).toString()).toBe(String(i));
      return f.stats.injected;
    };
    const a = await run(42);
    expect(a).toBeGreaterThan(0);
    expect(await run(42)).toBe(a);
  });

  test('putFile is retried whole after a lost response: the object holds the file once, not twice', async () => {
    const raw = fresh();
    const dir = mkdtempSync(path.join(tmpdir(), 'tributary-putfile-'));
    const file = path.join(dir, 'data.bin');
    writeFileSync(file, 'file bytes');
    const s = withRetries(withFaults(raw, [{ ops: ['putFile'], failCalls: [1, 2], when: 'after' }]), fast);
    await s.putFile('obj', file);
    expect(Buffer.from(await raw.get('obj')).toString()).toBe('file bytes');
    const plain = withFaults(raw, [{ ops: ['putFile'], failCalls: [1] }]);
    await expect(plain.putFile('other', file)).rejects.toMatchObject({ code: 'STORAGE_TRANSIENT' });
    await expect(raw.head('other')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a listing that fails mid-way resumes after the last key, without duplicates', async () => {
    const raw = fresh();
    for (let i = 0; i < 350; i++) await raw.put(`l/${String(i).padStart(4, '0')}`, '');
    const s = withRetries(withFaults(raw, [{ ops: ['list'], failCalls: [3] }]), fast); // fails at key 200
    const keys: string[] = [];
    for await (const m of s.list('l/')) keys.push(m.key);
    expect(keys).toHaveLength(350);
    expect(new Set(keys).size).toBe(350);
  });

  test('latency is added and key filters apply', async () => {
    const f = withFaults(fresh(), [
      { key: 'slow/', latencyMs: 30 },
      { key: /^bad\//, failCalls: [1], error: () => new Error('boom') },
    ]);
    const t0 = Date.now();
    await f.put('slow/x', '');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    await f.put('fast/x', '');
    await expect(f.put('bad/x', '')).rejects.toThrow('boom');
  });

  test('non-transient errors are not retried', async () => {
    const f = withFaults(fresh(), [
      { failCalls: [1, 2, 3], error: () => new TributaryError('AUTH', 'denied') },
    ]);
    const s = withRetries(f, fast);
    await expect(s.put('x', '')).rejects.toMatchObject({ code: 'AUTH' });
    expect(f.stats.calls.put).toBe(1);
  });
});
