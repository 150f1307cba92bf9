import { randomUUID } from 'node:crypto';
import { constants as fsConstants, createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { TributaryError, alreadyExists, notFound, transient } from '../errors';
import { checkKey } from './keys';
import { compareKeys, toBytes } from './object-store';
import type { Body, GetOptions, ListOptions, ObjectMeta, ObjectStore, PutResult } from './object-store';

/** Temp files live next to their target (same filesystem, so link/rename are atomic) and are never listed. */
const TMP_MARK = '.tributary-tmp-';

function mapFsError(e: unknown, what: string): TributaryError {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return notFound(what, e);
  if (code === 'EEXIST') return alreadyExists(what, e);
  if (code === 'EACCES' || code === 'EPERM')
    return new TributaryError('AUTH', `permission denied on ${what}`, { cause: e });
  if (code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY' || code === 'EIO')
    return transient(`transient filesystem error ${code} on ${what}`, e);
  return new TributaryError('INTERNAL', `filesystem error ${code ?? String(e)} on ${what}`, { cause: e });
}

const etagOf = (st: { mtimeMs: number; size: number; ino: number }) =>
  `${st.ino}-${st.size}-${Math.round(st.mtimeMs * 1000)}`;

/** A directory on the local filesystem as an ObjectStore. Atomic create-if-absent via temp file + link(2). */
export class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly url: string;

  constructor(readonly root: string) {
    if (!path.isAbsolute(root))
      throw new TributaryError('CONFIG_INVALID', `local store root must be absolute: ${root}`);
    this.url = pathToFileURL(root).href;
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async get(key: string, opts?: GetOptions): Promise<Uint8Array> {
    const file = this.file(key);
    try {
      if (!opts?.range) return await fs.readFile(file, { signal: opts?.signal });
      const fh = await fs.open(file, 'r');
      try {
        const size = (await fh.stat()).size;
        const end = Math.min(opts.range.end ?? size, size);
        const len = Math.max(0, end - opts.range.start);
        const buf = Buffer.alloc(len);
        let off = 0;
        while (off < len) {
          const { bytesRead } = await fh.read(buf, off, len - off, opts.range.start + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
        return buf.subarray(0, off);
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw mapFsError(e, `${this.url}/${key}`);
    }
  }

  async getStream(key: string, opts?: GetOptions): Promise<Readable> {
    const file = this.file(key);
    try {
      await fs.access(file);
    } catch (e) {
      throw mapFsError(e, `${this.url}/${key}`);
    }
    const r = opts?.range;
    return createReadStream(file, {
      start: r?.start,
      end: r?.end === undefined ? undefined : r.end - 1,
      signal: opts?.signal,
      highWaterMark: 1 << 20, // 1 MiB reads: a 64 KiB default spends more time in round trips than reading
    });
  }

  async head(key: string): Promise<ObjectMeta> {
    try {
      const st = await fs.stat(this.file(key));
      if (!st.isFile()) throw notFound(`${this.url}/${key}`);
      return { key, size: st.size, etag: etagOf(st), lastModified: st.mtime };
    } catch (e) {
      throw e instanceof TributaryError ? e : mapFsError(e, `${this.url}/${key}`);
    }
  }

  /** Writes to a temp file beside the target (fsynced), then hands it to `publish`. */
  private async viaTemp(
    key: string,
    write: (tmp: string) => Promise<void>,
    publish: (tmp: string, dst: string) => Promise<void>,
  ): Promise<PutResult> {
    const dst = this.file(key);
    const tmp = path.join(path.dirname(dst), `${TMP_MARK}${randomUUID()}`);
    try {
      await fs.mkdir(path.dirname(dst), { recursive: true });
      await write(tmp);
      await publish(tmp, dst);
      return { etag: etagOf(await fs.stat(dst)) };
    } catch (e) {
      throw e instanceof TributaryError ? e : mapFsError(e, `${this.url}/${key}`);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  private static async writeSynced(tmp: string, bytes: Uint8Array): Promise<void> {
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  put(key: string, body: Body): Promise<PutResult> {
    return this.viaTemp(
      key,
      (tmp) => LocalStore.writeSynced(tmp, toBytes(body)),
      (tmp, dst) => fs.rename(tmp, dst),
    );
  }

  putStream(key: string, body: Readable): Promise<PutResult> {
    return this.viaTemp(
      key,
      (tmp) => pipeline(body, createWriteStream(tmp, { flags: 'wx' })),
      (tmp, dst) => fs.rename(tmp, dst),
    );
  }

  async putFile(key: string, localPath: string): Promise<PutResult> {
    await fs.access(localPath); // a missing source fails naming it, not as a missing object of this store
    return this.viaTemp(
      key,
      (tmp) => fs.copyFile(localPath, tmp, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE),
      (tmp, dst) => fs.rename(tmp, dst),
    );
  }

  putIfAbsent(key: string, body: Body): Promise<PutResult> {
    // link(2) fails with EEXIST if the target exists, and the target appears complete or not at all.
    return this.viaTemp(
      key,
      (tmp) => LocalStore.writeSynced(tmp, toBytes(body)),
      async (tmp, dst) => {
        try {
          await fs.link(tmp, dst);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw alreadyExists(`${this.url}/${key}`, e);
          throw e;
        }
      },
    );
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectMeta> {
    // Walk only the deepest directory that contains every key with this prefix, children sorted so that
    // the depth-first walk yields keys in byte order ('dir' sorts as 'dir/').
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash < 0 ? '' : prefix.slice(0, slash);
    const startAfter = opts?.startAfter;
    const { root, url } = this;
    async function* walk(dirKey: string): AsyncIterable<ObjectMeta> {
      const dir = dirKey === '' ? root : path.join(root, ...dirKey.split('/'));
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw mapFsError(e, `${url}/${dirKey}`);
      }
      const items = entries
        .filter((d) => !d.name.startsWith(TMP_MARK) && (d.isDirectory() || d.isFile()))
        .map((d) => {
          const key = dirKey === '' ? d.name : `${dirKey}/${d.name}`;
          return { key, dir: d.isDirectory(), sortKey: d.isDirectory() ? `${d.name}/` : d.name };
        })
        .filter((it) => {
          if (it.dir) {
            // Skip subtrees entirely outside the prefix or before startAfter.
            const sub = `${it.key}/`;
            if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) return false;
            return (
              startAfter === undefined || compareKeys(sub, startAfter) >= 0 || startAfter.startsWith(sub)
            );
          }
          return (
            it.key.startsWith(prefix) && (startAfter === undefined || compareKeys(it.key, startAfter) > 0)
          );
        })
        .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
      // stat the files of this directory concurrently (libuv's pool), then yield in order.
      const stats = items.map((it) =>
        it.dir
          ? undefined
          : fs
              .stat(path.join(root, ...it.key.split('/')))
              .catch((e: NodeJS.ErrnoException) =>
                e.code === 'ENOENT' ? null : Promise.reject(mapFsError(e, `${url}/${it.key}`)),
              ),
      );
      for (const p of stats) p?.catch(() => {}); // handled below; avoids unhandled rejections if the caller stops early
      for (const [i, it] of items.entries()) {
        if (it.dir) {
          yield* walk(it.key);
          continue;
        }
        const st = await stats[i];
        if (st) yield { key: it.key, size: st.size, etag: etagOf(st), lastModified: st.mtime };
      }
    }
    yield* walk(baseKey);
  }

  async delete(key: string): Promise<void> {
    try {
      await fs.unlink(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw mapFsError(e, `${this.url}/${key}`);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) await this.delete(k);
  }

  async copy(srcKey: string, dstKey: string): Promise<void> {
    await this.viaTemp(
      dstKey,
      (tmp) =>
        fs.copyFile(this.file(srcKey), tmp).catch((e) => {
          throw mapFsError(e, `${this.url}/${srcKey}`);
        }),
      (tmp, dst) => fs.rename(tmp, dst),
    );
  }

  async close(): Promise<void> {}
}
