/**
 * The deployment config (one YAML file): regions, their raw log locations and regional tables, the central
 * table, replication, schedules and the table catalog. Paths are config, never code: any pipeline can run
 * against any region's storage from any worker.
 */
import { z } from 'zod';
import { safeParsePredicate } from '../lake/predicate';
import { checkEndpoint, parseStoreUrl } from '../lake/storage/url';
import { LINEAGE_COLUMNS } from '../shapes/targets';
import { TemporalConfig } from './temporal';

export const storeUrl = z.string().superRefine((v, ctx) => {
  try {
    parseStoreUrl(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/** A service endpoint: an http:// or https:// URL (the same check openStore applies to env overrides). */
const endpoint = (cloud: string) =>
  z.string().superRefine((v, ctx) => {
    try {
      checkEndpoint(v, `storage.${cloud}.endpoint`);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

export const predicate = z.string().superRefine((v, ctx) => {
  const r = safeParsePredicate(v);
  if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.message });
});

const name = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'lowercase letters, digits and dashes, starting with a letter or digit',
  );

/** A top-level column name. */
const columnName = z.string().min(1).max(255);

/** "5m", "30s", "1h", "2d". */
export const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 5m, 1h');

const bytes = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i, 'a size such as 512MB'),
]);

export const ScheduleConfig = z.strictObject({
  every: duration.default('5m'),
  /** How far back missed runs are caught up after an outage. */
  catchupWindow: duration.default('1h'),
  paused: z.boolean().default(false),
});

export const IngestConfig = z.strictObject({
  maxFilesPerBatch: z.number().int().positive().default(1000),
  maxBytesPerBatch: bytes.default('1GB'),
  /** Lines longer than this are quarantined. */
  maxLineBytes: bytes.default('1MiB'),
  /** Column holding the event time used for the date partition (falls back to ingestion date). */
  eventTimeColumn: z.string().default('ts'),
  /**
   * Lines nested deeper than this (objects and arrays) are quarantined. At most 128: DuckDB's binder
   * refuses the types of values nested about 190 levels deep.
   */
  maxNestingDepth: z.number().int().min(1).max(128).default(64),
  /** New columns one batch may add; values of further new keys are rescued into _rescued_data. */
  maxNewColumnsPerBatch: z.number().int().min(0).max(10_000).default(500),
  /** Columns (struct fields at every depth) a regional table may have; further new keys are rescued. */
  maxColumns: z.number().int().min(1).max(20_000).default(2000),
  schedule: ScheduleConfig.prefault({}),
});

/**
 * Table maintenance on a Schedule per table (regional and quarantine tables, central and its quarantine
 * and routes, replicas): OPTIMIZE, a checkpoint, log cleanup and VACUUM, each within the retention the
 * table sets, holding back for pipelines that have not read the table yet.
 */
export const MaintenanceConfig = z.strictObject({
  schedule: ScheduleConfig.extend({ every: duration.default('1h') }).prefault({}),
  /** Queue for the tables no region owns (central, its quarantine, routes; default: the first region's). */
  taskQueue: z.string().optional(),
  optimize: z.boolean().default(true),
  /** Compacted file size (default: the table's delta.targetFileSize, else 100 MiB). */
  targetFileSize: bytes.optional(),
  checkpoint: z.boolean().default(true),
  logCleanup: z.boolean().default(true),
  vacuum: z.boolean().default(true),
});

export const RegionConfig = z.strictObject({
  name,
  cloud: z.enum(['aws', 'azure', 'gcp', 'local']),
  /** Where the region's log daemon writes raw JSON-lines files. */
  raw: storeUrl,
  /** The region's Delta table. */
  table: storeUrl,
  /** Task queue whose workers run this region's pipelines (default tributary-<name>). */
  taskQueue: z.string().optional(),
  ingest: IngestConfig.prefault({}),
});

export const StorageEndpoints = z.strictObject({
  s3: z.strictObject({ endpoint: endpoint('s3').optional(), region: z.string().optional() }).optional(),
  azure: z.strictObject({ endpoint: endpoint('azure').optional() }).optional(),
  gcs: z.strictObject({ endpoint: endpoint('gcs').optional() }).optional(),
});

export const Config = z
  .strictObject({
    temporal: TemporalConfig.prefault({}),
    storage: StorageEndpoints.prefault({}),
    regions: z.array(RegionConfig).min(1),
    central: z
      .strictObject({
        table: storeUrl,
        /** Egress filter, in the predicate language; NULL is not approved. */
        filter: predicate.default('egress_approved = true'),
        /** Source commits that remove data: 'fail' (Delta streaming's default) or 'skip' (skipChangeCommits). */
        onChangeCommits: z.enum(['fail', 'skip']).default('fail'),
        maxVersionsPerBatch: z.number().int().positive().default(100),
        /**
         * Tries of a batch failing the same way on the same data (a source file that cannot be read or
         * decoded, rows that cannot be converted, a bug) before its poisoned source files are isolated.
         */
        maxDeterministicFailures: z.number().int().min(1).max(100).default(3),
        /** Egress quarantine table for isolated source files (default `<central table>_egress_quarantine`). */
        quarantine: storeUrl.optional(),
        /** Source columns to keep (default all); `_region`, `_source_file`, `_source_line` and partition columns always stay. */
        columns: z.array(columnName).min(1).optional(),
        /** Source name → central name, applied after the filter (which uses source names). */
        rename: z
          .record(columnName, columnName)
          .optional()
          .superRefine((m, ctx) => {
            if (!m) return;
            const targets = Object.values(m);
            for (const [from, to] of Object.entries(m)) {
              if ((LINEAGE_COLUMNS as readonly string[]).includes(from))
                ctx.addIssue({
                  code: 'custom',
                  path: [from],
                  message: `lineage column ${from} cannot be renamed`,
                });
              if (targets.indexOf(to) !== targets.lastIndexOf(to))
                ctx.addIssue({ code: 'custom', path: [from], message: `two columns renamed to ${to}` });
            }
          }),
        /**
         * Routes, in order: an approved row goes to the first route whose predicate is TRUE (NULL is no
         * match), else to `table`. Predicates use source column names, like `filter`. Routing version 0;
         * `schedules apply` keeps it consistent with the live routing (see shapes/routing.ts).
         */
        routes: z.array(z.strictObject({ table: storeUrl, predicate })).optional(),
        schedule: ScheduleConfig.prefault({}),
      })
      .optional(),
    /**
     * Tables kept as incremental deep clones in another store (another cloud), each on a Temporal Schedule.
     * `name` names the schedule (`replicate-<name>`); `region` is the region whose compute runs it (its task
     * queue, and compute failover moves it with the region); `taskQueue` overrides the queue.
     */
    replicate: z
      .array(
        z.strictObject({
          name,
          source: storeUrl,
          target: storeUrl,
          region: name.optional(),
          taskQueue: z.string().optional(),
          schedule: ScheduleConfig.prefault({}),
        }),
      )
      .default([]),
    /** Table maintenance Schedules (none without this section). */
    maintenance: MaintenanceConfig.optional(),
    /** schema.table → URI, used by queries. */
    catalog: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, 'names look like schema.table'),
        storeUrl,
      )
      .default({})
      .superRefine((m, ctx) => {
        // Query names are case-insensitive (SQL identifiers): names differing only in case would clash.
        const first = new Map<string, string>();
        for (const k of Object.keys(m)) {
          const other = first.get(k.toLowerCase());
          if (other === undefined) first.set(k.toLowerCase(), k);
          else
            ctx.addIssue({
              code: 'custom',
              path: [k],
              message: `${k} and ${other} differ only in case; table names in queries are case-insensitive`,
              params: { alsoAt: ['catalog', other] },
            });
        }
      }),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.regions.forEach((r, i) => {
      if (seen.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['regions', i, 'name'], message: `duplicate region ${r.name}` });
      seen.add(r.name);
    });
    const names = new Set<string>();
    c.replicate.forEach((e, i) => {
      if (names.has(e.name))
        ctx.addIssue({
          code: 'custom',
          path: ['replicate', i, 'name'],
          message: `duplicate replica ${e.name}`,
        });
      names.add(e.name);
      if (e.source.replace(/\/+$/, '') === e.target.replace(/\/+$/, ''))
        ctx.addIssue({
          code: 'custom',
          path: ['replicate', i, 'target'],
          message: 'a replica cannot be its own source',
        });
      if (e.region !== undefined && !seen.has(e.region))
        ctx.addIssue({
          code: 'custom',
          path: ['replicate', i, 'region'],
          message: `no region ${e.region} in config`,
        });
    });
    const q = c.central?.quarantine?.replace(/\/+$/, '');
    if (
      q !== undefined &&
      (q === c.central!.table.replace(/\/+$/, '') || c.regions.some((r) => r.table.replace(/\/+$/, '') === q))
    )
      ctx.addIssue({
        code: 'custom',
        path: ['central', 'quarantine'],
        message: 'the egress quarantine must be a table of its own, not the central or a regional table',
      });
    const norm = (u: string) => u.replace(/\/+$/, '');
    if (c.central?.routes) {
      const central = norm(c.central.table);
      const egressQuarantine = q ?? `${central}_egress_quarantine`;
      const taken = new Map<string, string>([
        [central, 'the central table'],
        [egressQuarantine, 'the egress quarantine'],
      ]);
      for (const r of c.regions) {
        taken.set(norm(r.table), `region ${r.name}'s table`);
        taken.set(`${norm(r.table)}_quarantine`, `region ${r.name}'s quarantine`);
      }
      c.central.routes.forEach((r, i) => {
        const u = norm(r.table);
        const other = taken.get(u);
        if (other)
          ctx.addIssue({
            code: 'custom',
            path: ['central', 'routes', i, 'table'],
            message: `a route table must be a table of its own, not ${other}`,
          });
        else taken.set(u, `route ${i}'s table`);
      });
    }
  });

export type Config = z.infer<typeof Config>;
export type RegionConfig = z.infer<typeof RegionConfig>;
export type IngestConfig = z.infer<typeof IngestConfig>;
export type ReplicaConfig = Config['replicate'][number];
export type MaintenanceConfig = z.infer<typeof MaintenanceConfig>;

export function parseBytes(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i.exec(v)!;
  const unit: Record<string, number> = {
    b: 1,
    kb: 1e3,
    mb: 1e6,
    gb: 1e9,
    kib: 1024,
    mib: 1024 ** 2,
    gib: 1024 ** 3,
  };
  return Math.round(Number(m[1]) * unit[m[2]!.toLowerCase()]!);
}

export function parseDurationMs(v: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(v)!;
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 };
  return Number(m[1]) * unit[m[2]!]!;
}
