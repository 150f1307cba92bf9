/**
 * Store connection settings for the CLI, from the environment (credentials stay in each SDK's own chain):
 * TRIBUTARY_S3_ENDPOINT, TRIBUTARY_AZURE_ENDPOINT, TRIBUTARY_GCS_ENDPOINT point at emulators or
 * S3-compatible stores; AWS_*, AZURE_STORAGE_*, GOOGLE_* are read by the SDKs themselves.
 */
import type { StoreOptions } from '../lake/storage/open';
import { checkEndpoint } from '../lake/storage/url';

export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const o: StoreOptions = {};
  // Each must be an http(s) URL; the message names the variable (and never repeats its credentials).
  const get = (name: string) => (env[name] ? checkEndpoint(env[name], name) : undefined);
  const s3 = get('TRIBUTARY_S3_ENDPOINT');
  if (s3) o.s3 = { endpoint: s3, region: env.AWS_REGION ?? 'us-east-1' };
  const az = get('TRIBUTARY_AZURE_ENDPOINT');
  if (az) o.azure = { endpoint: az };
  const gcs = get('TRIBUTARY_GCS_ENDPOINT');
  if (gcs) o.gcs = { endpoint: gcs };
  return o;
}
