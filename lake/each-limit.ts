/**
 * Runs `fn` on every item, at most `limit` at a time. After a failure no further item starts; the call
 * waits for the ones already started (nothing is left running behind the caller's back), then throws the
 * first failure.
 */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number, lane: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { e: unknown } | undefined;
  // `lane` (0 … limit - 1) says which of the concurrent runners took the item: a runner may hold a resource
  // of its own (a connection), used by one item at a time.
  const worker = async (lane: number) => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i, lane);
      } catch (e) {
        failed ??= { e };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, (_, lane) => worker(lane)),
  );
  if (failed) throw failed.e;
}
