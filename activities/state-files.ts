/** Tributary's own JSON state files kept beside a table (`_tributary/…`): read and parsed with a clear error. */
import { TributaryError } from '../lake/errors';
import type { ObjectStore } from '../lake/storage/object-store';

/** Reads `key` as JSON; a file that does not parse is INVALID_LOG naming it (`what`: "ingest state file"). */
export async function readStateJson<T>(store: ObjectStore, key: string, what: string): Promise<T> {
  const text = Buffer.from(await store.get(key)).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new TributaryError(
      'INVALID_LOG',
      `${what} ${store.url}/${key} is corrupt: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}
