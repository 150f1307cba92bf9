/**
 * Ingestion activities. Built by a factory that receives how to open stores (the worker wires real
 * endpoints); they heartbeat progress and are safe to run twice.
 */
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../lake/storage/object-store';
import { ingestBatch as runBatch } from './batch';
import { planBatches as runPlan } from './plan';
import type {
  BatchResumePoint,
  IngestBatchRequest,
  IngestBatchResult,
  PlanRequest,
  PlanResult,
} from './types';

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
    // A retry resumes from the last heartbeat of the failed attempt: once that attempt had its files written
    // and quarantine committed, only the commit is left to do.
    const prior = ctx.info.heartbeatDetails as { resume?: BatchResumePoint } | undefined;
    const resume = prior?.resume?.seq === req.seq ? prior.resume : undefined;
    ctx.heartbeat({ seq: req.seq, filesDone: 0, ...(resume ? { resume } : {}) });
    return runBatch(
      {
        ...deps,
        resume,
        progress: (p) => ctx.heartbeat({ seq: req.seq, ...p }),
        ready: (p) => ctx.heartbeat({ seq: req.seq, stage: 'ready', resume: p }),
      },
      req,
    );
  },
});

export type IngestActivities = ReturnType<typeof createIngestActivities>;
export * from './types';
