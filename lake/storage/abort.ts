/** Abort signals the adapters hand to cloud SDKs: the caller's own signal, plus deadlines of their own. */

/**
 * A controller that aborts when `signal` does (with its reason), or when the adapter aborts it itself.
 * `unlink` stops following `signal`; call it when the operation is over.
 */
export function linkedAbort(signal: AbortSignal | undefined): {
  controller: AbortController;
  unlink(): void;
} {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => signal?.removeEventListener('abort', onAbort) };
}

/**
 * Runs one SDK call under a deadline: past `ms` its signal aborts, as it does when the caller's `signal`
 * does. The adapters report an abort that was not the caller's as transient, to be retried.
 */
export async function withDeadline<T>(
  ms: number,
  signal: AbortSignal | undefined,
  call: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { controller, unlink } = linkedAbort(signal);
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
    unlink();
  }
}
