/** Activity options shared by the pipeline workflows: retry cloud faults, never retry bad config or data. */
import { ActivityFailure, type ActivityOptions, ApplicationFailure } from '@temporalio/workflow';

/** TributaryError codes that retrying cannot fix (see lake/errors.ts). */
export const NON_RETRYABLE = ['CONFIG_INVALID', 'AUTH', 'PROTOCOL_UNSUPPORTED', 'BAD_INPUT', 'INVALID_LOG'];

export const pipelineIo = (startToCloseTimeout: ActivityOptions['startToCloseTimeout']): ActivityOptions => ({
  startToCloseTimeout,
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/**
 * The message of an activity failure that retrying cannot fix: activities/failures.ts (asUnexpected) makes
 * every unexpected error (a bug, a DuckDB refusal, a file that cannot be decoded) INTERNAL and not retried
 * by Temporal, so the workflow retries the item a bounded number of times and then isolates it.
 * Undefined for any other failure (those keep Temporal's retry policy).
 */
export function deterministicFailure(e: unknown): string | undefined {
  if (!(e instanceof ActivityFailure) || !(e.cause instanceof ApplicationFailure)) return undefined;
  return e.cause.type === 'INTERNAL' ? e.cause.message : undefined;
}

/** Control-plane activities (Schedules, runs, small storage reads): short, heartbeating, quick retries. */
export const controlActivity = {
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '10 seconds',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
} as const;
