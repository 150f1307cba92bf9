/**
 * Cross-cloud accounting on three real emulators: raw logs on GCS (fake-gcs-server) ingested into a regional
 * table on Azure (Azurite), egressed to central on S3 (moto). Each run's summary says what it read from
 * which cloud and wrote to which, and the commits record the same (sourceCloud, targetCloud,
 * numSourceBytesRead): what a multi-cloud deployment pays for egress, per pipeline.
 */
import { randomUUID } from 'node:crypto';
import type { EgressTarget, IngestTarget } from '../../shapes/targets';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { history } from '../../lake/table/maintenance';
import { createRegionWorker } from '../../workers/region-worker';
import type { EgressRunSummary } from '../../workflows/egress';
import type { IngestRunSummary } from '../../workflows/ingest';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { snapshot, tableRows, temporal, workflowBundle, writeRawFiles } from '../ingest/helpers';

jest.setTimeout(300_000);

test('ingest gcp → azure and egress azure → aws: bytes read and written per cloud pair, in summaries and commits', async () => {
  const t = await temporal();
  const gcs = await createTestLocation('gcs');
  const azure = await createTestLocation('azure');
  const s3 = await createTestLocation('s3');
  const opts = emulatorOptions(['gcs', 'azure', 's3']);
  const taskQueue = `test-xcloud-${randomUUID().slice(0, 8)}`;
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: opts,
    workflowBundle: await workflowBundle(),
  });
  const ingest: IngestTarget = {
    region: 'eu',
    raw: `${gcs.url}/raw`,
    table: `${azure.url}/regional`,
    quarantine: `${azure.url}/regional_quarantine`,
    maxFilesPerBatch: 2,
    maxBytesPerBatch: 1 << 30,
    maxLineBytes: 1 << 20,
    eventTimeColumn: 'ts',
  };
  const egress: EgressTarget = {
    region: 'eu',
    source: ingest.table,
    central: `${s3.url}/central`,
    filter: 'egress_approved = true',
    onChangeCommits: 'skip',
    maxVersionsPerBatch: 2,
  };
  const exec = (wf: string, target: object) =>
    t.client.workflow.execute(wf, { taskQueue, workflowId: `${wf}-${randomUUID()}`, args: [{ target }] });
  const bytesOf = async (s: ObjectStore) => (await snapshot(s)).files.reduce((n, f) => n + f.size, 0);
  try {
    await w.worker.runUntil(async () => {
      const raw = await openStore(ingest.raw, opts);
      const lines = await writeRawFiles(raw, 5, 30);
      let rawBytes = 0;
      for await (const m of raw.list('')) rawBytes += m.size;

      const i = (await exec('ingestRegionWorkflow', ingest)) as IngestRunSummary;
      expect(i).toMatchObject({ files: 5, lines, bytes: rawBytes });
      const regional = await openStore(ingest.table, opts);
      const regionalBytes = await bytesOf(regional);
      expect(regionalBytes).toBeGreaterThan(0);
      expect(i.transfers).toEqual([
        { from: 'gcp', to: 'azure', bytesRead: rawBytes, bytesWritten: regionalBytes },
      ]);
      // Each ingest commit says where its bytes came from and went; together they are the summary's.
      const ingestCommits = (await history(regional)).filter((h) => h.operation === 'STREAMING UPDATE');
      expect(ingestCommits.length).toBe(i.batches);
      let read = 0;
      for (const h of ingestCommits) {
        const m = h.operationMetrics as Record<string, string>;
        expect(m).toMatchObject({ sourceCloud: 'gcp', targetCloud: 'azure' });
        read += Number(m.numSourceBytesRead);
      }
      expect(read).toBe(rawBytes);

      const e = (await exec('egressRegionWorkflow', egress)) as EgressRunSummary;
      const central = await openStore(egress.central, opts);
      const approved = (await tableRows(regional)).filter((r) => r.egress_approved === true).length;
      expect(approved).toBeGreaterThan(0);
      expect((await tableRows(central)).length).toBe(approved);
      expect(e.rows).toBe(approved);
      expect(e.transfers).toEqual([
        { from: 'azure', to: 'aws', bytesRead: regionalBytes, bytesWritten: await bytesOf(central) },
      ]);
      const egressCommits = (await history(central)).filter((x) => x.operation === 'STREAMING UPDATE');
      expect(egressCommits.length).toBe(e.batches);
      for (const h of egressCommits)
        expect(h.operationMetrics).toMatchObject({ sourceCloud: 'azure', targetCloud: 'aws' });

      // A re-run moves nothing, and says so.
      const again = (await exec('egressRegionWorkflow', egress)) as EgressRunSummary;
      expect(again.rows).toBe(0);
      expect(again.transfers ?? []).toEqual([]);
    });
  } finally {
    await w.close();
    await t.close();
    await Promise.all([gcs.cleanup(), azure.cleanup(), s3.cleanup()]);
  }
});
