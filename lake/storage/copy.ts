import type { ObjectStore } from './object-store';

/**
 * Copies one object between stores: server-side when both keys live in the same store,
 * otherwise streamed (never held whole in memory), also across clouds.
 */
export async function copyBetween(
  src: ObjectStore,
  srcKey: string,
  dst: ObjectStore,
  dstKey: string,
): Promise<void> {
  if (src === dst || src.url === dst.url) return src.copy(srcKey, dstKey);
  await dst.putStream(dstKey, await src.getStream(srcKey));
}
