/**
 * Ingestion activities. Built by a factory that receives how to open stores (the worker wires real
 * endpoints); they heartbeat progress and are safe to run twice.
 */
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../lake/storage/object-store';
import { ingestBatch as runBatch } from './batch';
import { planBatches as runPlan } from './plan';
import type { IngestBatchRequest, IngestBatchResult, PlanRequest, PlanResult } from './types';

export interface IngestDeps {
  open(url: string): Promise<ObjectStore>;
}

export const createIngestActivities = (deps: IngestDeps) => ({
  async planIngestBatches(req: PlanRequest): Promise<PlanResult> {
    Context.current().heartbeat({ stage: 'listing' });
    return runPlan(deps, req);
  },

  async ingestBatch(req: IngestBatchRequest): Promise<IngestBatchResult> {
    const ctx = Context.current();
    ctx.heartbeat({ seq: req.seq, filesDone: 0 });
    return runBatch({ ...deps, progress: (p) => ctx.heartbeat({ seq: req.seq, ...p }) }, req);
  },
});

export type IngestActivities = ReturnType<typeof createIngestActivities>;
export * from './types';
