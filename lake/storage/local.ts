import { randomUUID } from 'node:crypto';
import {
  type Stats,
  constants as fsConstants,
  createReadStream,
  createWriteStream,
  promises as fs,
} from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { TributaryError, alreadyExists, notFound, transient } from '../errors';
import { checkKey, checkListPrefix, pathProblem } from './keys';
import { compareKeys, toBytes } from './object-store';
import type {
  Body,
  CopyFromOptions,
  GetOptions,
  ListOptions,
  ObjectLocation,
  ObjectMeta,
  ObjectStore,
  PutResult,
} from './object-store';

/** Temp files live next to their target (same filesystem, so link/rename are atomic) and are never listed. */
const TMP_MARK = '.tributary-tmp-';
/** Files whose stat a listing starts ahead of the one it yields. */
const STAT_AHEAD = 256;

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

const isMissing = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/**
 * A directory on the local filesystem as an ObjectStore. Atomic create-if-absent via temp file + link(2).
 *
 * Symbolic links are followed only while they stay inside the store root: a key whose real path (every link
 * resolved) is outside the root's real path is refused (BAD_INPUT) by reads, writes, deletes and listings, so a
 * data file linked to `/etc/passwd`, or a directory linked elsewhere, never reads or writes outside the table.
 */
export class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly url: string;
  /** The root's real path, once the root exists. */
  private realRoot: string | undefined;

  constructor(readonly root: string) {
    if (!path.isAbsolute(root))
      throw new TributaryError('CONFIG_INVALID', `local store root must be absolute: ${root}`);
    const trimmed = root.replace(/\/+$/, '');
    const problem = trimmed === '' ? undefined : pathProblem(trimmed.slice(1));
    if (problem !== undefined)
      throw new TributaryError(
        'CONFIG_INVALID',
        `invalid local store root ${JSON.stringify(root)}: ${problem}`,
      );
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  private async rootReal(): Promise<string> {
    this.realRoot ??= await fs.realpath(this.root);
    return this.realRoot;
  }

  /** Throws BAD_INPUT unless `real` (a resolved path) is the root's real path or under it. */
  private async checkInside(real: string, what: string): Promise<void> {
    const root = await this.rootReal();
    if (real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) return;
    throw new TributaryError(
      'BAD_INPUT',
      `${what} resolves through a symbolic link to ${real}, outside the store root ${this.root}: refused`,
    );
  }

  /** The real path of an existing key, checked to be inside the root (reads). */
  private async existing(key: string): Promise<string> {
    const file = this.file(key);
    const what = `${this.url}/${key}`;
    let real: string;
    try {
      real = await fs.realpath(file);
    } catch (e) {
      throw mapFsError(e, what);
    }
    await this.checkInside(real, what);
    return real;
  }

  /**
   * Checks that the directory that will hold `dst` is inside the root (its nearest existing ancestor, before
   * anything is created through it) and, with `create`, makes it. Returns whether the directory exists.
   */
  private async parentDir(dst: string, key: string, create: boolean): Promise<boolean> {
    const dir = path.dirname(dst);
    const what = `${this.url}/${key}`;
    let d = dir;
    let real: string | undefined;
    for (;;) {
      try {
        real = await fs.realpath(d);
        break;
      } catch (e) {
        if (!isMissing(e)) throw mapFsError(e, what);
        if (d.length <= this.root.length) break; // the root itself is missing: mkdir makes it
        d = path.dirname(d);
      }
    }
    if (real !== undefined) await this.checkInside(real, what);
    if (real !== undefined && d === dir) return true;
    if (!create) return false;
    await fs.mkdir(dir, { recursive: true });
    await this.checkInside(await fs.realpath(dir), what);
    return true;
  }

  async get(key: string, opts?: GetOptions): Promise<Uint8Array> {
    const file = await this.existing(key);
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
    const file = await this.existing(key);
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
      const st = await fs.stat(await this.existing(key));
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
      await this.parentDir(dst, key, true);
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
    checkListPrefix(prefix);
    // Walk only the deepest directory that contains every key with this prefix, children sorted so that
    // the depth-first walk yields keys in byte order ('dir' sorts as 'dir/').
    const slash = prefix.lastIndexOf('/');
    const baseKey = slash < 0 ? '' : prefix.slice(0, slash);
    const startAfter = opts?.startAfter;
    const { root, url } = this;
    try {
      await this.rootReal();
    } catch (e) {
      if (isMissing(e)) return;
      throw mapFsError(e, url);
    }
    const inside = (real: string, key: string) => this.checkInside(real, `${url}/${key}`);
    const where = (key: string) => (key === '' ? root : path.join(root, ...key.split('/')));
    /** Where a linked entry leads (inside the root, or refused); null when the link dangles. */
    const follow = async (key: string) => {
      try {
        const real = await fs.realpath(where(key));
        await inside(real, key);
        const st = await fs.stat(real);
        return { real, st };
      } catch (e) {
        if (e instanceof TributaryError) throw e;
        if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ELOOP') return null;
        throw mapFsError(e, `${url}/${key}`);
      }
    };
    /** `stack`: real paths of the directories being walked, to refuse a link back into one of them. */
    async function* walk(dirKey: string, dirReal: string, stack: Set<string>): AsyncIterable<ObjectMeta> {
      let entries;
      try {
        entries = await fs.readdir(dirReal, { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw mapFsError(e, `${url}/${dirKey}`);
      }
      const keyOf = (name: string) => (dirKey === '' ? name : `${dirKey}/${name}`);
      /** Whether an entry can hold keys of the listing: subtrees outside the prefix or before startAfter are skipped. */
      const wanted = (key: string, dir: boolean) => {
        if (dir) {
          const sub = `${key}/`;
          if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) return false;
          return startAfter === undefined || compareKeys(sub, startAfter) >= 0 || startAfter.startsWith(sub);
        }
        return key.startsWith(prefix) && (startAfter === undefined || compareKeys(key, startAfter) > 0);
      };
      // Names first (a log directory holds every commit: a listing from a version keeps a few of
      // thousands), then links followed and entries described only for what is left.
      const kept = entries.filter((d) => {
        if (d.name.startsWith(TMP_MARK)) return false;
        const key = keyOf(d.name);
        // A link may lead to a file or a directory: kept if either could be wanted, decided once followed.
        if (d.isSymbolicLink()) return wanted(key, true) || wanted(key, false);
        return (d.isDirectory() || d.isFile()) && wanted(key, d.isDirectory());
      });
      const linked = await Promise.all(kept.map((d) => (d.isSymbolicLink() ? follow(keyOf(d.name)) : null)));
      const items = kept
        .map((d, i) => {
          const key = keyOf(d.name);
          const link = linked[i];
          const dir = link ? link.st.isDirectory() : d.isDirectory();
          const file = link ? link.st.isFile() : d.isFile();
          const real = link ? link.real : path.join(dirReal, d.name);
          return { key, dir, file, real, sortKey: dir ? `${d.name}/` : d.name };
        })
        .filter((it) => (it.dir || it.file) && wanted(it.key, it.dir))
        .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
      // stat the files of this directory ahead of the one yielded, in blocks of STAT_AHEAD (libuv's pool), in
      // order: a caller that stops early (a log listed from a version up to another) stats only what it read.
      const stats: (Promise<Stats | null> | undefined)[] = [];
      const statAt = (j: number) => {
        const it = items[j];
        if (!it || it.dir || stats[j]) return;
        const p = fs
          .stat(it.real)
          .catch((e: NodeJS.ErrnoException) =>
            e.code === 'ENOENT' ? null : Promise.reject(mapFsError(e, `${url}/${it.key}`)),
          );
        p.catch(() => {}); // handled below; avoids unhandled rejections if the caller stops early
        stats[j] = p;
      };
      for (const [i, it] of items.entries()) {
        // Whole blocks, one block ahead: the pool stays busy while the caller reads the block before.
        if (i % STAT_AHEAD === 0)
          for (let j = i; j < Math.min(items.length, i + 2 * STAT_AHEAD); j++) statAt(j);
        if (it.dir) {
          if (stack.has(it.real))
            throw new TributaryError(
              'BAD_INPUT',
              `${url}/${it.key} is a symbolic link back into a directory that contains it (a loop): refused`,
            );
          stack.add(it.real);
          yield* walk(it.key, it.real, stack);
          stack.delete(it.real);
          continue;
        }
        const st = await stats[i];
        if (st) yield { key: it.key, size: st.size, etag: etagOf(st), lastModified: st.mtime };
      }
    }
    // The directory the walk starts from may itself be reached through a link.
    let baseReal: string;
    try {
      baseReal = await fs.realpath(where(baseKey));
    } catch (e) {
      if (isMissing(e)) return;
      throw mapFsError(e, `${url}/${baseKey}`);
    }
    await inside(baseReal, baseKey);
    const stack = new Set<string>();
    for (let d = baseReal; ; d = path.dirname(d)) {
      stack.add(d);
      if (d === path.dirname(d) || d === this.realRoot) break;
    }
    yield* walk(baseKey, baseReal, stack);
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    try {
      // unlink removes a link itself, never its target, but the directories on the way must be the root's.
      if (!(await this.parentDir(file, key, false))) return;
      await fs.unlink(file);
    } catch (e) {
      if (e instanceof TributaryError) throw e;
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
        this.existing(srcKey).then((src) =>
          fs.copyFile(src, tmp).catch((e) => {
            throw mapFsError(e, `${this.url}/${srcKey}`);
          }),
        ),
      (tmp, dst) => fs.rename(tmp, dst),
    );
  }

  /** The key's real path, checked to be inside the root (a key linked outside it is refused). */
  async locate(key: string): Promise<ObjectLocation> {
    return { kind: 'local', service: 'local', container: '', name: await this.existing(key) };
  }

  /** Any local file to local file: putFile, i.e. a reflink where the filesystem has them, else an in-kernel copy. */
  async copyFrom(src: ObjectStore, srcKey: string, dstKey: string, opts?: CopyFromOptions): Promise<boolean> {
    const loc = await src.locate?.(srcKey);
    if (!loc || loc.kind !== 'local') return false;
    opts?.signal?.throwIfAborted();
    try {
      await this.putFile(dstKey, loc.name);
    } catch (e) {
      // putFile names a missing file by its path; the caller knows it as a key of the source store.
      if (isMissing(e)) throw notFound(`${src.url}/${srcKey}`, e);
      throw e;
    }
    return true;
  }

  async close(): Promise<void> {}
}
