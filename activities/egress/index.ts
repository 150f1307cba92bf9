/** Egress activities: built by a factory with how to open stores; heartbeat; safe to run twice. */
import { Context } from '@temporalio/activity';
import { asUnexpected } from '../failures';
import { type EgressDeps, egressBatch as runBatch } from './batch';
import { isolateEgressBatch as isolate } from './isolate';
import type {
  EgressBatchOptions,
  EgressBatchResult,
  IsolateEgressRequest,
  IsolateEgressResult,
} from './types';
import type { EgressTarget } from '../../shapes/targets';

export const createEgressActivities = (deps: EgressDeps) => ({
  async egressBatch(target: EgressTarget, opts?: EgressBatchOptions): Promise<EgressBatchResult> {
    const ctx = Context.current();
    ctx.heartbeat({ region: target.region, stage: 'start' });
    try {
      return await runBatch(
        { ...deps, progress: (p) => ctx.heartbeat({ region: target.region, ...p }) },
        target,
        opts ?? {},
      );
    } catch (e) {
      // An unexpected error (a file DuckDB cannot read, a bug) goes to the workflow, not retried here: it
      // retries a bounded number of times, then isolates the source files that cause it.
      throw asUnexpected(e);
    }
  },

  /** Finds the source files of a batch that make it fail on every try; see isolate.ts. */
  async isolateEgressBatch(req: IsolateEgressRequest): Promise<IsolateEgressResult> {
    const ctx = Context.current();
    ctx.heartbeat({ region: req.target.region, stage: 'isolating' });
    try {
      return await isolate(
        { ...deps, progress: (p) => ctx.heartbeat({ region: req.target.region, stage: 'isolating', ...p }) },
        req,
      );
    } catch (e) {
      throw asUnexpected(e);
    }
  },
});

export type EgressActivities = ReturnType<typeof createEgressActivities>;
export * from './types';
