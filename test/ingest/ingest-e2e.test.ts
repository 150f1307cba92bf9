/**
 * End-to-end ingestion on the real Temporal dev server and each storage backend: raw files in the
 * region's bucket → ingestRegionWorkflow on the region's task queue → the regional Delta table, exactly
 * once, also when run again and when new (and late, earlier-sorting) files arrive.
 */
import { randomUUID } from 'node:crypto';
import type { IngestTarget } from '../../shapes/targets';
import { openStore } from '../../lake/storage/open';
import { createRegionWorker } from '../../workers/region-worker';
import type { IngestRunSummary } from '../../workflows/ingest';
import { ALL_BACKENDS, type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { deltaRsRows } from '../interop/deltars';
import { logLines, sourceKeys, tableRows, temporal, workflowBundle, writeRawFiles } from './helpers';

jest.setTimeout(300_000);

describe.each(ALL_BACKENDS.map((b) => [b]))('ingestion end to end: %s', (kind: BackendKind) => {
  test('backfill, idempotent re-run, new and late files; counts reconcile', async () => {
    const t = await temporal();
    const rawLoc = await createTestLocation(kind, 'raw');
    const lakeLoc = await createTestLocation(kind, 'lake');
    const opts = emulatorOptions([kind]);
    const raw = await openStore(rawLoc.url, opts);
    const table = await openStore(`${lakeLoc.url}/regional`, opts);
    const taskQueue = `test-ingest-${kind}-${randomUUID().slice(0, 8)}`;
    const w = await createRegionWorker({
      connection: t.native,
      taskQueue,
      storeOptions: opts,
      workflowBundle: await workflowBundle(),
    });
    const target: IngestTarget = {
      region: `r-${kind}`,
      raw: rawLoc.url,
      table: table.url,
      quarantine: `${lakeLoc.url}/regional_quarantine`,
      maxFilesPerBatch: 4,
      maxBytesPerBatch: 1 << 30,
      maxLineBytes: 1 << 20,
      eventTimeColumn: 'ts',
    };
    const run = () =>
      t.client.workflow.execute('ingestRegionWorkflow', {
        taskQueue,
        workflowId: `ingest-${taskQueue}-${randomUUID()}`,
        args: [{ target }],
      }) as Promise<IngestRunSummary>;
    try {
      await w.worker.runUntil(async () => {
        const lines = await writeRawFiles(raw, 10, 50);
        const first = await run();
        expect(first).toMatchObject({ files: 10, lines, rows: lines, quarantined: 0, batches: 3 });
        const again = await run();
        expect(again.batches).toBe(0);
        // A new file, and a late one whose key sorts before everything already ingested.
        await raw.put('logs/part-9999.jsonl', logLines(99, 7).join('\n'));
        await raw.put('aaa-late/first.jsonl', logLines(98, 5).join('\n'));
        const third = await run();
        expect(third).toMatchObject({ files: 2, rows: 12 });
      });
      const rows = await tableRows(table);
      expect(rows).toHaveLength(512);
      expect(sourceKeys(rows)).toEqual({ unique: 512, total: 512 });
      expect(rows.every((r) => r._region === `r-${kind}`)).toBe(true);
      expect(new Set(rows.map((r) => r._event_date))).toEqual(
        new Set(['2024-05-01', '2024-05-02', '2024-05-03']),
      );
      if (kind === 'local' || kind === 's3') {
        const peerUri = kind === 'local' ? new URL(table.url).pathname : table.url;
        const theirs = await deltaRsRows(peerUri, kind);
        expect(theirs).toHaveLength(512);
      }
    } finally {
      await w.close();
      await t.close();
      await rawLoc.cleanup();
      await lakeLoc.cleanup();
    }
  });
});
