/** egressRegionWorkflow: egress batches until central reflects the region's latest source version. */
import {
  type ActivityOptions,
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { EgressActivities, EgressBatchResult, PoisonedFile } from '../activities/egress';
import { type CloudTransfer, type EgressTarget, addTransfers } from '../shapes/targets';
import { deterministicFailure, pipelineIo } from './activity-options';

const io = pipelineIo('1 hour');

export interface EgressRegionInput {
  target: EgressTarget;
  /** Heartbeat timeout of the egress activity (how soon a dead worker's batch is retried elsewhere). Default 2 minutes. */
  heartbeatTimeout?: string;
  carried?: EgressRunSummary;
}

/** A source file this run isolated as poison and recorded in the egress quarantine. */
export interface EgressPoisonReport {
  sourceVersion: number;
  file: string;
  reason: string;
}

export interface EgressRunSummary {
  batches: number;
  rows: number;
  sourceVersion: number;
  latestSourceVersion: number;
  skippedChangeCommits: number[];
  /** Source files isolated as poison by this run (the latest POISON_REPORTS), with their reasons. */
  poisoned?: EgressPoisonReport[];
  /** The routing version the last batch applied (or under which the run found nothing to do). */
  routingVersion?: number;
  /** The batch failing right now, if one is: its tries so far and its last error. */
  failing?: { tries: number; error: string; isolating: boolean };
  /** Bytes read and written per (source cloud, target cloud) pair, summed over the run's batches. */
  transfers?: CloudTransfer[];
}

/** Tries of a deterministically failing batch before isolation, unless the target says otherwise. */
export const DEFAULT_MAX_DETERMINISTIC_FAILURES = 3;
/** Isolation rounds of one batch; after them every source file of the batch is isolated. */
export const EGRESS_ISOLATION_ROUNDS = 3;
const POISON_REPORTS = 100;

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
  const { egressBatch, isolateEgressBatch } = proxyActivities<EgressActivities>({ ...io, ...hb });
  const target = input.target;
  const maxTries = Math.max(1, target.maxDeterministicFailures ?? DEFAULT_MAX_DETERMINISTIC_FAILURES);

  /**
   * A batch that failed deterministically (the same error on the same data): tried maxTries times in
   * all, then its poisoned source files are isolated (recorded in the egress quarantine with the reason)
   * and the rest commits. Never loops: after the isolation rounds every file of the batch is isolated,
   * and if even that fails the workflow fails with the reason.
   */
  const recover = async (error: string): Promise<EgressBatchResult> => {
    let tries = 1;
    let known: PoisonedFile[] | undefined;
    let upTo: number | undefined;
    for (let round = 0; ; ) {
      s.failing = { tries, error, isolating: round > 0 };
      if (tries < maxTries) {
        await sleep(`${5 * 3 ** (tries - 1)} seconds`);
      } else {
        tries = 0;
        round++;
        s.failing.isolating = true;
        if (round > EGRESS_ISOLATION_ROUNDS + 1)
          throw ApplicationFailure.nonRetryable(
            `egress ${target.region}: the batch fails even with every source file isolated: ${error}`,
            'INTERNAL',
          );
        const iso = await isolateEgressBatch({
          target,
          failure: error,
          ...(known ? { known } : {}),
          ...(upTo !== undefined ? { upTo } : {}),
          ...(round > EGRESS_ISOLATION_ROUNDS ? { wholeBatch: true } : {}),
        });
        known = iso.isolated;
        upTo = iso.upTo;
      }
      try {
        const r = await egressBatch(target, known ? { isolated: known, upTo } : {});
        delete s.failing;
        const reports = (r.quarantined ?? []).map((p) => ({
          sourceVersion: p.sourceVersion,
          file: p.path,
          reason: p.reason,
        }));
        if (reports.length) s.poisoned = [...(s.poisoned ?? []), ...reports].slice(-POISON_REPORTS);
        return r;
      } catch (e) {
        const next = deterministicFailure(e);
        if (next === undefined) throw e;
        error = next;
        tries++;
      }
    }
  };

  for (;;) {
    let r: EgressBatchResult;
    try {
      r = await egressBatch(target);
    } catch (e) {
      const error = deterministicFailure(e);
      // Histories from before isolation existed fail as they did; new ones isolate the poison.
      if (error === undefined || !patched('egress-poison-isolation')) throw e;
      r = await recover(error);
    }
    if (r.filesRead > 0 || r.sourceVersion > s.sourceVersion) s.batches++;
    s.rows += r.rowsEgressed;
    if (r.transfers?.length) s.transfers = addTransfers(s.transfers ?? [], r.transfers);
    s.sourceVersion = r.sourceVersion;
    s.latestSourceVersion = r.latestSourceVersion;
    s.skippedChangeCommits.push(...r.skippedChangeCommits);
    // A field of the summary only (no command): replaying an older history just leaves it unset.
    if (r.routingVersion !== undefined) s.routingVersion = r.routingVersion;
    if (r.caughtUp) return s;
    if (workflowInfo().continueAsNewSuggested)
      await continueAsNew<typeof egressRegionWorkflow>({ ...input, carried: s });
  }
}
