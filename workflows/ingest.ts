/**
 * ingestRegionWorkflow: plan → ingest batches in order → re-plan, until the region is caught up.
 * Deterministic orchestration only: URLs are opaque strings, all I/O happens in activities.
 */
import {
  type ActivityOptions,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { IngestActivities, IngestBatchResult, IngestCounts, IngestTarget } from '../activities/ingest';
import { pipelineIo } from './activity-options';

const shortIo = pipelineIo('10 minutes');
const bulkIo = pipelineIo('2 hours');

export interface IngestRegionInput {
  target: IngestTarget;
  /** Batches planned ahead per listing. */
  maxBatchesPerPlan?: number;
  /** Heartbeat timeout of the activities (how soon a dead worker's activity is retried elsewhere). Default 2 minutes. */
  heartbeatTimeout?: string;
  /** Totals carried across continue-as-new. */
  carried?: IngestRunSummary;
}

export interface IngestRunSummary extends IngestCounts {
  batches: number;
  lastSeq: number;
  lastVersion: number;
  backlogFiles: number;
}

export const ingestProgressQuery = defineQuery<IngestRunSummary>('ingestProgress');

const empty = (): IngestRunSummary => ({
  batches: 0,
  files: 0,
  bytes: 0,
  lines: 0,
  rows: 0,
  quarantined: 0,
  rescued: 0,
  lastSeq: -1,
  lastVersion: -1,
  backlogFiles: 0,
});

function add(s: IngestRunSummary, r: IngestBatchResult): void {
  s.batches++;
  s.files += r.files;
  s.bytes += r.bytes;
  s.lines += r.lines;
  s.rows += r.rows;
  s.quarantined += r.quarantined;
  s.rescued += r.rescued;
  s.lastSeq = r.seq;
  s.lastVersion = r.version;
}

export async function ingestRegionWorkflow(input: IngestRegionInput): Promise<IngestRunSummary> {
  if (!input?.target?.region)
    throw ApplicationFailure.nonRetryable(
      'ingestRegionWorkflow needs { target: { region, raw, table, … } }',
      'CONFIG_INVALID',
    );
  const hb: Partial<ActivityOptions> = input.heartbeatTimeout
    ? { heartbeatTimeout: input.heartbeatTimeout as ActivityOptions['heartbeatTimeout'] }
    : {};
  const { planIngestBatches } = proxyActivities<IngestActivities>({ ...shortIo, ...hb });
  const { ingestBatch } = proxyActivities<IngestActivities>({ ...bulkIo, ...hb });
  const summary = input.carried ?? empty();
  setHandler(ingestProgressQuery, () => summary);
  for (;;) {
    const plan = await planIngestBatches({ target: input.target, maxBatches: input.maxBatchesPerPlan ?? 8 });
    summary.backlogFiles = plan.backlogFiles;
    if (plan.pending.length === 0) return summary;
    for (const seq of plan.pending) add(summary, await ingestBatch({ target: input.target, seq }));
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof ingestRegionWorkflow>({ ...input, carried: summary });
  }
}
