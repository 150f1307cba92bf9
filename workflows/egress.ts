/** egressRegionWorkflow: egress batches until central reflects the region's latest source version. */
import {
  type ActivityOptions,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { EgressActivities, EgressTarget } from '../activities/egress';
import { pipelineIo } from './activity-options';

const io = pipelineIo('1 hour');

export interface EgressRegionInput {
  target: EgressTarget;
  /** Heartbeat timeout of the egress activity (how soon a dead worker's batch is retried elsewhere). Default 2 minutes. */
  heartbeatTimeout?: string;
  carried?: EgressRunSummary;
}

export interface EgressRunSummary {
  batches: number;
  rows: number;
  sourceVersion: number;
  latestSourceVersion: number;
  skippedChangeCommits: number[];
}

export const egressProgressQuery = defineQuery<EgressRunSummary>('egressProgress');

export async function egressRegionWorkflow(input: EgressRegionInput): Promise<EgressRunSummary> {
  const s: EgressRunSummary = input.carried ?? {
    batches: 0,
    rows: 0,
    sourceVersion: -1,
    latestSourceVersion: -1,
    skippedChangeCommits: [],
  };
  setHandler(egressProgressQuery, () => s);
  const hb: Partial<ActivityOptions> = input.heartbeatTimeout
    ? { heartbeatTimeout: input.heartbeatTimeout as ActivityOptions['heartbeatTimeout'] }
    : {};
  const { egressBatch } = proxyActivities<EgressActivities>({ ...io, ...hb });
  for (;;) {
    const r = await egressBatch(input.target);
    if (r.filesRead > 0 || r.sourceVersion > s.sourceVersion) s.batches++;
    s.rows += r.rowsEgressed;
    s.sourceVersion = r.sourceVersion;
    s.latestSourceVersion = r.latestSourceVersion;
    s.skippedChangeCommits.push(...r.skippedChangeCommits);
    if (r.caughtUp) return s;
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof egressRegionWorkflow>({ ...input, carried: s });
  }
}
