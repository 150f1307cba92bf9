/** Egress activities: built by a factory with how to open stores; heartbeat; safe to run twice. */
import { Context } from '@temporalio/activity';
import { type EgressDeps, egressBatch as runBatch } from './batch';
import type { EgressBatchResult, EgressTarget } from './types';

export const createEgressActivities = (deps: EgressDeps) => ({
  async egressBatch(target: EgressTarget): Promise<EgressBatchResult> {
    const ctx = Context.current();
    ctx.heartbeat({ region: target.region, stage: 'start' });
    return runBatch({ ...deps, progress: (p) => ctx.heartbeat({ region: target.region, ...p }) }, target);
  },
});

export type EgressActivities = ReturnType<typeof createEgressActivities>;
export * from './types';
