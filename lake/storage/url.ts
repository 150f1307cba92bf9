import { fileURLToPath } from 'node:url';
import { configInvalid } from '../errors';

/** Where a store lives, parsed from its URL. `prefix` never has leading or trailing '/'. */
export type StoreLocation =
  | { kind: 'local'; root: string }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'gcs'; bucket: string; prefix: string }
  | { kind: 'azure'; account: string; container: string; prefix: string };

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

/**
 * Parses `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix`, `az://account/container/prefix`,
 * `abfss://container@account.dfs.core.windows.net/prefix` and `wasbs://container@account.blob.core.windows.net/prefix`.
 * A bare absolute path is taken as a local path.
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('/')) return { kind: 'local', root: url.replace(/\/+$/, '') || '/' };
  let u: URL;
  try {
    u = new URL(url);
  } catch (e) {
    throw configInvalid(
      `not a storage URL: ${JSON.stringify(url)} (expected file://, s3://, gs://, az://, abfss:// or wasbs://)`,
      e,
    );
  }
  const pathPart = trimSlashes(decodeURIComponent(u.pathname));
  switch (u.protocol) {
    case 'file:':
      return { kind: 'local', root: fileURLToPath(u).replace(/\/+$/, '') || '/' };
    case 's3:':
    case 's3a:':
      if (!u.hostname) throw configInvalid(`missing bucket in ${url}`);
      return { kind: 's3', bucket: u.hostname, prefix: pathPart };
    case 'gs:':
      if (!u.hostname) throw configInvalid(`missing bucket in ${url}`);
      return { kind: 'gcs', bucket: u.hostname, prefix: pathPart };
    case 'az:': {
      const [container, ...rest] = pathPart.split('/');
      if (!u.hostname || !container)
        throw configInvalid(`expected az://account/container/prefix, got ${url}`);
      return { kind: 'azure', account: u.hostname, container, prefix: rest.join('/') };
    }
    case 'abfss:':
    case 'abfs:':
    case 'wasbs:':
    case 'wasb:': {
      const m = /^([^.]+)\.(dfs|blob)\.core\.windows\.net$/.exec(u.hostname);
      if (!u.username || !m)
        throw configInvalid(
          `expected ${u.protocol}//container@account.${u.protocol.startsWith('abfs') ? 'dfs' : 'blob'}.core.windows.net/prefix, got ${url}`,
        );
      return { kind: 'azure', account: m[1]!, container: decodeURIComponent(u.username), prefix: pathPart };
    }
    default:
      throw configInvalid(`unsupported storage scheme ${u.protocol} in ${url}`);
  }
}

/** Canonical URL of a location (the form `ObjectStore.url` reports). */
export function formatStoreUrl(loc: StoreLocation): string {
  const tail = (p: string) => (p ? `/${p}` : '');
  switch (loc.kind) {
    case 'local':
      return `file://${loc.root}`;
    case 's3':
      return `s3://${loc.bucket}${tail(loc.prefix)}`;
    case 'gcs':
      return `gs://${loc.bucket}${tail(loc.prefix)}`;
    case 'azure':
      return `az://${loc.account}/${loc.container}${tail(loc.prefix)}`;
  }
}
