/**
 * Replica-promotion activities: thin wrappers over lake/table (the final clone, the plan's reads) and the
 * Temporal Client (given by the worker; a worker without one refuses these with a clear error). Each is
 * idempotent.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { TributaryError } from '../../lake/errors';
import type {
  FinalCloneOutcome,
  PromoteReplicaInput,
  PromotionPlan,
  StoppedRun,
  SwitchedSchedule,
} from '../../shapes/promote';
import { beating } from '../heartbeat';
import { finalClone as runFinalClone } from './final-clone';
import { type Open, planPromotion as plan } from './plan';
import {
  type SwitchScheduleRequest,
  pauseSchedules as pause,
  stopRuns as stop,
  switchSchedule as sw,
} from './switch';

export type { SwitchScheduleRequest };

export interface PromoteDeps {
  open: Open;
  /** The Temporal Client of the worker (made on first use). */
  temporal?: () => Client;
  /** How long a read of the table being left may take before it counts as down (ms). Default 15 s. */
  readTimeoutMs?: number;
}

export const createPromoteActivities = (deps: PromoteDeps) => {
  const client = (): Client => {
    if (!deps.temporal)
      throw new TributaryError(
        'CONFIG_INVALID',
        'this worker has no Temporal client for promotion activities: run it with createRegionWorker or `tributary worker`',
      );
    return deps.temporal();
  };
  const beat = () => Context.current().heartbeat();
  return {
    async pausePromotedSchedules(req: { name: string; scheduleIds: string[] }): Promise<string[]> {
      return pause(client(), req.name, req.scheduleIds);
    },
    async stopPromotedRuns(req: {
      workflowIds: string[];
      scheduleIds: string[];
      reason: string;
    }): Promise<StoppedRun[]> {
      return stop(client(), req, beat);
    },
    async finalCloneForPromotion(req: {
      from: string;
      to: string;
      replace: boolean;
      timeoutMs: number;
    }): Promise<FinalCloneOutcome> {
      const signal = Context.current().cancellationSignal;
      return beating((beat) => runFinalClone(deps.open, req, beat, signal));
    },
    async planPromotion(req: {
      input: PromoteReplicaInput;
      finalClone?: FinalCloneOutcome;
    }): Promise<PromotionPlan> {
      const c = client();
      return beating(() =>
        plan(
          {
            open: deps.open,
            client: c,
            ...(deps.readTimeoutMs ? { readTimeoutMs: deps.readTimeoutMs } : {}),
          },
          req.input,
          req.finalClone,
        ),
      );
    },
    async switchPromotedSchedule(
      req: Omit<SwitchScheduleRequest, 'record'> & { reason?: string },
    ): Promise<SwitchedSchedule> {
      const by = Context.current().info.workflowExecution?.workflowId ?? 'an operator';
      const { reason, ...rest } = req;
      return sw(client(), {
        ...rest,
        record: { at: new Date().toISOString(), by, ...(reason ? { reason } : {}) },
      });
    },
  };
};

export type PromoteActivities = ReturnType<typeof createPromoteActivities>;
