/**
 * Worker metrics end to end: a real `tributary worker --metrics-port` process ingests and egresses a region
 * on the dev server and clones its table; its /metrics exposition passes `promtool check metrics`, and a
 * real Prometheus scraping it every second answers queries with the counts the test wrote (Tributary's
 * metrics and the SDK's own on one endpoint).
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CloneActivityResult } from '../../activities/clone';
import { egressTargetOf, ingestTargetOf, regionOf } from '../../config/targets';
import { openStore } from '../../lake/storage/open';
import { workflowIds } from '../../shapes/queues';
import type { EgressRunSummary } from '../../workflows/egress';
import type { IngestRunSummary } from '../../workflows/ingest';
import type { MaintenanceReport } from '../../workflows/maintain';
import { cli, spawnWorker } from '../harness/cli';
import { ENDPOINTS_ENV } from '../harness/env';
import { promtoolCheckMetrics, requirePrometheus, startPrometheus } from '../harness/prometheus';
import { freePort } from '../harness/services';
import { createTestLocation } from '../harness/stores';
import { snapshot, tableRows, temporal, writeLocalRegionConfig, writeRawFiles } from '../ingest/helpers';
import { history } from '../../lake/table/maintenance';

jest.setTimeout(90_000);

/** The value of one sample of a text exposition (labels must match exactly), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(200);
  }
}

test('worker --metrics-port: promtool-clean /metrics, scraped by Prometheus with the real counts', async () => {
  requirePrometheus(); // fails here, saying how to install it, when it is missing
  const id = randomUUID().slice(0, 8);
  const dir = path.join(path.dirname(process.env[ENDPOINTS_ENV] ?? '.'), `metrics-${id}`);
  mkdirSync(dir, { recursive: true });
  const loc = await createTestLocation('local');
  const raw = await openStore(`${loc.url}/raw`);
  // Four files of valid lines and one with a line that is not JSON (quarantined).
  const good = await writeRawFiles(raw, 4, 25);
  await raw.put(
    'logs/mixed.jsonl',
    '{"ts":"2024-05-01T00:00:00Z","msg":"a"}\n{not json\n{"ts":"2024-05-01T00:00:01Z"}\n',
  );
  const lines = good + 3;
  const region = `metrics-${id}`;
  const { file: cfgFile, config } = writeLocalRegionConfig(loc.url, region, {
    taskQueue: region,
    ingest: '{ maxFilesPerBatch: 2 }',
    central: `{ table: "${loc.url}/central" }`,
  });
  const r = regionOf(config, region);
  const port = await freePort();
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const scrape = async () => {
    const res = await fetch(metricsUrl, {
      signal: AbortSignal.timeout(2000),
      headers: { connection: 'close' },
    });
    if (!res.ok) throw new Error(`GET ${metricsUrl}: ${res.status}`);
    return res.text();
  };
  let worker: ChildProcess | undefined;
  let prom: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  const t = await temporal();
  try {
    worker = spawnWorker(cfgFile, region, {
      args: ['--metrics-port', String(port)],
      log: path.join(dir, 'worker.log'),
    });
    await waitFor(`worker metrics at ${metricsUrl} (log ${dir}/worker.log)`, 30_000, async () => {
      if (worker!.exitCode !== null) throw new Error(`worker exited with ${worker!.exitCode}`);
      return scrape();
    });

    const ingest = (await t.client.workflow.execute('ingestRegionWorkflow', {
      taskQueue: region,
      workflowId: workflowIds.ingest(region, 'regional'),
      args: [{ target: ingestTargetOf(r) }],
    })) as IngestRunSummary;
    expect(ingest).toMatchObject({ lines, rows: lines - 1, quarantined: 1, files: 5 });
    const egress = (await t.client.workflow.execute('egressRegionWorkflow', {
      taskQueue: region,
      workflowId: workflowIds.egress(region, 'central'),
      args: [{ target: egressTargetOf(config, r) }],
    })) as EgressRunSummary;
    const approved = (await tableRows(await openStore(`${loc.url}/central`))).length;
    expect(approved).toBeGreaterThan(0);
    expect(egress.rows).toBe(approved);
    const clone = (await t.client.workflow.execute('replicateTable', {
      taskQueue: region,
      workflowId: workflowIds.replicate(`dr-${id}`),
      args: [{ target: { name: 'dr', source: r.table, target: `${loc.url}/replica` } }],
    })) as CloneActivityResult;
    expect(clone.bytesTransferred).toBeGreaterThan(0);

    // Cross-cloud accounting (local → local here): in each run's result, and in the commits.
    const regionalStore = await openStore(r.table);
    const centralStore = await openStore(`${loc.url}/central`);
    const sizeOf = async (s: typeof regionalStore) =>
      (await snapshot(s)).files.reduce((n, f) => n + f.size, 0);
    expect(ingest.transfers).toEqual([
      { from: 'local', to: 'local', bytesRead: ingest.bytes, bytesWritten: await sizeOf(regionalStore) },
    ]);
    expect(egress.transfers).toEqual([
      {
        from: 'local',
        to: 'local',
        bytesRead: await sizeOf(regionalStore),
        bytesWritten: await sizeOf(centralStore),
      },
    ]);
    expect(clone.transfer).toEqual({
      from: 'local',
      to: 'local',
      bytesRead: clone.bytesTransferred,
      bytesWritten: clone.bytesTransferred,
    });
    const [lastIngest] = await history(regionalStore, { limit: 1 });
    const m = lastIngest!.operationMetrics as Record<string, string>;
    expect(m).toMatchObject({ sourceCloud: 'local', targetCloud: 'local' });
    expect(Number(m.numSourceBytesRead)).toBeGreaterThan(0);
    expect(Number(m.numOutputBytes)).toBeGreaterThan(0);

    // Maintenance of the regional table (after the checks of its files above): the three ingest batches
    // wrote three small files to compact.
    const maintained = (await t.client.workflow.execute('maintainTable', {
      taskQueue: region,
      workflowId: workflowIds.maintain(`${region}-regional`),
      args: [
        {
          target: {
            name: `${region}-regional`,
            table: r.table,
            optimize: true,
            checkpoint: true,
            logCleanup: true,
            vacuum: true,
            readers: [],
          },
        },
      ],
    })) as MaintenanceReport;
    expect(maintained.optimize!.numRemovedFiles).toBeGreaterThanOrEqual(3);
    expect(maintained.optimize!.numAddedFiles).toBeGreaterThanOrEqual(1);
    expect(maintained.checkpoint!.written).toBe(true);

    // (a) The exposition as the worker serves it: the counts, and promtool finds nothing to say.
    const text = await scrape();
    const moved = (pipeline: string, direction: string) =>
      sample(text, 'tributary_transfer_bytes_total', {
        direction,
        pipeline,
        source_cloud: 'local',
        target_cloud: 'local',
      });
    expect(moved('ingest', 'read')).toBe(ingest.bytes);
    expect(moved('ingest', 'written')).toBe(ingest.transfers![0]!.bytesWritten);
    expect(moved('egress', 'read')).toBe(egress.transfers![0]!.bytesRead);
    expect(moved('clone', 'written')).toBe(clone.bytesTransferred);
    const regional = { region, table: 'regional' };
    const central = { region, table: 'central' };
    expect(sample(text, 'tributary_ingest_lines_total', regional)).toBe(lines);
    expect(sample(text, 'tributary_ingest_rows_total', regional)).toBe(lines - 1);
    expect(sample(text, 'tributary_ingest_quarantined_lines_total', regional)).toBe(1);
    expect(sample(text, 'tributary_ingest_files_total', regional)).toBe(5);
    expect(sample(text, 'tributary_ingest_batches_total', regional)).toBe(3);
    expect(sample(text, 'tributary_ingest_backlog_files', regional)).toBe(0);
    expect(sample(text, 'tributary_ingest_batch_duration_seconds_count', regional)).toBe(3);
    let newest = 0;
    for await (const m of raw.list('')) newest = Math.max(newest, m.lastModified.getTime());
    expect(sample(text, 'tributary_ingest_newest_source_timestamp_seconds', regional)).toBeCloseTo(
      newest / 1000,
      2,
    );
    const freshness = sample(text, 'tributary_ingest_freshness_seconds', regional)!;
    expect(freshness).toBeGreaterThan(0);
    expect(freshness).toBeLessThan((Date.now() - newest) / 1000 + 2);
    expect(sample(text, 'tributary_egress_rows_total', central)).toBe(approved);
    expect(sample(text, 'tributary_egress_lag_versions', central)).toBe(0);
    expect(sample(text, 'tributary_egress_lag_seconds', central)).toBe(0);
    expect(sample(text, 'tributary_egress_batches_total', central)).toBe(egress.batches);
    expect(sample(text, 'tributary_egress_commit_attempts_count', central)).toBe(egress.batches);
    const replica = { table: 'dr' };
    expect(sample(text, 'tributary_clones_total', replica)).toBe(1);
    expect(sample(text, 'tributary_clone_copied_bytes_total', replica)).toBe(clone.bytesTransferred);
    expect(sample(text, 'tributary_clone_copied_files_total', replica)).toBe(clone.metrics.numCopiedFiles);
    expect(sample(text, 'tributary_clone_duration_seconds_count', replica)).toBe(1);
    expect(sample(text, 'tributary_replica_lag_versions', replica)).toBe(0);
    expect(sample(text, 'tributary_replica_lag_seconds', replica)).toBe(0);
    const maintainedTable = { table: `${region}-regional` };
    const step = (name: string) => ({ ...maintainedTable, step: name });
    for (const name of ['optimize', 'checkpoint', 'logCleanup', 'vacuum']) {
      expect(sample(text, 'tributary_maintenance_steps_total', step(name))).toBe(1);
      expect(sample(text, 'tributary_maintenance_step_duration_seconds_count', step(name))).toBe(1);
    }
    const o = maintained.optimize!;
    const changed = (name: string, metric: string, action: string) =>
      sample(text, `tributary_maintenance_${metric}_total`, { ...step(name), action });
    expect(changed('optimize', 'files', 'removed')).toBe(o.numRemovedFiles);
    expect(changed('optimize', 'bytes', 'removed')).toBe(o.numRemovedBytes);
    expect(changed('optimize', 'files', 'added')).toBe(o.numAddedFiles);
    expect(changed('optimize', 'bytes', 'added')).toBe(o.numAddedBytes);
    expect(changed('checkpoint', 'files', 'added')).toBe(1);
    // Nothing past retention yet: no deletions, so no series for them.
    expect(changed('vacuum', 'files', 'deleted')).toBeUndefined();
    expect(text).toMatch(/^temporal_workflow_completed_total\{.*workflow_type="ingestRegionWorkflow"/m);
    const lint = await promtoolCheckMetrics(text);
    expect(lint).toEqual({ code: 0, output: '' });

    // (b) A real Prometheus scraping the worker every second sees the same values.
    prom = await startPrometheus(path.join(dir, 'prometheus'), 'tributary', [`127.0.0.1:${port}`], 1);
    const q = prom;
    const value = (promql: string) =>
      waitFor(
        `${promql} in Prometheus (log ${q.log})`,
        20_000,
        async () => (await q.query(promql))[0]?.value,
      );
    expect(await value(`up{job="tributary"}`)).toBe(1);
    expect(await value(`tributary_ingest_lines_total{region="${region}",table="regional"}`)).toBe(lines);
    expect(await value(`tributary_egress_rows_total{region="${region}",table="central"}`)).toBe(approved);
    expect(
      await value(`sum(temporal_workflow_completed_total{workflow_type="ingestRegionWorkflow"})`),
    ).toBeGreaterThanOrEqual(1);
    rmSync(dir, { recursive: true, force: true }); // kept for reading when the test fails
  } finally {
    await prom?.stop();
    if (worker && worker.exitCode === null) {
      const exited = new Promise((res) => worker!.once('exit', res));
      worker.kill('SIGKILL');
      await exited;
    }
    await t.close();
    await loc.cleanup();
  }
});

test('worker --metrics-port refuses what is not a port, before reading any config', async () => {
  for (const bad of ['0', '65536x']) {
    const r = await cli('worker', '--task-queue', 'q', `--metrics-port=${bad}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error (BAD_INPUT): --metrics-port must be a port number from 1 to 65535, got ${JSON.stringify(bad)}`,
    );
  }
});

test('worker --metrics-port on a port in use fails with the address and what to do', async () => {
  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address() as net.AddressInfo;
  try {
    const loc = await createTestLocation('local');
    try {
      const { file } = writeLocalRegionConfig(loc.url, 'busy', { ingest: '{ maxFilesPerBatch: 2 }' });
      const r = await cli('worker', '--config', file, '--region', 'busy', '--metrics-port', String(port));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error (BAD_INPUT): cannot serve metrics on 127.0.0.1:${port}:`);
      expect(r.stderr).toContain('choose another --metrics-port or --metrics-host');
    } finally {
      await loc.cleanup();
    }
  } finally {
    srv.close();
  }
});
