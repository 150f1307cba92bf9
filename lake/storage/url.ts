import { configInvalid } from '../errors';
import { redact } from '../redact';
import { CONTROL_CHAR, codePoint, pathProblem } from './keys';

/** Where a store lives, parsed from its URL. `prefix` never has leading or trailing '/'. */
export type StoreLocation =
  | { kind: 'local'; root: string }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'gcs'; bucket: string; prefix: string }
  | { kind: 'azure'; account: string; container: string; prefix: string };

const EXPECTED = 'expected file:///abs/path, s3://, gs://, az://, abfss:// or wasbs://';

/**
 * S3 and GCS bucket names: letters, digits, '-', '_' and '.', starting and ending with a letter or digit (the
 * services refine this; here only what could change the meaning of the URL is refused).
 */
const BUCKET = /^(?=.{1,222}$)[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
/** Azure storage account names: 3-24 lowercase letters and digits. */
const ACCOUNT = /^[a-z0-9]{3,24}$/;

/**
 * Parses `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix`, `az://account/container/prefix`,
 * `abfss://container@account.dfs.core.windows.net/prefix` and `wasbs://container@account.blob.core.windows.net/prefix`.
 * A bare absolute path is taken as a local path.
 *
 * The URL is read as written, never normalised: percent-escapes are decoded once, and the decoded root must be
 * canonical (pathProblem in keys.ts: no '.' or '..' segment, no '//', no backslash, no control character), the
 * same rule as object keys. Anything a URL parser would
 * silently drop or reinterpret is refused with the reason: query strings, fragments, credentials, ports,
 * relative `file:` URLs and file URLs with a host.
 */
export function parseStoreUrl(url: string): StoreLocation {
  const bad = (problem: string) =>
    configInvalid(`invalid storage URL ${JSON.stringify(redact(url))}: ${problem}`);
  if (typeof url !== 'string' || url === '') throw bad(`it is empty (${EXPECTED})`);
  const ctl = CONTROL_CHAR.exec(url);
  if (ctl) throw bad(`it contains the control character ${codePoint(ctl[0])}`);
  if (url.startsWith('/')) {
    const root = url.replace(/\/+$/, '');
    if (root === '') return { kind: 'local', root: '/' };
    const problem = pathProblem(root.slice(1));
    if (problem !== undefined) throw bad(`the path is not canonical: ${problem}`);
    return { kind: 'local', root };
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  if (!m) throw bad(`not a storage URL (${EXPECTED})`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (!['file', 's3', 's3a', 'gs', 'az', 'abfss', 'abfs', 'wasbs', 'wasb'].includes(scheme))
    throw bad(`unsupported storage scheme ${scheme}: (${EXPECTED})`);
  if (rest.includes('#'))
    throw bad("a fragment ('#…') is not part of a storage location (write a '#' in a name as %23)");
  if (rest.includes('?'))
    throw bad("a query string ('?…') is not part of a storage location (write a '?' in a name as %3F)");
  // file:/abs/path is the short form of file:///abs/path.
  const full = scheme === 'file' && /^\/(?!\/)/.test(rest) ? `//${rest}` : rest;
  if (!full.startsWith('//'))
    throw bad(
      scheme === 'file'
        ? 'a file: URL must be absolute, as file:///abs/path'
        : `expected ${scheme}://${scheme === 'az' ? 'account/container' : scheme.startsWith('s3') || scheme === 'gs' ? 'bucket' : '<container>@<account>'}/prefix`,
    );
  const slash = full.indexOf('/', 2);
  const authority = slash < 0 ? full.slice(2) : full.slice(2, slash);
  let path: string;
  try {
    path = decodeURIComponent(slash < 0 ? '' : full.slice(slash));
  } catch {
    throw bad("it has a malformed percent-escape ('%' must be followed by two hex digits; write '%' as %25)");
  }
  if (CONTROL_CHAR.test(path)) throw bad('it contains an escaped control character (such as %00)');
  const root = (where: string) => {
    // One '/' separates the authority from the path; 's3://bucket//p' would be the key '/p' on S3, 'p' elsewhere.
    const p = path.replace(/^\//, '').replace(/\/+$/, '');
    const problem = p === '' ? undefined : pathProblem(p);
    if (problem !== undefined) throw bad(`the ${where} is not canonical: ${problem}`);
    return p;
  };
  const plainHost = (what: string) => {
    if (authority.includes('@'))
      throw bad(
        `credentials ('user:password@') are not allowed in a storage URL; they come from the SDK's credential chain`,
      );
    if (authority.includes(':')) throw bad(`a port is not allowed after the ${what} name`);
  };
  switch (scheme) {
    case 'file': {
      if (authority !== '' && authority.toLowerCase() !== 'localhost')
        throw bad('a file: URL with a host (file://host/…) is not supported; use file:///abs/path');
      const p = root('path');
      return { kind: 'local', root: `/${p}` };
    }
    case 's3':
    case 's3a':
    case 'gs': {
      plainHost('bucket');
      if (!authority) throw bad('the bucket name is missing');
      if (!BUCKET.test(authority))
        throw bad(
          `invalid bucket name ${JSON.stringify(authority)}: letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
        );
      const prefix = root('prefix');
      return scheme === 'gs'
        ? { kind: 'gcs', bucket: authority, prefix }
        : { kind: 's3', bucket: authority, prefix };
    }
    case 'az': {
      plainHost('account');
      if (!ACCOUNT.test(authority))
        throw bad(
          authority
            ? `invalid Azure storage account name ${JSON.stringify(authority)}: 3-24 lowercase letters and digits`
            : 'expected az://account/container/prefix',
        );
      const p = root('path');
      const [container, ...tail] = p.split('/');
      if (!container) throw bad('expected az://account/container/prefix: the container is missing');
      return { kind: 'azure', account: authority, container, prefix: tail.join('/') };
    }
    default: {
      // abfss://container@account.dfs.core.windows.net/prefix and friends
      const service = scheme.startsWith('abfs') ? 'dfs' : 'blob';
      const at = authority.lastIndexOf('@');
      const user = at < 0 ? '' : authority.slice(0, at);
      const host = at < 0 ? authority : authority.slice(at + 1);
      if (user.includes(':'))
        throw bad(
          `a password ('container:…@') is not allowed in a storage URL; credentials come from the SDK's chain`,
        );
      if (host.includes(':')) throw bad('a port is not allowed after the host name');
      const hm = /^([a-z0-9]{3,24})\.(dfs|blob)\.core\.windows\.net$/i.exec(host);
      if (!user || !hm)
        throw bad(`expected ${scheme}://<container>@<account>.${service}.core.windows.net/prefix`);
      let container: string;
      try {
        container = decodeURIComponent(user);
      } catch {
        throw bad('the container name has a malformed percent-escape');
      }
      return { kind: 'azure', account: hm[1]!.toLowerCase(), container, prefix: root('prefix') };
    }
  }
}

/** Percent-escapes what parseStoreUrl would read differently ('%', '?', '#'), so a formatted URL parses back. */
const escapePath = (p: string) =>
  p.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Canonical URL of a location (the form `ObjectStore.url` reports); parseStoreUrl reads it back unchanged. */
export function formatStoreUrl(loc: StoreLocation): string {
  const tail = (p: string) => (p ? `/${escapePath(p)}` : '');
  switch (loc.kind) {
    case 'local':
      return `file://${escapePath(loc.root)}`;
    case 's3':
      return `s3://${loc.bucket}${tail(loc.prefix)}`;
    case 'gcs':
      return `gs://${loc.bucket}${tail(loc.prefix)}`;
    case 'azure':
      return `az://${loc.account}/${loc.container}${tail(loc.prefix)}`;
  }
}

/**
 * Checks a service endpoint setting (config `storage.<cloud>.endpoint`, env TRIBUTARY_<CLOUD>_ENDPOINT, or an
 * adapter option): an absolute http:// or https:// URL with a host and no fragment. `setting` names where it came
 * from. The message never repeats the endpoint's credentials or query string.
 */
export function checkEndpoint(value: string, setting: string): string {
  const bad = (problem: string) =>
    configInvalid(`invalid ${setting} ${JSON.stringify(redact(String(value)))}: ${problem}`);
  if (typeof value !== 'string' || value.trim() === '') throw bad('it is empty');
  if (CONTROL_CHAR.test(value) || /\s/.test(value))
    throw bad('it contains whitespace or a control character');
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw bad('not a URL (expected http://host:port or https://host)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw bad(`an endpoint must be an http:// or https:// URL, not ${u.protocol}`);
  if (!u.hostname) throw bad('the host is missing');
  if (value.includes('#')) throw bad("a fragment ('#…') is not allowed");
  return value;
}

/** The cloud a store URL lives in: `aws` (s3), `azure`, `gcp` (gs) or `local` (file). */
export function cloudOfUrl(url: string): 'aws' | 'azure' | 'gcp' | 'local' {
  const k = parseStoreUrl(url).kind;
  return k === 's3' ? 'aws' : k === 'gcs' ? 'gcp' : k;
}
