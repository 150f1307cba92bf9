/**
 * forkTable end to end on the real Temporal dev server: main on S3 (moto), the fork on Azure (Azurite),
 * three regions egressing all along (test/fork/helpers.ts FakeEgress: routed egress by the routing
 * contract). Started through the client with the JSON an operator pastes into the UI, observed through
 * the forkState query, approved by the approveFork Update; a stale plan and a second approval are refused
 * by the validator; the result's verification holds, and so does an independent count of every row the
 * regions wrote.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Snapshot } from '../../lake/delta/snapshot';
import { type ObjectStore } from '../../lake/storage/object-store';
import { openStore } from '../../lake/storage/open';
import { scanRows } from '../../lake/engine/scan';
import { checkFork } from '../../lake/table/fork-check';
import { defaultEngine } from '../../lake/table/operations';
import { deleteWhere } from '../../lake/table/delete';
import { readRouting } from '../../activities/egress/routing-store';
import type { ForkResult, ForkState } from '../../shapes/fork';
import { workflowIds } from '../../shapes/queues';
import { createRegionWorker, storeOpener } from '../../workers/region-worker';
import { approveForkSignal, approveForkUpdate, forkStateQuery } from '../../workflows/fork';
import { createTestLocation, emulatorOptions } from '../harness/stores';
import { temporal, workflowBundle } from '../ingest/helpers';
import { FakeEgress, rowsSql } from './helpers';
import { writeTable } from '../../lake/table/operations';

jest.setTimeout(240_000);
const REGIONS = ['eu', 'us', 'ap'];

test('deleteWhere complement keeps exactly the matching rows (NULL leaves)', async () => {
  const loc = await createTestLocation('local');
  try {
    const s = await openStore(`${loc.url}/t`);
    await writeTable(s, {
      sourceSql: rowsSql(
        ['gold', 'silver', null, 'gold'].map((tier, i) => ({
          _region: 'eu',
          _source_file: 'f',
          _source_line: i,
          tier,
          msg: 'x',
        })),
      ),
    });
    const r = await deleteWhere(s, "tier = 'gold'", defaultEngine, { complement: true });
    expect(r.deletedRows).toBe(2);
    const rows = await scanRows(s, await Snapshot.load(s, defaultEngine));
    expect(rows.map((x) => x.tier).sort()).toEqual(['gold', 'gold']);
    expect((await deleteWhere(s, "tier = 'gold'", defaultEngine, { complement: true })).deletedRows).toBe(0);
  } finally {
    await loc.cleanup();
  }
});

test('forkTable: S3 main → Azure fork while 3 regions egress; Update approval, stale plan refused, verified', async () => {
  const a = await createTestLocation('s3');
  const b = await createTestLocation('azure');
  const opts = emulatorOptions(['s3', 'azure']);
  const open = storeOpener(opts);
  const mainUrl = `${a.url}/central`;
  const forkUrl = `${b.url}/central_gold`;
  const main: ObjectStore = await open(mainUrl);
  const egress = REGIONS.map((r) => new FakeEgress(r, main, open));
  const name = `fk${randomUUID().slice(0, 6)}`;
  const taskQueue = `fork-${name}`;
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: opts,
    workflowBundle: await workflowBundle(),
  });
  const running = w.worker.run();
  try {
    for (let i = 0; i < 4; i++) for (const e of egress) await e.step();
    for (const e of egress) e.start(250);

    // What an operator pastes into the Temporal UI's start dialog.
    const uiJson = `{
      "name": "${name}", "main": "${mainUrl}", "fork": "${forkUrl}",
      "subset": "tier = 'gold'", "regions": ["eu", "us", "ap"], "approval": "manual",
      "barrierPollSeconds": 1, "replanSeconds": 2, "concurrency": 4
    }`;
    const handle = await t.client.workflow.start('forkTable', {
      taskQueue,
      workflowId: workflowIds.fork(name),
      args: [JSON.parse(uiJson)],
    });
    const state = () => handle.query(forkStateQuery);
    const waitFor = async (ok: (s: ForkState) => boolean, what: string) => {
      for (let i = 0; i < 600; i++) {
        const s = await state();
        if (ok(s)) return s;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await state())}`);
    };
    const steps = new Set<string>();
    const first = await waitFor((s) => (steps.add(s.step), s.step === 'awaitingApproval'), 'a plan');
    expect(first.plan?.id).toMatch(/^p1-/);
    expect(first.firstClone?.kind).toBe('committed');
    expect(first.routingVersion).toBe(1);
    expect(first.acks).toEqual({ eu: 1, us: 1, ap: 1 });
    expect(first.plan!.main.rowsToDelete).toBeGreaterThan(0);
    expect(first.plan!.fork.rowsToDelete).toBeGreaterThan(0);
    const routing = await readRouting(main);
    expect(routing?.routes).toEqual([{ table: forkUrl, predicate: "tier = 'gold'" }]);

    // The plan is made again every 2 s while it waits: approving the first one is now refused.
    const later = await waitFor((s) => s.step === 'awaitingApproval' && s.plans >= 2, 'a second plan');
    const refused = await handle
      .executeUpdate(approveForkUpdate, { args: [{ planId: first.plan!.id, by: 'test' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((refused as { cause?: Error }).cause?.message)).toMatch(
      /is stale: the plan awaiting approval is p\d+-/,
    );

    // Approve the current plan (re-read if a re-plan replaced it in between).
    let approved: string | undefined;
    for (let i = 0; i < 20 && !approved; i++) {
      const s = i === 0 ? later : await waitFor((x) => x.step === 'awaitingApproval', 'the plan');
      try {
        approved = (
          await handle.executeUpdate(approveForkUpdate, { args: [{ planId: s.plan!.id, by: 'test' }] })
        ).approved;
      } catch (e) {
        if (!(e instanceof WorkflowUpdateFailedError)) throw e;
      }
    }
    expect(approved).toMatch(/^p\d+-/);
    const again = await handle
      .executeUpdate(approveForkUpdate, { args: [{ planId: approved!, by: 'test' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(String((again as { cause?: Error }).cause?.message)).toMatch(/already approved by test/);

    const result = (await handle.result()) as ForkResult;
    expect(result.step).toBe('done');
    expect(result.approvedPlan).toBe(approved);
    expect(result.verification).toMatchObject({
      verified: true,
      missingKeys: 0,
      unexpectedKeys: 0,
      inBoth: 0,
      duplicateKeys: 0,
      mainMatchingSubset: 0,
      forkNotMatchingSubset: 0,
    });
    expect(result.deletes?.map((d) => d.deletedRows).every((n) => n > 0)).toBe(true);
    expect((await state()).step).toBe('done');

    // Independently: stop the regions; every row they ever wrote is in exactly one table, the right one.
    for (const e of egress) await e.stop();
    const fork = await open(forkUrl);
    const check = await checkFork(main, fork, {
      subset: "tier = 'gold'",
      baseVersion: result.verification.baseVersion,
    });
    const written = egress.flatMap((e) => e.written);
    expect(check.verified).toBe(true);
    expect(check.expectedKeys).toBe(written.length);
    expect(check.mainRows + check.forkRows).toBe(written.length);
    expect(check.forkRows).toBe(written.filter((r) => r.tier === 'gold').length);
    const mainRows = await scanRows(main, await Snapshot.load(main, defaultEngine));
    expect(mainRows.filter((r) => r.tier === null).length).toBe(
      written.filter((r) => r.tier === null).length,
    );
    process.stdout.write(
      `fork workflow: ${written.length} rows written by ${REGIONS.length} regions over ${egress[0]!.batch} batches; ` +
        `plans ${result.plans}, approved ${approved}; main ${check.mainRows} rows, fork ${check.forkRows}; ` +
        `deletes ${JSON.stringify(result.deletes)}; steps seen ${[...steps].join(',')}\n`,
    );
  } finally {
    for (const e of egress) await e.stop().catch(() => {});
    w.worker.shutdown();
    await running.catch(() => {});
    await t.close();
    await a.cleanup();
    await b.cleanup();
  }
});

test('cancel while awaiting approval, delete main by hand (a cancel between the deletes), start again, approve by signal: verified', async () => {
  const a = await createTestLocation('local');
  const b = await createTestLocation('gcs');
  const opts = emulatorOptions(['gcs']);
  const open = storeOpener(opts);
  const mainUrl = `${a.url}/central`;
  const forkUrl = `${b.url}/central_gold`;
  const main = await open(mainUrl);
  const egress = ['eu', 'us'].map((r) => new FakeEgress(r, main, open));
  const name = `fkr${randomUUID().slice(0, 6)}`;
  const taskQueue = `fork-${name}`;
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: opts,
    workflowBundle: await workflowBundle(),
  });
  const running = w.worker.run();
  const input = {
    name,
    main: mainUrl,
    fork: forkUrl,
    subset: "tier = 'gold'",
    approval: 'manual' as const,
    barrierPollSeconds: 1,
  };
  try {
    for (let i = 0; i < 3; i++) for (const e of egress) await e.step();
    for (const e of egress) e.start(250);
    const first = await t.client.workflow.start('forkTable', {
      taskQueue,
      workflowId: workflowIds.fork(name),
      args: [input],
    });
    for (let i = 0; i < 300 && (await first.query(forkStateQuery)).step !== 'awaitingApproval'; i++)
      await new Promise((r) => setTimeout(r, 100));
    const base = (await first.query(forkStateQuery)).firstClone!.sourceVersion;
    await first.cancel();
    await expect(first.result()).rejects.toThrow();
    // What a cancel between the two deletes leaves: main without the subset, the fork with everything.
    expect((await deleteWhere(main, "tier = 'gold'")).deletedRows).toBeGreaterThan(0);

    const again = await t.client.workflow.start('forkTable', {
      taskQueue,
      workflowId: workflowIds.fork(name),
      args: [input],
    });
    // Approved by signal this time: a stale plan id is ignored (and said so), the current one approves.
    let s = await again.query(forkStateQuery);
    for (let i = 0; i < 300 && s.step !== 'awaitingApproval'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await again.query(forkStateQuery);
    }
    await again.signal(approveForkSignal, { planId: 'p0-stale', by: 'test' });
    for (let i = 0; i < 50 && !/ignored/.test(s.detail ?? ''); i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = await again.query(forkStateQuery);
    }
    expect(s.detail).toMatch(/approval signal ignored: plan p0-stale is stale/);
    expect(s.step).toBe('awaitingApproval');
    await again.signal(approveForkSignal, { planId: s.plan!.id, by: 'signal' });
    const result = (await again.result()) as ForkResult;
    expect(result.approvedBy).toBe('signal');
    // No clone replayed main's delete onto the fork; the check counts from the first run's clone.
    expect(result.firstClone).toBeUndefined();
    expect(result.routingVersion).toBe(1);
    expect(result.verification).toMatchObject({ verified: true, baseVersion: base });
    for (const e of egress) await e.stop();
    const written = egress.flatMap((e) => e.written);
    const check = await checkFork(main, await open(forkUrl), { subset: input.subset, baseVersion: base });
    expect(check).toMatchObject({ verified: true, expectedKeys: written.length });
    expect(check.forkRows).toBe(written.filter((r) => r.tier === 'gold').length);
  } finally {
    for (const e of egress) await e.stop().catch(() => {});
    w.worker.shutdown();
    await running.catch(() => {});
    await t.close();
    await a.cleanup();
    await b.cleanup();
  }
});
