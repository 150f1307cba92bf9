/**
 * Task-queue names and workflow ids, in one place. Workflow ids are business keys
 * (`ingest/<region>/<table>`), so starting the same work while it still runs is rejected by the server
 * instead of running it twice. Pure: workflows may import this too.
 */
import { TributaryError } from '../lake/errors';

export const DEFAULT_TASK_QUEUE = 'tributary';

// A `/` inside a part would make two different keys render to the same id.
function part(what: string, value: string): string {
  if (!/^[^\s/]+$/.test(value))
    throw new TributaryError(
      'BAD_INPUT',
      `${what} ${JSON.stringify(value)} cannot be part of a workflow id or task queue: it must be non-empty, without '/' or whitespace`,
    );
  return value;
}

/** The queue a region's worker polls: `tributary-<region>`. */
export const taskQueueFor = (region: string): string => `${DEFAULT_TASK_QUEUE}-${part('region', region)}`;

export const workflowIds = {
  ingest: (region: string, table: string) => `ingest/${part('region', region)}/${part('table', table)}`,
  egress: (region: string, table: string) => `egress/${part('region', region)}/${part('table', table)}`,
  /** One replication run of a `replicate:` entry (by its name). */
  replicate: (name: string) => `replicate/${part('replica', name)}`,
  /** The compute failover of a region (one at a time per region). */
  failoverRegion: (region: string) => `failover-region/${part('region', region)}`,
  /** The promotion of a table's replica (one at a time per replica). */
  promoteReplica: (name: string) => `promote-replica/${part('replica', name)}`,
  /** A live table fork (one at a time per fork name). */
  fork: (name: string) => `fork/${part('fork', name)}`,
  /** A health probe has no business key; the caller names the probe (e.g. a run id). */
  healthCheck: (probe: string) => `health/${part('probe', probe)}`,
  /** One maintenance run of a table (by its maintenance name, e.g. `eu-regional`). */
  maintain: (table: string) => `maintain/${part('table', table)}`,
} as const;

/** Temporal Schedule ids: `ingest-<region>`, `egress-<region>`, `replicate-<name>`, `maintain-<table>`. */
export const scheduleIds = {
  ingest: (region: string) => `ingest-${part('region', region)}`,
  egress: (region: string) => `egress-${part('region', region)}`,
  replicate: (name: string) => `replicate-${part('replica', name)}`,
  maintain: (table: string) => `maintain-${part('table', table)}`,
} as const;
