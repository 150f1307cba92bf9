/**
 * replicateTable: one replication run of a replica, an incremental deep clone of its source (run by a
 * `replicate:` Schedule, `tributary clone run` or the Temporal UI). A killed worker's clone is retried on
 * any worker after the heartbeat timeout and copies only what is still missing.
 */
import {
  type ActivityOptions,
  defineQuery,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { CloneActivities, CloneActivityResult } from '../activities/clone';
import type { ReplicaTarget } from '../shapes/targets';
import { NON_RETRYABLE, controlActivity } from './activity-options';

export interface ReplicateTableInput {
  target: ReplicaTarget;
  /** Source version to clone (default: the latest when the run starts copying). */
  version?: number;
  /** Copies in flight (default 8). */
  concurrency?: number;
  /** How soon a dead worker's clone is retried elsewhere. Default 30 seconds. */
  heartbeatTimeout?: string;
  /** Longest wait between two tries of the clone. Default 1 minute. */
  maximumRetryInterval?: string;
}

/** A run that found no source table (a replica's Schedule may start before its source's first commit). */
export interface ReplicationSkipped {
  kind: 'noSource';
  name: string;
  source: string;
  target: string;
  reason: string;
}

export type ReplicationSummary = CloneActivityResult | ReplicationSkipped;

export interface ReplicationProgress {
  name: string;
  stage: 'cloning' | 'done';
  /** The run's result once done. */
  result?: ReplicationSummary;
}

export const replicationProgressQuery = defineQuery<ReplicationProgress>('replicationProgress');

/** A clone is long (bulk copy): it heartbeats, and transient storage faults are retried with backoff. */
const bulkIo = {
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
} as const satisfies ActivityOptions;

export async function replicateTable(input: ReplicateTableInput): Promise<ReplicationSummary> {
  const progress: ReplicationProgress = { name: input.target.name, stage: 'cloning' };
  setHandler(replicationProgressQuery, () => progress);
  const { cloneTableActivity } = proxyActivities<CloneActivities>({
    ...bulkIo,
    ...(input.heartbeatTimeout
      ? { heartbeatTimeout: input.heartbeatTimeout as ActivityOptions['heartbeatTimeout'] }
      : {}),
    retry: {
      ...bulkIo.retry,
      ...(input.maximumRetryInterval
        ? { maximumInterval: input.maximumRetryInterval as ActivityOptions['heartbeatTimeout'] }
        : {}),
    },
  });
  // No source table yet: nothing to replicate, said so; not a failure every interval until it exists.
  // (Runs started before this check replay without it.)
  if (patched('replicate-skips-missing-source')) {
    const { replicaSourceVersion } = proxyActivities<CloneActivities>(controlActivity);
    if ((await replicaSourceVersion(input.target)) === null) {
      const skipped: ReplicationSkipped = {
        kind: 'noSource',
        name: input.target.name,
        source: input.target.source,
        target: input.target.target,
        reason: `source ${input.target.source} has no Delta table yet: nothing to replicate`,
      };
      progress.stage = 'done';
      progress.result = skipped;
      return skipped;
    }
  }
  const result = await cloneTableActivity(input.target, {
    ...(input.version !== undefined ? { version: input.version } : {}),
    ...(input.concurrency !== undefined ? { concurrency: input.concurrency } : {}),
  });
  progress.stage = 'done';
  progress.result = result;
  return result;
}
