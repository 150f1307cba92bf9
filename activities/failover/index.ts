/**
 * Compute-failover activities: thin wrappers over the Temporal Client (given by the worker; a worker
 * without one refuses these activities with a clear error). Each is idempotent.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { TributaryError } from '../../lake/errors';
import type { FailoverPlan, FailoverRegionInput, ScheduleMove } from '../../shapes/failover';
import { planRegionFailover } from './plan';
import {
  type RestartRunRequest,
  type StopRunRequest,
  type StopRunResult,
  restartRun as restart,
  stopRun as stop,
} from './runs';
import { type MoveScheduleRequest, moveSchedule as move } from './schedule';

export type { MoveScheduleRequest, RestartRunRequest, StopRunRequest, StopRunResult };

export interface FailoverDeps {
  /** The Temporal Client of the worker (made on first use). */
  temporal?: () => Client;
  now?: () => Date;
}

export const createFailoverActivities = (deps: FailoverDeps = {}) => {
  const client = (): Client => {
    if (!deps.temporal)
      throw new TributaryError(
        'CONFIG_INVALID',
        'this worker has no Temporal client for failover activities: run it with createRegionWorker or `tributary worker`',
      );
    return deps.temporal();
  };
  const now = deps.now ?? (() => new Date());
  const beat = () => Context.current().heartbeat();
  return {
    async planRegionFailover(input: FailoverRegionInput): Promise<FailoverPlan> {
      return planRegionFailover(client(), input);
    },
    async moveSchedule(req: Omit<MoveScheduleRequest, 'by'>): Promise<ScheduleMove> {
      const by = Context.current().info.workflowExecution?.workflowId ?? 'an operator';
      return move(client(), { ...req, by }, now());
    },
    async stopRun(req: StopRunRequest): Promise<StopRunResult> {
      return stop(client(), req, beat);
    },
    async restartRun(req: RestartRunRequest): ReturnType<typeof restart> {
      return restart(client(), req, beat);
    },
  };
};

export type FailoverActivities = ReturnType<typeof createFailoverActivities>;
