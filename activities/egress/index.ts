/** Egress activities: built by a factory with how to open stores; heartbeat; safe to run twice. */
import { Context } from '@temporalio/activity';
import { commitTimestamps } from '../../lake/delta/snapshot';
import { asUnexpected } from '../failures';
import { beating } from '../heartbeat';
import { type EgressLag, type PipelineMetrics, noMetrics } from '../metrics';
import { type EgressDeps, egressBatch as runBatch } from './batch';
import { isolateEgressBatch as isolate } from './isolate';
import type {
  EgressBatchOptions,
  EgressBatchResult,
  IsolateEgressRequest,
  IsolateEgressResult,
} from './types';
import type { EgressTarget } from '../../shapes/targets';

export interface EgressActivityDeps extends EgressDeps {
  /** Where batch results and central's lag are reported (default: nowhere). */
  metrics?: PipelineMetrics;
}

/**
 * How far central is behind the source after a batch: the versions it lacks, and when the oldest of them
 * was committed (read from the source's log only when behind, and only for metrics).
 */
async function lagOf(deps: EgressDeps, target: EgressTarget, r: EgressBatchResult): Promise<EgressLag> {
  const versions = Math.max(0, r.latestSourceVersion - r.sourceVersion);
  if (versions === 0) return { versions };
  const times = await commitTimestamps(await deps.open(target.source));
  const oldest = times.find((t) => t.version > r.sourceVersion);
  return { versions, ...(oldest ? { oldestMissingCommitAt: oldest.timestamp } : {}) };
}

export const createEgressActivities = ({ metrics = noMetrics, ...deps }: EgressActivityDeps) => ({
  async egressBatch(target: EgressTarget, opts?: EgressBatchOptions): Promise<EgressBatchResult> {
    const ctx = Context.current();
    const t0 = Date.now();
    try {
      return await beating(async (beat) => {
        beat({ region: target.region, stage: 'start' });
        const r = await runBatch(
          { ...deps, progress: (p) => beat({ region: target.region, ...p }) },
          target,
          opts ?? {},
        );
        if (metrics !== noMetrics) {
          const duration = Date.now() - t0;
          // The batch is committed: a lag that cannot be read is logged, never a failure of the batch.
          const lag = await lagOf(deps, target, r).catch((e: unknown) => {
            ctx.log.warn('egress lag not read', { region: target.region, error: String(e) });
            return { versions: Math.max(0, r.latestSourceVersion - r.sourceVersion) };
          });
          metrics.egressBatch(r, lag, duration, { region: target.region, table: 'central' });
        }
        return r;
      });
    } catch (e) {
      // An unexpected error (a file DuckDB cannot read, a bug) goes to the workflow, not retried here: it
      // retries a bounded number of times, then isolates the source files that cause it.
      throw asUnexpected(e);
    }
  },

  /** Finds the source files of a batch that make it fail on every try; see isolate.ts. */
  async isolateEgressBatch(req: IsolateEgressRequest): Promise<IsolateEgressResult> {
    try {
      return await beating((beat) => {
        beat({ region: req.target.region, stage: 'isolating' });
        return isolate(
          { ...deps, progress: (p) => beat({ region: req.target.region, stage: 'isolating', ...p }) },
          req,
        );
      });
    } catch (e) {
      throw asUnexpected(e);
    }
  },
});

export type EgressActivities = ReturnType<typeof createEgressActivities>;
export * from './types';
