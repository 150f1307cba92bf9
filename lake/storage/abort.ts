/**
 * Abort signals the adapters hand to cloud SDKs (the caller's own signal, plus deadlines of their own), and
 * deadlines for download and upload bodies that stop flowing.
 */
import { PassThrough, type Readable, pipeline } from 'node:stream';
import { transient } from '../errors';

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

/**
 * Calls `stalled` once `heldUp()` has been true, checked a few times a deadline, for `ms` since the last
 * `progress()` (or since it turned true). `stop()` ends the watch.
 */
function watchProgress(
  ms: number,
  heldUp: () => boolean,
  stalled: () => void,
): { progress(): void; stop(): void } {
  let last = Date.now();
  const timer = setInterval(
    () => {
      if (!heldUp()) last = Date.now();
      else if (Date.now() - last >= ms) {
        clearInterval(timer);
        stalled();
      }
    },
    Math.max(10, Math.min(1000, ms / 4)),
  );
  timer.unref();
  return { progress: () => (last = Date.now()), stop: () => clearInterval(timer) };
}

/**
 * Ends `out` (the stream a caller reads, with `src` piped into it) with a transient error naming `what`
 * once `src` has delivered no bytes for `ms` while the reader is ready for more: a download whose
 * connection went quiet fails (and is retried) instead of hanging its reader. Time the reader spends not
 * reading (backpressure has paused `src`) does not count.
 */
export function stallDeadline(src: Readable, out: PassThrough, ms: number, what: string): void {
  const watch = watchProgress(
    ms,
    () => !(src.isPaused() || out.writableNeedDrain),
    () => out.destroy(transient(`no data for ${ms} ms reading ${what}: download stalled`)),
  );
  src.on('data', watch.progress);
  src.once('end', watch.stop);
  src.once('close', watch.stop);
  out.once('close', watch.stop);
}

/**
 * An upload under a progress deadline. The SDK reads `body` through the returned stream and takes the
 * returned signal, which aborts as the caller's `signal` does, and also once the upload has held up for
 * `ms`: the SDK took no bytes while the body had some ready, or it had all of them and did not finish. A
 * service that stops reading a request or never answers it fails the upload instead of hanging it; a body
 * that is slow to come is not held against the service. `stalled(e)` is the transient error (naming `what`)
 * to report instead of `e` when the deadline is why the upload failed. Call `done()` when the upload is
 * over, whatever its outcome.
 */
export function uploadDeadline(
  body: Readable,
  ms: number,
  what: string,
  signal: AbortSignal | undefined,
): { body: Readable; signal: AbortSignal; stalled(e: unknown): Error | undefined; done(): void } {
  const { controller, unlink } = linkedAbort(signal);
  const out = new PassThrough();
  let ended = false;
  let stalled = false;
  // Held up by the SDK: `out` is full (it stopped reading), or the body is all handed over (after its end
  // or its failure the body gives nothing more, so any wait is the SDK's).
  const watch = watchProgress(
    ms,
    () => ended || out.writableNeedDrain,
    () => {
      stalled = true;
      unlink();
      controller.abort();
    },
  );
  const over = () => {
    if (ended) return;
    ended = true;
    watch.progress();
  };
  body.on('data', watch.progress);
  body.once('end', over);
  body.once('close', over);
  // A body error reaches the SDK through `out`; the SDK destroying `out` closes `body`.
  pipeline(body, out, () => {});
  return {
    body: out,
    signal: controller.signal,
    stalled: (e) =>
      stalled ? transient(`no progress for ${ms} ms writing ${what}: upload stalled`, e) : undefined,
    done: () => {
      watch.stop();
      unlink();
    },
  };
}
