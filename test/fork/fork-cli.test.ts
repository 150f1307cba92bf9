/**
 * `tributary fork start|status|approve` as an operator runs them (real processes) against the Temporal dev
 * server and a worker in this process; and fork.yaml validation, every problem listed as `path: message`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseForkFile } from '../../config/fork';
import { workflowIds } from '../../shapes/queues';
import type { ForkResult } from '../../shapes/fork';
import { createRegionWorker, storeOpener } from '../../workers/region-worker';
import { requireService } from '../harness/env';
import { cliWith } from '../harness/cli';
import { createTestLocation } from '../harness/stores';
import { temporal, workflowBundle } from '../ingest/helpers';
import { FakeEgress } from './helpers';

jest.setTimeout(180_000);

test('fork.yaml: every problem is listed with its path', () => {
  expect(() =>
    parseForkFile(
      'name: a/b\nmain: s3://b/t\nfork: s3://b/t\nsubset: "tier ="\napproval: sometimes\nextra: 1\n',
    ),
  ).toThrow(
    expect.objectContaining({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(
        /name: letters[\s\S]*subset: [\s\S]*approval: [\s\S]*(extra|Unrecognized)[\s\S]*/,
      ),
    }),
  );
  const f = parseForkFile(
    'name: eu\nmain: s3://b/central\nfork: az://acct/c/eu\nsubset: "_region = \'eu\'"\n',
  );
  expect(f).toMatchObject({ name: 'eu', approval: 'manual' });
});

test('tributary fork start / status / approve (a wrong plan is refused, the current one accepted)', async () => {
  const loc = await createTestLocation('local');
  const work = mkdtempSync(path.join(tmpdir(), 'tributary-fork-cli-'));
  const open = storeOpener({});
  const mainUrl = `${loc.url}/central`;
  const main = await open(mainUrl);
  const egress = ['eu', 'us'].map((r) => new FakeEgress(r, main, open));
  const name = `fkc${randomUUID().slice(0, 6)}`;
  const taskQueue = `fork-cli-${name}`;
  const t = await temporal();
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  const running = w.worker.run();
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: requireService('temporal').endpoint };
  delete env.TRIBUTARY_CONFIG;
  const run = (...args: string[]) => cliWith({ env, cwd: work }, ...args);
  try {
    for (let i = 0; i < 3; i++) for (const e of egress) await e.step();
    for (const e of egress) e.start(300);
    const file = path.join(work, 'fork.yaml');
    writeFileSync(
      file,
      [
        `name: ${name}`,
        `main: ${mainUrl}`,
        `fork: ${loc.url}/central_gold`,
        `subset: "tier = 'gold'"`,
        'approval: manual',
        'barrierPollSeconds: 1',
        '',
      ].join('\n'),
    );
    const started = await run('fork', 'start', '--config', file, '--task-queue', taskQueue);
    expect(started).toMatchObject({ code: 0, stdout: `started ${workflowIds.fork(name)}\n` });
    let status = '';
    for (let i = 0; i < 120 && !/awaitingApproval/.test(status); i++) {
      status = (await run('fork', 'status', '--name', name)).stdout;
      if (!/awaitingApproval/.test(status)) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toMatch(/plan p1-\w+/);
    expect(status).toMatch(/main .* delete \d+ of \d+ rows/);
    const wrong = await run('fork', 'approve', '--name', name, '--plan', 'p9-nothing');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/approval refused: plan p9-nothing is stale/);
    const ok = await run('fork', 'approve', '--name', name, '--by', 'operator');
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^approved p1-/) });
    const result = (await t.client.workflow.getHandle(workflowIds.fork(name)).result()) as ForkResult;
    expect(result).toMatchObject({ approvedBy: 'operator', verification: { verified: true } });
    // Regions defaulted to those whose egress main records.
    expect(Object.keys(result.acks ?? {}).sort()).toEqual(['eu', 'us']);
    const done = await run('fork', 'status', '--name', name);
    expect(done.stdout).toMatch(/verification: OK/);
  } finally {
    for (const e of egress) await e.stop().catch(() => {});
    w.worker.shutdown();
    await running.catch(() => {});
    await t.close();
    await loc.cleanup();
  }
});
