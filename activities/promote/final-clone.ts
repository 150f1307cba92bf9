/** The last clone before a switch, tried against a table that may be down: a bounded time, then given up. */
import { excerpt } from '../../lake/redact';
import { type CloneProgress, cloneTable } from '../../lake/table/clone';
import type { FinalCloneOutcome } from '../../shapes/promote';
import type { Open } from './plan';

export async function finalClone(
  open: Open,
  req: { from: string; to: string; replace: boolean; timeoutMs: number },
  onProgress: (p: CloneProgress) => void,
  signal?: AbortSignal,
): Promise<FinalCloneOutcome> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal?.addEventListener('abort', stop);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new Error(`${req.from} did not answer within ${req.timeoutMs / 1000} s`));
    }, req.timeoutMs);
  });
  try {
    const run = (async () =>
      cloneTable(await open(req.from), await open(req.to), {
        ...(req.replace ? { replace: true } : {}),
        signal: ac.signal,
        onProgress,
      }))();
    run.catch(() => {}); // its rejection after the deadline is not this attempt's failure
    const r = await Promise.race([run, deadline]);
    return {
      ok: true,
      sourceVersion: r.sourceVersion,
      targetVersion: r.targetVersion,
      mode: r.mode,
      copiedFiles: r.metrics.numCopiedFiles,
      copiedBytes: r.metrics.copiedFilesSize,
    };
  } catch (e) {
    if (signal?.aborted) throw e;
    return { ok: false, error: excerpt(e instanceof Error ? e.message : String(e)) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}
