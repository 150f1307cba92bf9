import { TributaryError } from '../errors';

/**
 * The one check of object keys, store roots and list prefixes, used by every adapter and by parseStoreUrl.
 *
 * A canonical path is '/'-separated and relative: no leading or trailing '/', no empty segment ('a//b'), no '.'
 * or '..' segment, no control character. Such a path names the same object on every backend: nothing resolves it
 * to something else (the Azure SDK and the local filesystem resolve dot segments, S3 and GCS keep them literally),
 * so a key can never leave its root and a root can never leave its bucket or container.
 */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;

/** `U+0000` for a character. */
export const codePoint = (c: string) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

export function pathProblem(p: string): string | undefined {
  const ctl = CONTROL_CHAR.exec(p);
  if (ctl) return `it contains the control character ${codePoint(ctl[0])}`;
  // Azure (and Azurite) store a '\\' as '/', so 'a\\..\\b' would be 'a/../b' there, and Windows reads it as a
  // separator: a backslash cannot name the same object on every backend.
  if (p.includes('\\')) return "it contains a backslash ('\\', a path separator on Azure and Windows)";
  if (p.startsWith('/')) return "it starts with '/'";
  if (p.endsWith('/')) return "it ends with '/'";
  for (const s of p.split('/')) {
    if (s === '') return "it has an empty segment ('//')";
    if (s === '.' || s === '..') return `it has a '${s}' segment`;
  }
  return undefined;
}

/**
 * Object keys are relative to a store's root, never empty, and canonical (see pathProblem), so a key can never
 * escape its root on any backend.
 */
export function checkKey(key: string): string {
  const problem = key.length === 0 ? 'it is empty' : pathProblem(key);
  if (problem !== undefined)
    throw new TributaryError('BAD_INPUT', `invalid object key ${JSON.stringify(key)}: ${problem}`);
  return key;
}

/**
 * A store's root prefix inside its bucket or container: '' or a canonical path ('a/b'). Leading and trailing '/'
 * are dropped first (`s3://bucket/a/b/` is `a/b`); anything else non-canonical is refused, naming the problem.
 */
export function checkRoot(prefix: string, where = 'store root'): string {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  const problem = p === '' ? undefined : pathProblem(p);
  if (problem !== undefined)
    throw new TributaryError('CONFIG_INVALID', `invalid ${where} ${JSON.stringify(prefix)}: ${problem}`);
  return p;
}

/**
 * A list prefix is a plain string prefix, not a directory: its last segment may be partial or empty ('a/' and
 * 'a/par' are fine), but the segments before it are key segments and must be canonical.
 */
export function checkListPrefix(prefix: string): string {
  const slash = prefix.lastIndexOf('/');
  const dirs = slash < 0 ? '' : prefix.slice(0, slash);
  const last = prefix.slice(slash + 1);
  const ctl = CONTROL_CHAR.exec(last);
  const problem =
    (dirs === '' ? (slash === 0 ? "it starts with '/'" : undefined) : pathProblem(dirs)) ??
    (ctl ? `it contains the control character ${codePoint(ctl[0])}` : undefined);
  if (problem !== undefined)
    throw new TributaryError('BAD_INPUT', `invalid list prefix ${JSON.stringify(prefix)}: ${problem}`);
  return prefix;
}

/** Joins a root prefix ('' or 'a/b') and a relative key or prefix. */
export const joinPrefix = (root: string, key: string): string => (root === '' ? key : `${root}/${key}`);

/** Strips a root prefix from a full key returned by a listing. */
export function stripRoot(root: string, full: string): string {
  if (root === '') return full;
  if (!full.startsWith(`${root}/`))
    throw new TributaryError('INTERNAL', `key ${full} is outside root ${root}`);
  return full.slice(root.length + 1);
}
