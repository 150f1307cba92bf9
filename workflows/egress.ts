/** egressRegionWorkflow: egress batches until central reflects the region's latest source version. */
import { continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EgressActivities, EgressTarget } from '../activities/egress';
import { pipelineIo } from './activity-options';

const io = pipelineIo('1 hour');
const { egressBatch } = proxyActivities<EgressActivities>(io);

export interface EgressRegionInput {
  target: EgressTarget;
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
