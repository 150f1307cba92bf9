/**
 * Ingestion activities. Built by a factory that receives how to open stores (the worker wires real
 * endpoints); they heartbeat progress and are safe to run twice.
 */
import { Context } from '@temporalio/activity';
import type { ObjectStore } from '../../lake/storage/object-store';
import { asUnexpected } from '../failures';
import { beating } from '../heartbeat';
import { type PipelineMetrics, type TableLabels, noMetrics } from '../metrics';
import { ingestBatch as runBatch } from './batch';
import { isolateBatch } from './isolate';
import { planBatches as runPlan } from './plan';
import type {
  BatchResumePoint,
  IngestBatchRequest,
  IngestBatchResult,
  IsolateBatchRequest,
  IsolateBatchResult,
  PlanRequest,
  PlanResult,
} from './types';

export interface IngestDeps {
  open(url: string): Promise<ObjectStore>;
  /** Where batch results and backlogs are reported (default: nowhere). */
  metrics?: PipelineMetrics;
}

const labelsOf = (req: { target: { region: string } }): TableLabels => ({
  region: req.target.region,
  table: 'regional',
});

export const createIngestActivities = ({ metrics = noMetrics, ...deps }: IngestDeps) => ({
  async planIngestBatches(req: PlanRequest): Promise<PlanResult> {
    // An unexpected error is INTERNAL and not retried by Temporal (a bug in planning would loop for ever):
    // the workflow fails with it, visibly, and the next scheduled run tries again.
    const plan = await beating((beat) => {
      beat({ stage: 'listing' });
      return runPlan(deps, req);
    }).catch((e: unknown) => {
      throw asUnexpected(e);
    });
    metrics.ingestPlan(plan, labelsOf(req));
    return plan;
  },

  async ingestBatch(req: IngestBatchRequest): Promise<IngestBatchResult> {
    const ctx = Context.current();
    const t0 = Date.now();
    // A retry resumes from the last heartbeat of the failed attempt: once that attempt had its files written
    // and quarantine committed, only the commit is left to do.
    const prior = ctx.info.heartbeatDetails as { resume?: BatchResumePoint } | undefined;
    const resume = prior?.resume?.seq === req.seq ? prior.resume : undefined;
    try {
      const r = await beating((beat) => {
        beat({ seq: req.seq, filesDone: 0, ...(resume ? { resume } : {}) });
        return runBatch(
          {
            ...deps,
            resume,
            progress: (p) => beat({ seq: req.seq, ...p }),
            ready: (p) => beat({ seq: req.seq, stage: 'ready', resume: p }),
          },
          req,
        );
      });
      metrics.ingestBatch(r, Date.now() - t0, labelsOf(req));
      return r;
    } catch (e) {
      // An unexpected error goes to the workflow (not retried here): it retries a bounded number of times,
      // then isolates the lines that cause it.
      throw asUnexpected(e);
    }
  },

  /** Finds the lines (or files) of a batch that make it fail on every try; see isolate.ts. */
  async isolateIngestBatch(req: IsolateBatchRequest): Promise<IsolateBatchResult> {
    return beating((beat) => {
      beat({ seq: req.seq, stage: 'isolating' });
      return isolateBatch({ ...deps, progress: (p) => beat({ seq: req.seq, ...p }) }, req);
    }).catch((e: unknown) => {
      throw asUnexpected(e);
    });
  },
});

export type IngestActivities = ReturnType<typeof createIngestActivities>;
export * from './types';
