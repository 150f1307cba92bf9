/**
 * Store connection settings for the CLI, from the environment (credentials stay in each SDK's own chain):
 * TRIBUTARY_S3_ENDPOINT, TRIBUTARY_AZURE_ENDPOINT, TRIBUTARY_GCS_ENDPOINT point at emulators or
 * S3-compatible stores; AWS_*, AZURE_STORAGE_*, GOOGLE_* are read by the SDKs themselves.
 */
import type { StoreOptions } from '../lake/storage/open';

export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const o: StoreOptions = {};
  if (env.TRIBUTARY_S3_ENDPOINT)
    o.s3 = { endpoint: env.TRIBUTARY_S3_ENDPOINT, region: env.AWS_REGION ?? 'us-east-1' };
  if (env.TRIBUTARY_AZURE_ENDPOINT) o.azure = { endpoint: env.TRIBUTARY_AZURE_ENDPOINT };
  if (env.TRIBUTARY_GCS_ENDPOINT) o.gcs = { endpoint: env.TRIBUTARY_GCS_ENDPOINT };
  return o;
}
