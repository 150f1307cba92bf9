/**
 * The only place that knows ApplicationFailure: a TributaryError leaves an activity as a failure whose
 * `type` is the error code (what retry policies and workflows match on) and whose `nonRetryable`
 * follows the error's own `retryable`.
 */
import { types } from 'node:util';
import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { engineMessage as engineText } from '../lake/engine/errors';
import { TributaryError } from '../lake/errors';
import { redact } from '../lake/redact';

/**
 * An Error of any realm: errors a native addon (DuckDB) makes come from the main realm's Error, which is
 * not the `Error` of code running in another context (a vm sandbox, as under jest), so `instanceof` alone
 * would let them pass as non-errors and keep Temporal's retry-for-ever policy.
 */
const isError = (e: unknown): e is Error => e instanceof Error || types.isNativeError(e);

/**
 * Longest message (and stack) an activity failure carries. Temporal refuses a failure beyond its payload
 * limit ("Failure exceeds size limit") and then reports neither the error nor its cause; DuckDB puts whole
 * types and SQL in its messages (a 1,000-level nested struct type is 12 KB of text).
 */
export const MAX_FAILURE_MESSAGE = 4096;

/** `text` cut to `max` characters, saying how much was left out. */
export function boundText(text: string, max = MAX_FAILURE_MESSAGE): string {
  if (text.length <= max) return text;
  const note = ` … [${text.length - max} more characters cut]`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/**
 * An engine error's message fit for a reason or a log: DuckDB's first paragraph without the `LINE 1: <the
 * query>` excerpt of our internal SQL and internal names, bounded (lake/engine/errors.ts, the one mapping).
 */
export function engineMessage(e: unknown): string {
  return engineText(isError(e) ? e.message : String(e));
}

/**
 * An error of any kind with its message and stack redacted (lake/redact.ts: an SDK error's message carries
 * request URLs with credentials and query strings) and bounded (the same object when nothing changes).
 */
function bounded(e: Error): Error {
  const message = boundText(redact(e.message));
  const stack = e.stack ?? '';
  const rest = boundText(redact(stack.split('\n').slice(1).join('\n')), 4 * MAX_FAILURE_MESSAGE);
  if (message === e.message && `${e.name}: ${message}\n${rest}` === stack) return e;
  const b = new Error(message);
  b.name = e.name;
  b.stack = `${b.name}: ${b.message}\n${rest}`;
  return b;
}

/**
 * Maps a TributaryError to an ApplicationFailure. Anything else is returned unchanged: the SDK already
 * turns a plain Error into a retryable failure typed by its name, and a CancelledFailure must stay one.
 */
export function toFailure(e: unknown): unknown {
  if (!(e instanceof TributaryError))
    return isError(e) && !(e instanceof ApplicationFailure || e instanceof CancelledFailure) ? bounded(e) : e;
  // The TributaryError itself is not the cause (that would repeat the message as a second failure typed
  // `TributaryError(CODE)`): its origin stack and underlying cause are kept instead.
  const failure = ApplicationFailure.create({
    type: e.code,
    message: boundText(e.message),
    nonRetryable: !e.retryable,
    cause: isError(e.cause) ? bounded(e.cause) : undefined,
  });
  failure.stack = boundText(e.stack ?? '', 4 * MAX_FAILURE_MESSAGE);
  return failure;
}

/**
 * What an unexpected error (not a TributaryError: a bug, a DuckDB refusal, a stack overflow) becomes in a
 * pipeline activity: INTERNAL and not retried by Temporal, so the workflow sees it, retries the item a
 * bounded number of times and then isolates what fails (an unexpected error on the same data is
 * expected again). TributaryErrors, transient or not, are left as they are.
 */
export function asUnexpected(e: unknown): unknown {
  if (e instanceof TributaryError || !isError(e)) return e;
  if (e instanceof ApplicationFailure || e instanceof CancelledFailure) return e;
  return new TributaryError('INTERNAL', boundText(`unexpected ${e.name}: ${e.message}`), {
    cause: bounded(e),
    retryable: false,
  });
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
