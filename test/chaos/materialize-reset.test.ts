/**
 * A download whose connection resets part-way is started again by materialize (the store retries opening a
 * stream, not a broken body): before, every reset failed the whole egress or scan activity, and a batch of
 * many files hardly ever got through under a steady reset rate. Found by the chaos test at a 20% fault rate.
 */
import { readFileSync } from 'node:fs';
import { isTributaryError } from '../../lake/errors';
import { materialize } from '../../lake/engine/local-files';
import { cloudFaultError, withFaults } from '../../lake/storage/faults';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { createTestLocation, emulatorOptions } from '../harness/stores';

jest.setTimeout(60_000);

const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 251));

test.each(['s3', 'azure'] as const)('%s: a download reset part-way is read again, whole', async (kind) => {
  const loc = await createTestLocation(kind);
  try {
    const clean = emulatorOptions([kind]);
    await (await openStore(loc.url, clean)).put('data/part-0.parquet', bytes);
    const breaking = (failCalls: number[]) => ({
      ...clean,
      decorate: (raw: ObjectStore) =>
        withFaults(raw, [
          {
            ops: ['getStream'],
            failCalls,
            breakBodyAfterBytes: 1000,
            error: () => cloudFaultError('reset', raw.url),
          },
        ]),
    });
    // Two resets, then a whole download.
    const local = await materialize(await openStore(loc.url, breaking([1, 2])), 'data/part-0.parquet');
    try {
      expect(readFileSync(local.path).equals(bytes)).toBe(true);
    } finally {
      await local.release();
    }
    // Resets on every try: bounded, and the error stays transient (the activity is retried).
    const failing = await materialize(
      await openStore(loc.url, breaking([1, 2, 3, 4, 5, 6, 7, 8])),
      'data/part-0.parquet',
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTributaryError(failing, 'STORAGE_TRANSIENT')).toBe(true);
  } finally {
    await loc.cleanup();
  }
});
