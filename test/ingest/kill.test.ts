/**
 * Crash safety: SIGKILL the worker process at 20+ random moments while it ingests a few hundred files,
 * restarting it each time. Afterwards the table holds every input line exactly once.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ingestTargetOf, regionOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { workflowIds } from '../../shapes/queues';
import type { IngestRunSummary } from '../../workflows/ingest';
import { spawnWorker } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/operations';
import { sourceKeys, tableRows, temporal, writeLocalRegionConfig, writeRawFiles } from './helpers';

const KILLS = 20;
jest.setTimeout(900_000);

test(`SIGKILL the worker ${KILLS} times mid-ingestion: every line exactly once`, async () => {
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  const lines = await writeRawFiles(raw, 400, 20);
  const region = `kill-${randomUUID().slice(0, 6)}`;
  const { file: cfgFile, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: region,
    ingest: '{ maxFilesPerBatch: 2 }',
  });
  const r = regionOf(config, region);

  let child: ChildProcess | undefined;
  const startWorker = () => {
    child = spawnWorker(cfgFile, region);
  };
  const t = await temporal();
  try {
    startWorker();
    const handle = await t.client.workflow.start('ingestRegionWorkflow', {
      taskQueue: region,
      workflowId: workflowIds.ingest(region, 'regional'),
      args: [{ target: ingestTargetOf(r), heartbeatTimeout: '3 seconds', maxBatchesPerPlan: 4 }],
      workflowTaskTimeout: '2 seconds',
    });
    let kills = 0;
    let progressAtKills = 0;
    const table = await openStore(r.table);
    // Kill at random moments while the workflow runs, until 20 kills have landed with the table part-way.
    const committed = async () => (await loadSnapshotOrUndefined(table, defaultEngine))?.numRecords ?? 0;
    const running = async () => (await handle.describe()).status.name === 'RUNNING';
    while (progressAtKills < KILLS && (await running())) {
      // Wait until this worker has committed something (it needs a moment to bundle workflows and poll),
      // then kill it at a random moment while it works: every kill lands mid-ingestion.
      const start = await committed();
      for (let i = 0; i < 600 && (await committed()) === start && (await running()); i++) await sleep(100);
      await sleep(Math.random() * 1500);
      const before = await committed();
      child!.kill('SIGKILL');
      await new Promise((res) => child!.once('exit', res));
      kills++;
      if (before > 0 && before < lines) progressAtKills++;
      startWorker();
    }
    const summary = (await handle.result()) as IngestRunSummary;
    expect(summary.batches).toBeGreaterThan(0);
    const rows = await tableRows(table);
    expect(sourceKeys(rows)).toEqual({ unique: lines, total: lines });
    // The kills landed while work was in flight, not only before or after it.
    expect(progressAtKills).toBeGreaterThanOrEqual(KILLS);
    process.stdout.write(
      `kill test: ${kills} kills, ${progressAtKills} with the table part-way, ${lines} lines exactly once\n`,
    );
  } finally {
    child?.kill('SIGKILL');
    await t.close();
    await loc.cleanup();
  }
});
