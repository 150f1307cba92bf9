import { TributaryError } from '../errors';

/**
 * Object keys are '/'-separated, relative to a store's root, never empty, never starting with '/',
 * and without '.' or '..' segments (so a key can never escape its root on any backend).
 */
export function checkKey(key: string): string {
  if (
    key.length === 0 ||
    key.startsWith('/') ||
    key.split('/').some((s) => s === '.' || s === '..' || s === '')
  ) {
    throw new TributaryError('BAD_INPUT', `invalid object key ${JSON.stringify(key)}`);
  }
  return key;
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
