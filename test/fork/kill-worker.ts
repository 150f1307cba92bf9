/**
 * A Tributary worker process for the fork kill test (run with `node -r tsx/cjs`): the real region worker
 * on one task queue. Configured by env: TEMPORAL_ADDRESS, TASK_QUEUE, WORKFLOW_BUNDLE (a file),
 * STORE_OPTIONS (JSON).
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createRegionWorker } from '../../workers/region-worker';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`fork kill worker: ${name} is not set`);
  return v;
};

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: env('TEMPORAL_ADDRESS') });
  const w = await createRegionWorker({
    connection,
    taskQueue: env('TASK_QUEUE'),
    storeOptions: JSON.parse(env('STORE_OPTIONS')),
    workflowBundle: { code: readFileSync(env('WORKFLOW_BUNDLE'), 'utf8') },
  });
  await w.worker.run();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
