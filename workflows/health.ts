import { proxyActivities } from '@temporalio/workflow';
import type { EchoRequest, EchoResult, createHealthActivities } from '../activities/health';

// A probe should answer or fail quickly, not retry for ever.
const probe = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
} as const;

const { echo } = proxyActivities<ReturnType<typeof createHealthActivities>>(probe);

export type HealthCheckRequest = EchoRequest;
export type HealthCheckResult = EchoResult;

/** Round trip client → workflow → activity on the worker's queue → back. */
export async function healthCheckWorkflow(req: HealthCheckRequest): Promise<HealthCheckResult> {
  return echo(req);
}
