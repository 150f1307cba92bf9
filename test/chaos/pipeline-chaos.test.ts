/**
 * Chaos end to end on the Temporal dev server: ingest, egress and clone (replicateTable) run on a worker
 * whose every store call may be throttled, fail with a 5xx, time out, reset (before the call, after it
 * took effect, mid-download) or be slow, a few percent of calls each, with one outage per stage in which
 * a whole backend fails for a few seconds. The tables must end exactly as the input says (every line once),
 * readers running alongside must only ever see committed versions, and the retries must be bounded and
 * visible (fault counts, activity attempts and the error codes they failed with).
 */
import { randomUUID } from 'node:crypto';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { openStore } from '../../lake/storage/open';
import type { EgressTarget, IngestTarget, ReplicaTarget } from '../../shapes/targets';
import { defaultEngine } from '../../lake/table/operations';
import { tributaryActivities } from '../../workers/region-worker';
import { createWorker } from '../../workers/worker';
import type { EgressRunSummary } from '../../workflows/egress';
import type { IngestRunSummary } from '../../workflows/ingest';
import type { CloneActivityResult } from '../../activities/clone';
import { rowSet } from '../interop/deltars';
import { type BackendKind, createTestLocation, emulatorOptions } from '../harness/stores';
import { logLines, temporal, workflowBundle, writeRawFiles } from '../ingest/helpers';
import {
  type AttemptRecord,
  attemptSummary,
  chaos,
  checkReads,
  readerLoop,
  recordAttempts,
  rateOf,
  seedOf,
} from './helpers';

jest.setTimeout(240_000);

const FILES = 4;
const LINES = 250;
const OUTAGE_MS = 2_500;
/** Upper bound on the tries of any one activity under these fault rates and one outage per stage. */
const MAX_ATTEMPTS = 8;

const fileName = (f: number) => `logs/part-${String(f).padStart(4, '0')}.jsonl${f % 3 === 2 ? '.gz' : ''}`;

/** The keys the input says the regional table holds, and which of them egress approves. */
function expectedKeys(region: string): { all: string[]; approved: string[] } {
  const all: string[] = [];
  const approved: string[] = [];
  for (let f = 0; f < FILES; f++)
    logLines(f, LINES).forEach((line, i) => {
      const key = `${region}|${fileName(f)}|${i + 1}`;
      all.push(key);
      if ((JSON.parse(line) as { egress_approved: unknown }).egress_approved === true) approved.push(key);
    });
  return { all: all.sort(), approved: approved.sort() };
}

const keyOf = (region: string) => (r: Record<string, unknown>) =>
  `${(r._region as string | undefined) ?? region}|${String(r._source_file)}|${String(r._source_line)}`;

const cases: [BackendKind, BackendKind, number][] = [
  ['s3', 'azure', 1601],
  ['azure', 's3', 2602],
];

describe.each(cases)('chaos on %s (clone to %s)', (kind, other, fixedSeed) => {
  test('ingest, egress and clone end exactly as without faults; readers see committed versions only', async () => {
    const seed = seedOf(fixedSeed);
    const rate = rateOf();
    process.stdout.write(`chaos ${kind}: seed ${seed}, rate ${rate} (replay with CHAOS_SEED=${seed})\n`);
    const c = chaos(seed, rate);
    const t = await temporal();
    const loc = await createTestLocation(kind);
    const dst = await createTestLocation(other);
    const clean = emulatorOptions([kind, other]);
    const region = `chaos-${kind}`;
    const attempts: AttemptRecord[] = [];
    const taskQueue = `test-chaos-${randomUUID().slice(0, 8)}`;
    const w = await createWorker({
      connection: t.native,
      taskQueue,
      activities: recordAttempts(tributaryActivities({ ...clean, decorate: c.decorate }), attempts),
      workflowBundle: await workflowBundle(),
    });
    const table = `${loc.url}/regional`;
    const central = `${loc.url}/central`;
    const replica = `${dst.url}/replica`;
    const ingestTarget: IngestTarget = {
      region,
      raw: `${loc.url}/raw`,
      table,
      quarantine: `${table}_quarantine`,
      maxFilesPerBatch: 1,
      maxBytesPerBatch: 1 << 30,
      maxLineBytes: 1 << 20,
      eventTimeColumn: 'ts',
    };
    const egressTarget: EgressTarget = {
      region,
      source: table,
      central,
      filter: 'egress_approved = true',
      onChangeCommits: 'fail',
      maxVersionsPerBatch: 1,
    };
    const replicaTarget: ReplicaTarget = { name: `chaos-${kind}`, source: table, target: replica };
    let historyMaxAttempt = 0;
    const run = async (wf: string, args: object, outage?: { kind: BackendKind; afterMs: number }) => {
      const handle = await t.client.workflow.start(wf, {
        taskQueue,
        workflowId: `${wf}-${randomUUID()}`,
        args: [args],
        workflowExecutionTimeout: '3 minutes',
      });
      const down = outage
        ? new Promise((r) => setTimeout(r, outage.afterMs)).then(() => c.outage(outage.kind, OUTAGE_MS))
        : Promise.resolve();
      const result = await handle.result();
      await down;
      // Temporal's own count: the attempt each activity completed on (its ActivityTaskStarted event).
      for (const e of (await handle.fetchHistory()).events ?? [])
        historyMaxAttempt = Math.max(historyMaxAttempt, e.activityTaskStartedEventAttributes?.attempt ?? 0);
      return result as unknown;
    };
    let readers: ReturnType<typeof readerLoop>[] = [];
    try {
      const tableStore = await openStore(table, clean);
      const centralStore = await openStore(central, clean);
      const replicaStore = await openStore(replica, clean);
      await writeRawFiles(await openStore(`${loc.url}/raw`, clean), FILES, LINES);
      // A reader on a fault-free store and one on a store with faults of its own, per table.
      const readerChaos = chaos(seed + 1, rate);
      const faultyOpts = { ...clean, decorate: readerChaos.decorate };
      readers = [
        ...[tableStore, centralStore, replicaStore].map((s) => readerLoop(s)),
        ...(await Promise.all([table, central, replica].map((u) => openStore(u, faultyOpts)))).map((s) =>
          readerLoop(s, true),
        ),
      ];
      const started = Date.now();
      const summaries = await w.worker.runUntil(async () => {
        const ingest = (await run(
          'ingestRegionWorkflow',
          { target: ingestTarget },
          { kind, afterMs: 1_500 },
        )) as IngestRunSummary;
        const egress = (await run(
          'egressRegionWorkflow',
          { target: egressTarget },
          { kind, afterMs: 1_000 },
        )) as EgressRunSummary;
        const clone = await run('replicateTable', { target: replicaTarget }, { kind: other, afterMs: 500 });
        return { ingest, egress, clone };
      });
      const elapsed = Date.now() - started;
      await new Promise((r) => setTimeout(r, 500)); // the replica reader reads the finished clone too
      const logs = await Promise.all(readers.map((r) => r.stop()));
      const stats = c.stats();
      const { failures, maxAttempt } = attemptSummary(attempts);
      process.stdout.write(
        `chaos ${kind}: seed ${seed}, ${elapsed} ms; ${stats.injected} faults injected ${JSON.stringify(stats.byLabel)} ` +
          `over ${Object.values(stats.calls).reduce((a, b) => a + b, 0)} calls ${JSON.stringify(stats.calls)}; ` +
          `activity failures ${JSON.stringify(failures)}; max attempt ${JSON.stringify(maxAttempt)} (history: ${historyMaxAttempt}); ` +
          `reads ${logs.map((l) => l.seen.length).join('/')} (table/central/replica, then with faults: ` +
          `${readerChaos.stats().injected} faults, ${logs.slice(3).reduce((n, l) => n + l.transient, 0)} reads failed transiently)\n`,
      );

      // The regional table: every input line exactly once, nothing quarantined.
      const expected = expectedKeys(region);
      expect(summaries.ingest.quarantined).toBe(0);
      expect(summaries.ingest.lines).toBe(FILES * LINES);
      const rows = await scanRows(tableStore, await Snapshot.load(tableStore, defaultEngine));
      expect(rows.map(keyOf(region)).sort()).toEqual(expected.all);
      // Central: every approved line exactly once.
      expect(summaries.egress.sourceVersion).toBe(summaries.egress.latestSourceVersion);
      const centralRows = await scanRows(centralStore, await Snapshot.load(centralStore, defaultEngine));
      expect(centralRows.map(keyOf(region)).sort()).toEqual(expected.approved);
      // The replica: the source's rows at the version cloned (the replica numbers its own versions).
      const cloned = summaries.clone as CloneActivityResult;
      expect(cloned.sourceVersion).toBe(summaries.ingest.lastVersion);
      const replicaRows = rowSet(
        await scanRows(replicaStore, await Snapshot.load(replicaStore, defaultEngine)),
      );
      const sourceRows = rowSet(
        await scanRows(
          tableStore,
          await Snapshot.load(tableStore, defaultEngine, { version: cloned.sourceVersion }),
        ),
      );
      expect(replicaRows.length).toBe(FILES * LINES);
      expect(replicaRows.join('\n') === sourceRows.join('\n')).toBe(true);

      // No reader saw a partial commit, and each read something.
      for (const [i, s] of [tableStore, centralStore, replicaStore].entries()) {
        expect(await checkReads(s, logs[i]!)).toEqual([]);
        expect(await checkReads(s, logs[i + 3]!)).toEqual([]);
        expect(logs[i]!.transient).toBe(0);
      }
      expect(logs.every((l) => l.seen.length > 0)).toBe(true);

      // Faults happened, every kind of them; the retries are bounded and only storage faults show.
      for (const label of [
        'outage',
        'throttle',
        'server',
        'timeout',
        'reset',
        'lost-response',
        'lost-commit-response',
      ])
        expect(stats.byLabel[label] ?? 0).toBeGreaterThan(0);
      expect(Object.keys(failures).every((code) => code === 'STORAGE_TRANSIENT')).toBe(true);
      expect(Math.max(...Object.values(maxAttempt))).toBeLessThanOrEqual(MAX_ATTEMPTS);
      expect(historyMaxAttempt).toBe(Math.max(...Object.values(maxAttempt)));
    } finally {
      await Promise.all(readers.map((r) => r.stop())); // a failed run leaves no reader going
      await w.close();
      await t.close();
      await loc.cleanup();
      await dst.cleanup();
    }
  });
});
