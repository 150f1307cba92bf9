/**
 * The one way an activity heartbeats: `beat(details)` on progress, and a timer that repeats the last
 * details while the attempt is alive. Progress alone is not enough: a clone still planning, a commit
 * waiting out its backoff or a store that answers slowly reports nothing for a while, and a heartbeat
 * timeout then declares a live attempt dead and starts another one (on a loaded machine, over and over).
 * The timer keeps a live attempt alive; a killed worker still stops heartbeating, so it is retried after
 * the heartbeat timeout. The start-to-close timeout bounds an attempt that hangs.
 */
import { Context } from '@temporalio/activity';

/** Beats at this interval, or a third of the heartbeat timeout when that is shorter (least 100 ms). */
const MAX_EVERY_MS = 5000;

export type Beat = (details?: unknown) => void;

export async function beating<T>(fn: (beat: Beat) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  const every = Math.max(100, Math.min(MAX_EVERY_MS, timeoutMs ? timeoutMs / 3 : MAX_EVERY_MS));
  let last: unknown;
  const beat: Beat = (d) => {
    if (d !== undefined) last = d;
    ctx.heartbeat(last);
  };
  // No beat before fn's own first one: its details come first (a retry resumes from the last ones), and the
  // timer's first beat is due well within the timeout.
  const timer = setInterval(() => beat(), every);
  try {
    return await fn(beat);
  } finally {
    clearInterval(timer);
  }
}

/** Every activity of `fns` runs inside `beating` (those that never report progress). */
export const allBeating = <T extends Record<string, (req: never) => Promise<unknown>>>(fns: T): T =>
  Object.fromEntries(Object.entries(fns).map(([k, fn]) => [k, (req: never) => beating(() => fn(req))])) as T;
