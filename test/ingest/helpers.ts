/** Shared pieces of the ingestion tests: raw log files, a worker on the dev server, table reads. */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { IngestTarget } from '../../shapes/targets';
import type { ObjectStore } from '../../lake/storage/object-store';
import { Snapshot } from '../../lake/delta/snapshot';
import { scanRows } from '../../lake/engine/scan';
import { defaultEngine, loadSnapshotOrUndefined } from '../../lake/table/operations';
import { requireService } from '../harness/env';
import { randomUUID } from 'node:crypto';
import { createRegionWorker } from '../../workers/region-worker';
import type { IngestRunSummary } from '../../workflows/ingest';

let runtimeInstalled = false;
export function quietTemporal(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export async function temporal(): Promise<{
  client: Client;
  native: NativeConnection;
  close(): Promise<void>;
}> {
  quietTemporal();
  const { endpoint } = requireService('temporal');
  const connection = await Connection.connect({ address: endpoint });
  const native = await NativeConnection.connect({ address: endpoint });
  return {
    client: new Client({ connection }),
    native,
    close: async () => (await connection.close(), await native.close()),
  };
}

let bundle: Promise<{ code: string }> | undefined;
export const workflowBundle = () =>
  (bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never,
  }));

const SERVICES = ['api', 'auth', 'billing', 'search', 'checkout'];
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/** Deterministic realistic log lines: nested fields, a few hundred ids, egress flags (some null). */
export function logLines(file: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const k = file * 1000 + i;
    return JSON.stringify({
      ts: new Date(Date.UTC(2024, 4, 1 + (k % 3), 0, 0, k % 60, k % 1000)).toISOString(),
      service: SERVICES[k % SERVICES.length],
      level: LEVELS[k % LEVELS.length],
      msg: `request ${k} handled`,
      latency_ms: (k * 37) % 1000,
      http: { method: k % 2 ? 'GET' : 'POST', status: 200 + (k % 5) * 100, path: `/v1/items/${k % 300}` },
      egress_approved: k % 3 === 0 ? true : k % 3 === 1 ? false : null,
    });
  });
}

/** Writes `files` raw files (every third gzipped) and returns the total number of lines. */
export async function writeRawFiles(
  raw: ObjectStore,
  files: number,
  linesPerFile: number,
  prefix = 'logs',
): Promise<number> {
  for (let f = 0; f < files; f++) {
    const text = logLines(f, linesPerFile).join('\n') + '\n';
    if (f % 3 === 2) await raw.put(`${prefix}/part-${String(f).padStart(4, '0')}.jsonl.gz`, gzipSync(text));
    else await raw.put(`${prefix}/part-${String(f).padStart(4, '0')}.jsonl`, text);
  }
  return files * linesPerFile;
}

/** An ingestion target under one location: raw files in /raw, the table in /table, quarantine beside it. */
export function ingestTargetAt(base: string, region: string, maxFilesPerBatch = 100): IngestTarget {
  return {
    region,
    raw: `${base}/raw`,
    table: `${base}/table`,
    quarantine: `${base}/table_quarantine`,
    maxFilesPerBatch,
    maxBytesPerBatch: 1 << 30,
    maxLineBytes: 1 << 20,
    eventTimeColumn: 'ts',
  };
}

export async function tableRows(store: ObjectStore): Promise<Record<string, unknown>[]> {
  const snap = await loadSnapshotOrUndefined(store, defaultEngine);
  return snap ? scanRows(store, snap) : [];
}

export async function snapshot(store: ObjectStore) {
  return Snapshot.load(store, defaultEngine);
}

/** Every (file, line) exactly once. */
export function sourceKeys(rows: Record<string, unknown>[]): { unique: number; total: number } {
  const keys = new Set(rows.map((r) => `${r._source_file}#${r._source_line}`));
  return { unique: keys.size, total: rows.length };
}

/**
 * A one-region deployment config on a local test location (raw files under /raw, table under /table),
 * written as YAML the way an operator would, for tests that drive the CLI.
 */
export function writeLocalRegionConfig(
  locUrl: string,
  region: string,
  extra: { taskQueue?: string; ingest: string; central?: string },
): { file: string; config: Config } {
  const yaml = `
temporal: { address: "${requireService('temporal').endpoint}" }
regions:
  - name: ${region}
    cloud: local
    raw: ${locUrl}/raw
    table: ${locUrl}/table
${extra.taskQueue ? `    taskQueue: ${extra.taskQueue}\n` : ''}    ingest: ${extra.ingest}
${extra.central ? `central: ${extra.central}\n` : ''}`;
  const file = path.join(new URL(locUrl).pathname, 'tributary.yaml');
  writeFileSync(file, yaml);
  return { file, config: parseConfig(yaml, file) };
}

/** One ingestRegionWorkflow run of `target` on the dev server, with a worker of its own; its summary. */
export async function runIngestRegion(target: IngestTarget, name: string): Promise<IngestRunSummary> {
  const t = await temporal();
  const taskQueue = `test-${name}-${randomUUID().slice(0, 8)}`;
  const w = await createRegionWorker({
    connection: t.native,
    taskQueue,
    storeOptions: {},
    workflowBundle: await workflowBundle(),
  });
  try {
    return (await w.worker.runUntil(
      t.client.workflow.execute('ingestRegionWorkflow', {
        taskQueue,
        workflowId: `${name}-${randomUUID()}`,
        args: [{ target }],
        workflowExecutionTimeout: '8 minutes',
      }),
    )) as IngestRunSummary;
  } finally {
    await w.close();
    await t.close();
  }
}
