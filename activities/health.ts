/** A trivial activity that proves a worker is polling its queue and can heartbeat. */
import { heartbeat } from '@temporalio/activity';

export interface EchoRequest {
  message: string;
}

export interface EchoResult {
  message: string;
  /** The process that ran the activity, so a caller can tell which worker answered. */
  workerPid: number;
  /** ISO-8601 time the activity ran. */
  at: string;
}

export const createHealthActivities = (deps: { now?: () => Date } = {}) => {
  const now = deps.now ?? (() => new Date());
  return {
    async echo(req: EchoRequest): Promise<EchoResult> {
      heartbeat();
      return { message: req.message, workerPid: process.pid, at: now().toISOString() };
    },
  };
};
