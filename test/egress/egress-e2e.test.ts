/**
 * Egress end to end on the Temporal dev server: two regions ingest raw logs into their regional tables,
 * then egress only approved rows (egress_approved = true; NULL is not approved) into one central table,
 * exactly once across re-runs; source commits that remove data are skipped or fail, as configured.
 */
import { randomUUID } from 'node:crypto';
import type { EgressTarget } from '../../shapes/targets';
import type { IngestTarget } from '../../shapes/targets';
import { openStore } from '../../lake/storage/open';
import { deleteWhere } from '../../lake/table/delete';
import { createRegionWorker } from '../../workers/region-worker';
import type { EgressRunSummary } from '../../workflows/egress';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { tableRows, temporal, workflowBundle, writeRawFiles } from '../ingest/helpers';

jest.setTimeout(300_000);

describe.each([['local'], ['s3']] as [BackendKind][])('egress to central: %s', (kind) => {
  test('approved rows only, exactly once, change commits skipped or refused', async () => {
    const t = await temporal();
    const loc = await createTestLocation(kind);
    const opts = emulatorOptions([kind]);
    const taskQueue = `test-egress-${randomUUID().slice(0, 8)}`;
    const w = await createRegionWorker({
      connection: t.native,
      taskQueue,
      storeOptions: opts,
      workflowBundle: await workflowBundle(),
    });
    const central = `${loc.url}/central`;
    const regions = ['eu', 'us'];
    const ingestTarget = (r: string): IngestTarget => ({
      region: r,
      raw: `${loc.url}/raw-${r}`,
      table: `${loc.url}/regional-${r}`,
      quarantine: `${loc.url}/regional-${r}_quarantine`,
      maxFilesPerBatch: 2,
      maxBytesPerBatch: 1 << 30,
      maxLineBytes: 1 << 20,
      eventTimeColumn: 'ts',
    });
    const egressTarget = (r: string, onChangeCommits: 'skip' | 'fail' = 'skip'): EgressTarget => ({
      region: r,
      source: `${loc.url}/regional-${r}`,
      central,
      filter: 'egress_approved = true',
      onChangeCommits,
      maxVersionsPerBatch: 2,
    });
    const exec = (wf: string, target: object) =>
      t.client.workflow.execute(wf, { taskQueue, workflowId: `${wf}-${randomUUID()}`, args: [{ target }] });
    try {
      await w.worker.runUntil(async () => {
        for (const r of regions) {
          await writeRawFiles(await openStore(`${loc.url}/raw-${r}`, opts), 5, 30);
          await exec('ingestRegionWorkflow', ingestTarget(r));
        }
        const summaries = (await Promise.all(
          regions.map((r) => exec('egressRegionWorkflow', egressTarget(r))),
        )) as EgressRunSummary[];
        for (const s of summaries) expect(s.sourceVersion).toBe(s.latestSourceVersion);
        const centralStore = await openStore(central, opts);
        const approved = (
          await Promise.all(
            regions.map(async (r) =>
              (await tableRows(await openStore(`${loc.url}/regional-${r}`, opts))).filter(
                (x) => x.egress_approved === true,
              ),
            ),
          )
        ).flat();
        let rows = await tableRows(centralStore);
        expect(rows.length).toBe(approved.length);
        expect(rows.every((x) => x.egress_approved === true)).toBe(true);
        expect(new Set(rows.map((x) => `${x._region}/${x._source_file}/${x._source_line}`)).size).toBe(
          rows.length,
        );

        // Re-running egress adds nothing.
        await exec('egressRegionWorkflow', egressTarget('eu'));
        expect((await tableRows(centralStore)).length).toBe(approved.length);

        // A DELETE on the source: skipped under 'skip' (central keeps its rows), refused under 'fail'.
        const eu = await openStore(`${loc.url}/regional-eu`, opts);
        await deleteWhere(eu, "level = 'DEBUG'");
        const refused = await exec('egressRegionWorkflow', egressTarget('eu', 'fail')).catch(
          (e: unknown) => e,
        );
        expect(
          String((refused as { cause?: { cause?: { message?: string } } }).cause?.cause?.message),
        ).toMatch(/removes data .* egress is append-only/);
        const skipped = (await exec('egressRegionWorkflow', egressTarget('eu'))) as EgressRunSummary;
        expect(skipped.skippedChangeCommits).toHaveLength(1);
        rows = await tableRows(centralStore);
        expect(rows.length).toBe(approved.length);
      });
    } finally {
      await w.close();
      await t.close();
      await loc.cleanup();
    }
  });
});
