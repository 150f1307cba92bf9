// Types only: the adapters themselves (and their SDKs) are loaded when a store of that kind is opened.
import type { AzureStoreOptions } from './azure';
import type { GcsStoreOptions } from './gcs';
import { LocalStore } from './local';
import type { ObjectStore } from './object-store';
import { type RetryPolicy, withRetries } from './retry';
import type { S3StoreOptions } from './s3';
import { checkEndpoint, parseStoreUrl } from './url';

/**
 * Per-cloud connection settings. Credentials come from each SDK's standard chain unless given here;
 * `endpoint` points at an emulator or an S3-compatible store.
 */
export interface StoreOptions {
  s3?: Omit<S3StoreOptions, 'bucket' | 'prefix'>;
  azure?: Omit<AzureStoreOptions, 'account' | 'container' | 'prefix'>;
  gcs?: Omit<GcsStoreOptions, 'bucket' | 'prefix'>;
  retry?: RetryPolicy;
  /**
   * Wraps each raw adapter before the retries go around it (tests: lake/storage/faults.ts withFaults, so
   * injected faults meet the same retries, commit loop and activity mapping as a flaky cloud's).
   */
  decorate?: (raw: ObjectStore) => ObjectStore;
}

/**
 * Opens the ObjectStore for a URL (see parseStoreUrl), wrapped with bounded retries of transient
 * failures. Cloud SDKs are loaded only when a store of that kind is opened. Endpoints in `opts` must be
 * http(s) URLs (checkEndpoint).
 */
export async function openStore(url: string, opts: StoreOptions = {}): Promise<ObjectStore> {
  const loc = parseStoreUrl(url);
  // Every endpoint, wherever it came from (config, TRIBUTARY_*_ENDPOINT, a caller), is checked here.
  for (const cloud of ['s3', 'azure', 'gcs'] as const) {
    const endpoint = opts[cloud]?.endpoint;
    if (endpoint !== undefined) checkEndpoint(endpoint, `${cloud} endpoint`);
  }
  let raw: ObjectStore;
  switch (loc.kind) {
    case 'local':
      raw = new LocalStore(loc.root);
      break;
    case 's3': {
      // require (not import()): lazy, and resolvable under every loader (tsx/cjs, jest, compiled).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { S3Store } = require('./s3') as typeof import('./s3');
      raw = new S3Store({ bucket: loc.bucket, prefix: loc.prefix, ...opts.s3 });
      break;
    }
    case 'azure': {
      // require (not import()): lazy, and resolvable under every loader (tsx/cjs, jest, compiled).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { AzureStore } = require('./azure') as typeof import('./azure');
      raw = new AzureStore({
        account: loc.account,
        container: loc.container,
        prefix: loc.prefix,
        ...opts.azure,
      });
      break;
    }
    case 'gcs': {
      // require (not import()): lazy, and resolvable under every loader (tsx/cjs, jest, compiled).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { GcsStore } = require('./gcs') as typeof import('./gcs');
      raw = new GcsStore({ bucket: loc.bucket, prefix: loc.prefix, ...opts.gcs });
      break;
    }
  }
  return withRetries(opts.decorate ? opts.decorate(raw) : raw, opts.retry);
}
