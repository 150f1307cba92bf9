/** Runs the delta-rs interop peer (test/interop/deltars_tool.py) from the project's virtualenv. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../harness/services';
import { AZURITE_KEY, type BackendKind } from '../harness/stores';
import { requireService } from '../harness/env';

const run = promisify(execFile);
const PY = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const TOOL = path.join(__dirname, 'deltars_tool.py');

/** delta-rs storage options for a backend's emulator. */
export function deltaRsOptions(kind: BackendKind): Record<string, string> | undefined {
  if (kind === 's3')
    return {
      AWS_ENDPOINT_URL: requireService('s3').endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_ALLOW_HTTP: 'true',
      aws_conditional_put: 'etag',
    };
  if (kind === 'azure')
    return {
      azure_storage_account_name: 'devstoreaccount1',
      azure_storage_account_key: AZURITE_KEY,
      azure_storage_use_emulator: 'true',
    };
  // object_store takes fake-gcs-server's address from a service-account key with no OAuth.
  if (kind === 'gcs')
    return {
      google_service_account_key: JSON.stringify({
        gcs_base_url: requireService('gcs').endpoint,
        disable_oauth: true,
        client_email: '',
        private_key: '',
        private_key_id: '',
      }),
    };
  return undefined;
}

/** Extra environment delta-rs needs for a backend's emulator (object_store reads Azurite's address from it). */
function deltaRsEnv(kind: BackendKind): Record<string, string> {
  if (kind !== 'azure') return {};
  return { AZURITE_BLOB_STORAGE_URL: new URL(requireService('azure').endpoint).origin };
}

/**
 * How delta-rs addresses one of our table URLs: local tables by path; Azure as az://<container>/<path>
 * (the account comes from the options); S3 and GCS as they are.
 */
export function deltaRsUri(url: string): string {
  if (url.startsWith('file://')) return new URL(url).pathname;
  const az = /^az:\/\/[^/]+\/(.*)$/.exec(url);
  return az ? `az://${az[1]}` : url;
}

export async function deltaRs(args: string[], kind: BackendKind = 'local'): Promise<string> {
  if (!existsSync(PY)) throw new Error(`delta-rs peer needs ${PY}: run npm run services:install`);
  const env = {
    ...process.env,
    ...deltaRsEnv(kind),
    DELTARS_STORAGE_OPTIONS: JSON.stringify(deltaRsOptions(kind) ?? {}),
  };
  const { stdout } = await run(PY, [TOOL, ...args], { env, maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

export async function deltaRsRows(
  uri: string,
  kind: BackendKind = 'local',
  version?: number,
): Promise<Record<string, unknown>[]> {
  const out = await deltaRs(['read', uri, ...(version === undefined ? [] : [String(version)])], kind);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function deltaRsMeta(uri: string, kind: BackendKind = 'local') {
  return JSON.parse(await deltaRs(['meta', uri], kind)) as {
    version: number;
    files: number;
    partitionColumns: string[];
    schema: { fields: { name: string; type: unknown }[] };
    history: {
      version: number;
      operation: string;
      readVersion: number | null;
      isBlindAppend: boolean | null;
      engineInfo: string | null;
    }[];
  };
}

/** Scalars as strings, recursively, so rows from both engines compare independent of JSON number vs string. */
export function normalize(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object')
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, normalize(x)]));
  return String(v);
}

export const rowSet = (rows: Record<string, unknown>[]): string[] =>
  rows.map((r) => JSON.stringify(normalize(r))).sort();
