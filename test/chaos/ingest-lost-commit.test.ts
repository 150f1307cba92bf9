/**
 * A batch whose commit landed while its writer saw a connection reset (and no retry left) is tried again:
 * the retry finds the batch committed and must report what that commit ingested, not zero lines (the
 * run's summary would say fewer lines were ingested than the table holds). Found by the chaos test.
 */
import { ingestBatch } from '../../activities/ingest/batch';
import { planBatches } from '../../activities/ingest/plan';
import { isTributaryError } from '../../lake/errors';
import { cloudFaultError, withFaults } from '../../lake/storage/faults';
import { openStore } from '../../lake/storage/open';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { ingestTargetAt, writeRawFiles } from '../ingest/helpers';

jest.setTimeout(60_000);

test('retry after a lost commit response reports the committed batch totals (s3)', async () => {
  const loc = await createTestLocation('s3');
  try {
    const clean = emulatorOptions(['s3']);
    // The commit of batch 0 lands; its response is lost, and with a single attempt nothing retries it.
    const lossy = {
      ...clean,
      retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
      decorate: (raw: Parameters<typeof withFaults>[0]) =>
        withFaults(raw, [
          {
            ops: ['putIfAbsent'],
            key: /_delta_log\/0{20}\.json$/,
            failCalls: [1],
            when: 'after',
            error: () => cloudFaultError('reset', raw.url),
          },
        ]),
    };
    const target = ingestTargetAt(loc.url, 'lost-commit');
    await writeRawFiles(await openStore(target.raw, clean), 2, 40);
    const cleanDeps = { open: (url: string) => openStore(url, clean) };
    const plan = await planBatches(cleanDeps, { target, maxBatches: 8 });
    expect(plan.pending).toEqual([0]);

    const lost = await ingestBatch({ open: (url) => openStore(url, lossy) }, { target, seq: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(lost, 'STORAGE_TRANSIENT')).toBe(true);

    const retried = await ingestBatch(cleanDeps, { target, seq: 0 });
    expect(retried).toMatchObject({ seq: 0, alreadyCommitted: true, version: 0, lines: 80, rows: 80 });
    expect(retried).toMatchObject({ quarantined: 0, rescued: 0 });
  } finally {
    await loc.cleanup();
  }
});
