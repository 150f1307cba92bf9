/** Activity options shared by the pipeline workflows: retry cloud faults, never retry bad config or data. */
import type { ActivityOptions } from '@temporalio/workflow';

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
