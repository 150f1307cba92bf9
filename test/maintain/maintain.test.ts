/**
 * Table maintenance end to end: the maintainTable workflow on the real Temporal dev server compacts a
 * regional table, checkpoints it, cleans up its log and vacuums it, and holds back for an egress that is
 * behind: the egress then resumes and sends every approved row exactly once. Its Schedules come from
 * config, and `tributary maintain` lists and runs them. The hold itself is also checked on S3.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { egressBatch } from '../../activities/egress/batch';
import { parseConfig } from '../../config/load';
import { egressTargetOf, maintainEntriesOf } from '../../config/targets';
import { commitKey } from '../../lake/delta/log-path';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import {
  checkpointLatest,
  cleanupLogs,
  commitCleanupWarning,
  filesAddedSince,
  vacuumHeld,
} from '../../lake/table/maintain';
import { defaultEngine, writeTable } from '../../lake/table/operations';
import { optimize } from '../../lake/table/optimize';
import { scheduleIds, workflowIds } from '../../shapes/queues';
import type { EgressTarget } from '../../shapes/targets';
import { createRegionWorker } from '../../workers/region-worker';
import { applySchedules } from '../../workers/schedules';
import type { MaintenanceReport } from '../../workflows/maintain';
import { cli } from '../harness/cli';
import { requireService } from '../harness/env';
import { jsonlRelation } from '../harness/jsonl';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { temporal, workflowBundle } from '../ingest/helpers';
import { deltaRsRows, deltaRsUri, rowSet } from '../interop/deltars';

jest.setTimeout(300_000);

/** Short retention (so a test can pass it), a checkpoint every 4 commits, no cleanup at commit time. */
const PROPS = {
  'delta.logRetentionDuration': 'interval 1 seconds',
  'delta.deletedFileRetentionDuration': 'interval 1 seconds',
  'delta.checkpointInterval': '4',
  'delta.enableExpiredLogCleanup': 'false',
};

/** `n` appends of 4 rows over two day partitions (2 files each); ids unique across the table. */
async function appends(s: ObjectStore, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++)
    await writeTable(s, {
      sourceSql: jsonlRelation(
        Array.from({ length: 4 }, (_, j) => ({
          day: j % 2 === 0 ? '2026-12-01' : '2026-12-02',
          id: i * 4 + j,
          egress_approved: (i + j) % 3 !== 0,
          _region: 'eu',
          _source_file: `raw/f${i}.log`,
          _source_line: j + 1,
        })),
      ),
      ...(i === 0 ? { partitionBy: ['day'], configuration: PROPS } : {}),
    });
}

const rowsOf = async (s: ObjectStore) => scanRows(s, await Snapshot.load(s, defaultEngine));
const approvedIds = (rows: Record<string, unknown>[], from = 0) =>
  rows
    .filter((r) => r.egress_approved === true && Number(r.id) >= from)
    .map((r) => Number(r.id))
    .sort((a, b) => a - b);

async function exists(s: ObjectStore, key: string): Promise<boolean> {
  return s.head(key).then(
    () => true,
    () => false,
  );
}

/** Egress batches until caught up: the ids it sent. */
async function egressAll(open: (u: string) => Promise<ObjectStore>, t: EgressTarget): Promise<number> {
  let rows = 0;
  for (let i = 0; i < 50; i++) {
    const r = await egressBatch({ open }, t);
    rows += r.rowsEgressed;
    if (r.caughtUp) return rows;
  }
  throw new Error('egress never caught up');
}

test('maintainTable on Temporal: compacts, checkpoints, cleans up and vacuums, holding back for an egress behind; Schedules and CLI', async () => {
  const loc = await createTestLocation('local');
  const t = await temporal();
  const queue = `maintain-${randomUUID().slice(0, 8)}`;
  const base = loc.url;
  const yaml = `
temporal: { address: "${requireService('temporal').endpoint}" }
regions:
  - name: eu
    cloud: local
    raw: ${base}/raw
    table: ${base}/eu
    taskQueue: ${queue}
central: { table: ${base}/central, maxVersionsPerBatch: 5 }
replicate:
  - { name: eu-dr, source: ${base}/eu, target: ${base}/eu_dr, region: eu }
maintenance: { schedule: { every: 1h, paused: true } }
`;
  const file = path.join(new URL(base).pathname, 'tributary.yaml');
  writeFileSync(file, yaml);
  const config = parseConfig(yaml, file);
  const open = (u: string) => openStore(u);
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue: queue,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  const scheduleIdsMade: string[] = [];
  try {
    await w.worker.runUntil(async () => {
      // Which tables config maintains, each with its incremental readers.
      const entries = maintainEntriesOf(config);
      expect(entries.map((e) => e.target.name)).toEqual([
        'eu-regional',
        'eu-quarantine',
        'central',
        'central-quarantine',
        'replica-eu-dr',
      ]);
      const regional = entries[0]!;
      expect(regional.taskQueue).toBe(queue);
      expect(regional.target.readers).toEqual([
        { kind: 'egress', region: 'eu', central: `${base}/central` },
        { kind: 'replica', name: 'eu-dr', target: `${base}/eu_dr` },
      ]);

      const eu = await open(`${base}/eu`);
      await appends(eu, 20); // v0..v19, 40 files, checkpoints at 4, 8, 12, 16
      const all = await rowsOf(eu);
      const egress = egressTargetOf(config, config.regions[0]!);
      // The egress reads v0..v4 and stops there: it is 15 versions behind.
      expect((await egressBatch({ open }, egress)).rowsEgressed).toBe(
        approvedIds(all).filter((id) => id < 20).length,
      );
      const heldFiles = await filesAddedSince(eu, 5, 19);
      expect(heldFiles.keys.size).toBe(30);
      await sleep(1200); // past the 1 s retention

      const run = async (dryRun = false) =>
        (await t.client.workflow.execute('maintainTable', {
          taskQueue: queue,
          workflowId: workflowIds.maintain(`eu-regional-${randomUUID().slice(0, 6)}`),
          args: [{ target: regional.target, ...(dryRun ? { dryRun } : {}) }],
        })) as MaintenanceReport;

      // A dry run is the plan and changes nothing.
      const dry = await run(true);
      expect(dry.plan).toMatchObject({
        version: 19,
        keepFrom: 5,
        holds: [
          { reader: `egress eu → ${base}/central`, next: 5, behind: 15 },
          // Never cloned: its first clone copies a snapshot, it reads no commits (no `next`).
          { reader: `replica eu-dr (${base}/eu_dr)`, behind: 0 },
        ],
        optimize: { bins: 2, files: 40 },
        checkpoint: { due: true, previous: 16 },
        // The cleanup is bounded by checkpoint v4, the newest at or before the egress's v5.
        logCleanup: { files: 4, checkpointVersion: 4, held: true },
      });
      expect(dry.plan.warnings.join('\n')).toContain('is 15 version(s) behind');
      expect(dry.optimize).toBeUndefined();
      expect((await Snapshot.load(eu, defaultEngine)).version).toBe(19);

      // Run 1: compaction (v20), a checkpoint of v20, commits v0..v3 cleaned up, nothing the egress needs.
      const r1 = await run();
      expect(r1.optimize).toMatchObject({ version: 20, numRemovedFiles: 40, numAddedFiles: 2 });
      // (v20 is a multiple of the checkpoint interval: the OPTIMIZE commit wrote its checkpoint itself.)
      expect(r1.checkpoint).toMatchObject({ version: 20, previous: 20, written: false });
      expect(r1.logCleanup).toMatchObject({ deleted: 4, checkpointVersion: 4, held: true });
      for (let v = 0; v < 4; v++) expect(await exists(eu, commitKey(v))).toBe(false);
      for (let v = 4; v <= 20; v++) expect(await exists(eu, commitKey(v))).toBe(true);
      for (const f of r1.vacuum!.files) expect(heldFiles.keys.has(f)).toBe(false);

      // Run 2, once the compaction's tombstones are past retention: VACUUM takes the files of v0..v4 and
      // keeps the 30 the egress has still to read.
      await sleep(1200);
      const r2 = await run();
      expect(r2.optimize).toBeUndefined(); // nothing left to compact
      expect(r1.vacuum!.deleted + r2.vacuum!.deleted).toBe(10);
      expect(r2.vacuum!.held).toBe(30);
      for (const k of heldFiles.keys) expect(await exists(eu, k)).toBe(true);

      // The egress resumes where it stopped and sends the rest, once: the OPTIMIZE commit sends nothing.
      expect(await egressAll(open, egress)).toBe(approvedIds(all, 20).length);
      const central = await rowsOf(await open(`${base}/central`));
      expect(approvedIds(central)).toEqual(approvedIds(all));

      // Run 3: nobody behind; the held files go, and the log up to checkpoint v20.
      await sleep(1200);
      const r3 = await run();
      expect(r3.vacuum).toMatchObject({ deleted: 30, held: 0 });
      expect(r3.logCleanup).toMatchObject({ checkpointVersion: 20, held: false });
      expect(await exists(eu, commitKey(19))).toBe(false);
      // The maintained table reads the same, here and in delta-rs.
      const after = await rowsOf(eu);
      expect(rowSet(after)).toEqual(rowSet(all));
      expect(rowSet(await deltaRsRows(deltaRsUri(eu.url)))).toEqual(rowSet(all));

      // Schedules from config: one per table, on the right queue, running maintainTable.
      const applied = await applySchedules(t.client, config);
      scheduleIdsMade.push(...applied.created, ...applied.updated);
      for (const e of entries) expect(applied.created).toContain(scheduleIds.maintain(e.target.name));
      const d = await t.client.schedule.getHandle(scheduleIds.maintain('eu-regional')).describe();
      expect(d.action).toMatchObject({ workflowType: 'maintainTable', taskQueue: queue });
      expect(d.state.paused).toBe(true);
      // A triggered run of a table that does not exist yet says so and does nothing.
      const qs = t.client.schedule.getHandle(scheduleIds.maintain('eu-quarantine'));
      await qs.trigger();
      for (let i = 0; i < 100 && !(await qs.describe()).info.recentActions.length; i++) await sleep(100);
      // A Schedule's run id is the workflow id with its start time appended.
      const started = (await qs.describe()).info.recentActions[0]!.action.workflow.workflowId;
      expect(started.startsWith(workflowIds.maintain('eu-quarantine'))).toBe(true);
      const report = (await t.client.workflow.getHandle(started).result()) as MaintenanceReport;
      expect(report).toMatchObject({ name: 'eu-quarantine', noTable: true });

      // The CLI: the list, and a dry run through Temporal printing the plan.
      const list = await cli('maintain', 'list', '--config', file);
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(`eu-regional\t${base}/eu\tmaintain-eu-regional on ${queue}`);
      expect(list.stdout).toContain('readers: egress eu, replica eu-dr');
      const dryCli = await cli('maintain', 'run', '--table', 'eu-regional', '--dry-run', '--config', file);
      expect(dryCli.stderr).toContain(`maintain/eu-regional on task queue ${queue}`);
      expect(dryCli.code).toBe(0);
      expect(dryCli.stdout).toContain(`eu-regional: ${base}/eu v20`);
      expect(dryCli.stdout).toContain('eu-regional: dry run, nothing changed');
      const unknown = await cli('maintain', 'run', '--table', 'nope', '--config', file);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no maintained table "nope"');
    });
  } finally {
    for (const id of scheduleIdsMade)
      await t.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => {});
    await w.close();
    await t.close();
    await loc.cleanup();
  }
});

test('on S3: log cleanup and VACUUM keep what a reader at version 5 still reads', async () => {
  const loc = await createTestLocation('s3');
  try {
    const s = await openStore(`${loc.url}/t`, emulatorOptions(['s3']));
    await appends(s, 12); // v0..v11, checkpoints at 4 and 8
    await optimize(s, {}); // v12 removes all 24 files
    const later = Date.now() + 3_600_000;
    const held = await filesAddedSince(s, 5, 12);
    expect(held.keys.size).toBe(16); // v5..v11 add 2 files each, and v12 its 2 (live) ones
    // Held at 5: the cleanup stops at checkpoint v4; VACUUM keeps v5..v11's files.
    const logs = await cleanupLogs(s, { keepFrom: 5, now: later });
    expect(logs).toMatchObject({ checkpointVersion: 4, held: true });
    expect(logs.deleted).toEqual([0, 1, 2, 3].map(commitKey));
    const v = await vacuumHeld(s, { keepFrom: 5, now: later });
    expect(v.deleted.length).toBe(10);
    expect(v.held).toBe(14);
    for (const k of held.keys) expect(await exists(s, k)).toBe(true);
    // Not held: everything past retention before the newest checkpoint goes.
    const free = await vacuumHeld(s, { now: later });
    expect(free).toMatchObject({ held: 0 });
    expect(free.deleted.length).toBe(14);
    expect((await cleanupLogs(s, { now: later, dryRun: true })).checkpointVersion).toBe(12);
    // A version between checkpoints gets one; the next run finds it has one.
    await appends(s, 1, 100);
    expect(await checkpointLatest(s)).toMatchObject({ version: 13, previous: 12, written: true });
    expect(await checkpointLatest(s)).toMatchObject({ version: 13, previous: 13, written: false });
    expect((await cleanupLogs(s, { now: later, dryRun: true })).checkpointVersion).toBe(13);
  } finally {
    await loc.cleanup();
  }
});

test('commitCleanupWarning (a maintenance plan warning): commit-time log cleanup may delete commits a reader behind has not read', async () => {
  const loc = await createTestLocation('local');
  try {
    const s = await openStore(`${loc.url}/t`);
    const write = (configuration?: Record<string, string>) =>
      writeTable(s, {
        sourceSql: jsonlRelation([{ id: 1 }]),
        ...(configuration ? { configuration } : {}),
      });
    // Delta's default: a writer cleans up the log after each checkpoint; retention 1 hour.
    await write({ 'delta.logRetentionDuration': 'interval 1 hours' });
    await write();
    await write();
    const snap = await Snapshot.load(s, defaultEngine);
    const now = Date.now();
    expect(await commitCleanupWarning(s, snap, 1, now)).toBeUndefined(); // written just now
    const later = now + 40 * 60_000; // past half the retention
    const w = await commitCleanupWarning(s, snap, 1, later);
    expect(w).toMatch(/^commit 1, the first a reader behind has not read, was written 0\.6\d h ago/);
    expect(w).toContain('delta.enableExpiredLogCleanup = false');
    expect(await commitCleanupWarning(s, snap, 3, later)).toBeUndefined(); // nobody behind
    // A table made with the commit-time cleanup off is cleaned up by maintenance alone (which holds).
    const off = await openStore(`${loc.url}/off`);
    for (let i = 0; i < 3; i++)
      await writeTable(off, {
        sourceSql: jsonlRelation([{ id: i }]),
        ...(i === 0
          ? {
              configuration: {
                'delta.logRetentionDuration': 'interval 1 hours',
                'delta.enableExpiredLogCleanup': 'false',
              },
            }
          : {}),
      });
    expect(
      await commitCleanupWarning(off, await Snapshot.load(off, defaultEngine), 1, later),
    ).toBeUndefined();
  } finally {
    await loc.cleanup();
  }
});
