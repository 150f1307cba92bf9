/**
 * forkTable with the real routed egress: 2 regions, each regional table fed by source commits and
 * egressRegionWorkflow run in a loop (as its Schedule would) while the fork runs. The barrier is released
 * by egress's own acknowledgements, and afterwards every approved row is in exactly one of central / fork.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { egressTargetOf, regionOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { checkFork } from '../../lake/table/fork-check';
import { writeTable } from '../../lake/table/operations';
import type { ForkResult } from '../../shapes/fork';
import { workflowIds } from '../../shapes/queues';
import { createRegionWorker } from '../../workers/region-worker';
import { createTestLocation } from '../harness/stores';
import { temporal, workflowBundle, writeLocalRegionConfig } from '../ingest/helpers';
import { approvedKeys, regionalCommitSql } from '../egress/load-rows';

jest.setTimeout(300_000);

test('forkTable with routed egress running: the barrier is released by egress acks; verified', async () => {
  const loc = await createTestLocation('local');
  const forkLoc = await createTestLocation('local');
  const regions = ['ra', 'rb'].map((r) => `${r}${randomUUID().slice(0, 4)}`);
  const central = `${loc.url}/central`;
  const t = await temporal();
  const taskQueue = `fork-e2e-${randomUUID().slice(0, 6)}`;
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  const running = w.worker.run();
  let stop = false;
  const commits = new Map<string, number>();
  try {
    const targets = regions.map((region) => {
      mkdirSync(new URL(`${loc.url}/${region}`).pathname, { recursive: true });
      const { config } = writeLocalRegionConfig(`${loc.url}/${region}`, region, {
        ingest: '{}',
        central: `{ table: "${central}", maxVersionsPerBatch: 2, onChangeCommits: fail }`,
      });
      return egressTargetOf(config, regionOf(config, region));
    });
    let runs = 0;
    const loops = targets.map(async (target) => {
      const source = await openStore(target.source);
      let c = 0;
      while (!stop) {
        await writeTable(source, { sourceSql: regionalCommitSql(target.region, c++, 6), mergeSchema: true });
        commits.set(target.region, c);
        await t.client.workflow.execute('egressRegionWorkflow', {
          taskQueue,
          workflowId: `${workflowIds.egress(target.region, 'central')}-${c}`,
          args: [{ target }],
        });
        runs++;
      }
    });
    const centralStore = await openStore(central);
    while ((await centralStore.list('_delta_log/')[Symbol.asyncIterator]().next()).done)
      await new Promise((r) => setTimeout(r, 200));
    const name = `fke${randomUUID().slice(0, 6)}`;
    const subset = `_region = '${regions[1]}'`;
    const result = (await t.client.workflow.execute('forkTable', {
      taskQueue,
      workflowId: workflowIds.fork(name),
      args: [
        {
          name,
          main: central,
          fork: `${forkLoc.url}/central_b`,
          subset,
          regions,
          approval: 'auto',
          barrierPollSeconds: 1,
          barrierTimeoutSeconds: 120,
        },
      ],
    })) as ForkResult;
    expect(result.verification.verified).toBe(true);
    stop = true;
    await Promise.all(loops);
    expect(runs).toBeGreaterThan(2);
    for (const target of targets)
      await t.client.workflow.execute('egressRegionWorkflow', {
        taskQueue,
        workflowId: `${workflowIds.egress(target.region, 'central')}-last`,
        args: [{ target }],
      });
    const check = await checkFork(centralStore, await openStore(`${forkLoc.url}/central_b`), {
      subset,
      baseVersion: result.verification.baseVersion,
    });
    const approved = regions.flatMap((r) => approvedKeys(r, commits.get(r)!, 6));
    expect(check).toMatchObject({ verified: true, expectedKeys: approved.length });
    expect(check.mainRows + check.forkRows).toBe(approved.length);
    expect(check.forkRows).toBeGreaterThan(0);
  } finally {
    stop = true;
    w.worker.shutdown();
    await running.catch(() => {});
    await t.close();
    await loc.cleanup();
    await forkLoc.cleanup();
  }
});
