/**
 * The only place that knows ApplicationFailure: a TributaryError leaves an activity as a failure whose
 * `type` is the error code (what retry policies and workflows match on) and whose `nonRetryable`
 * follows the error's own `retryable`.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { TributaryError } from '../lake/errors';

/**
 * Maps a TributaryError to an ApplicationFailure. Anything else is returned unchanged: the SDK already
 * turns a plain Error into a retryable failure typed by its name, and a CancelledFailure must stay one.
 */
export function toFailure(e: unknown): unknown {
  if (!(e instanceof TributaryError)) return e;
  // The TributaryError itself is not the cause (that would repeat the message as a second failure typed
  // `TributaryError(CODE)`): its origin stack and underlying cause are kept instead.
  const failure = ApplicationFailure.create({
    type: e.code,
    message: e.message,
    nonRetryable: !e.retryable,
    cause: e.cause instanceof Error ? e.cause : undefined,
  });
  failure.stack = e.stack;
  return failure;
}

type ActivityFn = (...args: never[]) => Promise<unknown>;

/** Applies toFailure to every activity of a factory result; names and signatures are unchanged. */
export function wrapActivities<T extends Record<string, ActivityFn>>(activities: T): T {
  const wrapped: Record<string, ActivityFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const call = fn as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await call(...args);
      } catch (e) {
        throw toFailure(e);
      }
    };
  }
  return wrapped as T;
}
