/**
 * A Tributary worker process for the clone kill test (run with `node -r tsx/cjs`): the real region worker,
 * whose stores count every byte written outside `_delta_log/` into `<COUNT_DIR>/<pid>` (a line per 16 KB
 * slice sent) and pace streamed writes (PACE_MS per slice) so that a copy lasts long enough to be killed
 * in the middle. Configured by env:
 * TEMPORAL_ADDRESS, TASK_QUEUE, COUNT_DIR, PACE_MS, WORKFLOW_BUNDLE (a file), STORE_OPTIONS (JSON).
 */
import { appendFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { ObjectStore } from '../../lake/storage/object-store';
import { storeOpener, createRegionWorker } from '../../workers/region-worker';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`counting worker: ${name} is not set`);
  return v;
};

const countFile = path.join(env('COUNT_DIR'), String(process.pid));
// One appended line per slice: a single small write(2) that a SIGKILL cannot tear (rewriting a running
// total would truncate the file first, and a kill between truncate and write would lose it).
const count = (n: number) => appendFileSync(countFile, `${n}\n`);
const pace = Number(env('PACE_MS'));
const counted = (key: string) => !key.startsWith('_delta_log/');

function counting(store: ObjectStore): ObjectStore {
  const putStream: ObjectStore['putStream'] = (key, body, opts) => {
    if (!counted(key)) return store.putStream(key, body, opts);
    // Bytes count as sent in 16 KB slices, each followed by PACE_MS: a kill mid-object has sent part of it.
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        void (async () => {
          for (let i = 0; i < chunk.length; i += 16 << 10) {
            const slice = chunk.subarray(i, i + (16 << 10));
            count(slice.length);
            this.push(slice);
            await sleep(pace);
          }
        })().then(() => done(), done);
      },
    });
    body.on('error', (e) => meter.destroy(e));
    return store.putStream(key, body.pipe(meter), opts);
  };
  const put: ObjectStore['put'] = (key, body, opts) => {
    if (counted(key)) count(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
    return store.put(key, body, opts);
  };
  // A Proxy, not a subclass: the adapters' methods run on the real store object.
  return new Proxy(store, {
    get(t, p) {
      if (p === 'putStream') return putStream;
      if (p === 'put') return put;
      const v: unknown = Reflect.get(t, p, t);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const opts = JSON.parse(env('STORE_OPTIONS'));
  const open = storeOpener(opts);
  const wrapped = new Map<string, Promise<ObjectStore>>();
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const w = await createRegionWorker({
    connection,
    taskQueue: env('TASK_QUEUE'),
    storeOptions: opts,
    open: (url) => {
      let s = wrapped.get(url);
      if (!s) wrapped.set(url, (s = open(url).then(counting)));
      return s;
    },
    workflowBundle: { code: readFileSync(env('WORKFLOW_BUNDLE'), 'utf8') },
  });
  await w.worker.run();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
