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
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  IngestActivities,
  IngestBatchResult,
  IngestCounts,
  IsolatedItem,
  PoisonReport,
} from '../activities/ingest';
import { type CloudTransfer, type IngestTarget, addTransfers } from '../shapes/targets';
import { deterministicFailure as unexpected, pipelineIo } from './activity-options';

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
  /** Lines and files isolated as poison by this run (the latest POISON_REPORTS), with their reasons. */
  poisoned?: PoisonReport[];
  /** The batch failing right now, if one is: its tries so far and its last error. */
  failing?: { seq: number; tries: number; error: string; isolating: boolean };
  /** Bytes read and written per (source cloud, target cloud) pair, summed over the run's batches. */
  transfers?: CloudTransfer[];
}

/**
 * Tries of a batch that fails unexpectedly (not a storage fault: a bug, a DuckDB refusal) before its
 * failing lines are isolated; the same error on the same data is expected again. Storage faults are
 * retried by Temporal without limit, with backoff.
 */
export const UNEXPECTED_TRIES = 3;
/** Isolation rounds of one batch; after them every file of the batch is kept whole in quarantine. */
export const ISOLATION_ROUNDS = 3;
const POISON_REPORTS = 100;

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
  poisoned: [],
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
  if (r.transfer) s.transfers = addTransfers(s.transfers ?? [], [r.transfer]);
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
  const { ingestBatch, isolateIngestBatch } = proxyActivities<IngestActivities>({ ...bulkIo, ...hb });
  const summary = input.carried ?? empty();
  setHandler(ingestProgressQuery, () => summary);

  /**
   * One batch, exactly once. An unexpected failure is tried UNEXPECTED_TRIES times, then the lines
   * causing it are isolated (quarantined with the reason) and the rest commits; nothing loops for ever.
   */
  const runBatch = async (seq: number): Promise<IngestBatchResult> => {
    let isolated: IsolatedItem[] | undefined;
    let tries = 0;
    for (let round = 0; ; ) {
      try {
        const r = await ingestBatch({ target: input.target, seq, ...(isolated ? { isolated } : {}) });
        delete summary.failing;
        if (isolated) {
          const reports = isolated.map((x) => ({
            seq,
            file: x.key,
            reason: x.reason,
            ...(x.lines ? { lines: x.lines } : {}),
          }));
          summary.poisoned = [...(summary.poisoned ?? []), ...reports].slice(-POISON_REPORTS);
        }
        return r;
      } catch (e) {
        const error = unexpected(e);
        if (error === undefined) throw e;
        tries++;
        summary.failing = { seq, tries, error, isolating: false };
        if (tries < UNEXPECTED_TRIES) {
          await sleep(`${5 * 3 ** (tries - 1)} seconds`);
          continue;
        }
        tries = 0;
        round++;
        summary.failing.isolating = true;
        if (round > ISOLATION_ROUNDS + 1)
          throw ApplicationFailure.nonRetryable(
            `batch ${seq} of region ${input.target.region} fails even with every file kept in quarantine: ${error}`,
            'INTERNAL',
          );
        if (round > ISOLATION_ROUNDS) {
          // Isolation did not make the batch go through: keep every file of it whole, never loop.
          const files = await isolateIngestBatch({
            target: input.target,
            seq,
            failure: error,
            known: isolated,
            wholeBatch: true,
          });
          isolated = files.isolated;
          continue;
        }
        isolated = (await isolateIngestBatch({ target: input.target, seq, failure: error, known: isolated }))
          .isolated;
      }
    }
  };

  for (;;) {
    const plan = await planIngestBatches({ target: input.target, maxBatches: input.maxBatchesPerPlan ?? 8 });
    summary.backlogFiles = plan.backlogFiles;
    if (plan.pending.length === 0) return summary;
    for (const seq of plan.pending) add(summary, await runBatch(seq));
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof ingestRegionWorkflow>({ ...input, carried: summary });
  }
}
