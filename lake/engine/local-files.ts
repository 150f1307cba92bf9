/**
 * DuckDB reads and writes local files only (no network extensions here), so objects in cloud stores are
 * staged through a private temp directory; local stores are used in place.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTributaryError } from '../errors';
import type { ObjectStore } from '../storage/object-store';
import { DEFAULT_RETRY, backoffDelay } from '../storage/retry';

let scratchDir: Promise<string> | undefined;
/**
 * The process's private scratch directory (made on first use, removed when the process exits, so a CLI
 * run leaves nothing behind in the temp directory; a killed process leaves it to the OS's temp cleanup).
 */
export function scratch(): Promise<string> {
  scratchDir ??= fs
    .mkdtemp(path.join(process.env.TRIBUTARY_SCRATCH ?? tmpdir(), 'tributary-'))
    .then((dir) => {
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      return dir;
    });
  return scratchDir;
}

/** Local path of a key when the store is a local directory, else undefined. */
export function localPathOf(store: ObjectStore, key: string): string | undefined {
  if (store.kind !== 'local' || !store.url.startsWith('file://')) return undefined;
  return path.join(fileURLToPath(store.url), ...key.split('/'));
}

export interface LocalFile {
  path: string;
  release(): Promise<void>;
}

/**
 * A local path holding the object's bytes: the file itself for local stores, a temp copy otherwise. A
 * download whose connection breaks part-way (transient) is started again, a bounded number of times: the
 * store retries opening a stream but not a body once bytes flowed, and one broken file out of a batch's
 * hundreds would otherwise fail the whole batch on every try.
 */
export async function materialize(store: ObjectStore, key: string): Promise<LocalFile> {
  const direct = localPathOf(store, key);
  if (direct) {
    await store.head(key); // NOT_FOUND as a typed error rather than a DuckDB IO error
    return { path: direct, release: async () => {} };
  }
  const file = path.join(await scratch(), `${randomUUID()}${path.extname(key)}`);
  const release = () => fs.rm(file, { force: true });
  for (let attempt = 0; ; attempt++) {
    const body = await store.getStream(key);
    try {
      await pipeline(body, createWriteStream(file));
      return { path: file, release };
    } catch (e) {
      if (!isTributaryError(e, 'STORAGE_TRANSIENT') || attempt + 1 >= DEFAULT_RETRY.maxAttempts) {
        await release();
        throw e;
      }
      await sleep(backoffDelay(DEFAULT_RETRY, attempt));
    }
  }
}

/** A temp path to write to, then upload under `key` (or move into place for local stores). */
export async function stageOutput(ext: string): Promise<{ path: string; discard(): Promise<void> }> {
  const file = path.join(await scratch(), `${randomUUID()}${ext}`);
  return { path: file, discard: () => fs.rm(file, { force: true }) };
}

/** A temp directory path (not yet created) for a writer that creates it, e.g. a partitioned COPY. */
export async function stageDir(): Promise<{ path: string; discard(): Promise<void> }> {
  const dir = path.join(await scratch(), randomUUID());
  return { path: dir, discard: () => fs.rm(dir, { recursive: true, force: true }) };
}

export async function uploadFile(store: ObjectStore, localPath: string, key: string): Promise<number> {
  const size = (await fs.stat(localPath)).size;
  await store.putFile(key, localPath);
  return size;
}
