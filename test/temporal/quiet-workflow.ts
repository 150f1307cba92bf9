/** The workflow of heartbeat.test.ts: one activity with a 1 s heartbeat timeout and a single attempt. */
import { proxyActivities } from '@temporalio/workflow';

export interface QuietActivities {
  quiet(ms: number): Promise<number>;
}

export async function quietWorkflow(ms: number): Promise<number> {
  const { quiet } = proxyActivities<QuietActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: '1 second',
    retry: { maximumAttempts: 1 },
  });
  return quiet(ms);
}
