/**
 * The demo's verdict: counts read back from the tables themselves (not from pipeline summaries) and
 * compared with what the log daemons wrote: per region generated = ingested + quarantined, the
 * quarantine holds exactly the unreadable lines, approved = egressed, and central = the sum of approved.
 */
import type { Config } from '../config/schema';
import { queryCatalogOf } from '../config/catalog';
import type { ObjectStore } from '../lake/storage/object-store';
import { isTributaryError } from '../lake/errors';
import { query } from '../lake/query';

export interface RegionCounts {
  files: number;
  lines: number;
  bad: number;
  approved: number;
}

export interface TableCounts {
  ingested: number;
  quarantined: number;
  approved: number;
  egressed: number;
  duplicates: number;
}

export interface DemoCounts {
  regions: Map<string, TableCounts>;
  /** Rows of central plus, after a fork, of the fork (`central.fork`): each approved row is in one. */
  central: number;
  /** After a fork: the rows of central and of the fork on their own. */
  split?: { central: number; fork: number };
  sample: { sql: string; lines: string[] };
}

const num = (v: unknown) => Number(v ?? 0);

/** The catalog name of the demo's fork table (`--fork`). */
export const FORK_TABLE = 'central.fork';

export async function countTables(
  config: Config,
  open: (url: string) => Promise<ObjectStore>,
): Promise<DemoCounts> {
  // After a fork, a region's approved rows are in central or in the fork: counted over both, duplicates
  // included (a line in both tables is a duplicate as much as a line twice in one).
  const forked = FORK_TABLE in config.catalog;
  const egressed = forked
    ? `(SELECT _region, _source_file, _source_line FROM central.all_logs UNION ALL SELECT _region, _source_file, _source_line FROM ${FORK_TABLE})`
    : 'central.all_logs';
  const catalog = queryCatalogOf(config);
  const q = async (sql: string) =>
    (await query(sql, { catalog, open })).toArray().map((r) => r.toJSON() as Record<string, unknown>);
  const regions = new Map<string, TableCounts>();
  const perRegion = await q(
    `SELECT _region, count(*) AS n, count(DISTINCT (_source_file, _source_line)) AS distinct_lines FROM ${egressed} GROUP BY _region`,
  );
  for (const r of config.regions) {
    const id = r.name.replace(/-/g, '_');
    const [reg] = await q(
      `SELECT count(*) AS n, count(*) FILTER (WHERE egress_approved) AS approved FROM regional.${id}`,
    );
    // No quarantine table: no line was ever unreadable.
    const [quar] = await q(`SELECT count(*) AS n FROM quarantine.${id}`).catch((e: unknown) => {
      if (isTributaryError(e, 'NOT_FOUND')) return [{ n: 0 }];
      throw e;
    });
    const c = perRegion.find((x) => x._region === r.name);
    regions.set(r.name, {
      ingested: num(reg?.n),
      quarantined: num(quar?.n),
      approved: num(reg?.approved),
      egressed: num(c?.n),
      duplicates: num(c?.n) - num(c?.distinct_lines),
    });
  }
  const [central] = await q(`SELECT count(*) AS n FROM central.all_logs`);
  const [fork] = forked ? await q(`SELECT count(*) AS n FROM ${FORK_TABLE}`) : [];
  const sampleSql =
    `SELECT service, count(*) AS requests, count(*) FILTER (WHERE level = 'ERROR') AS errors, ` +
    `round(avg(http.latency_ms), 1) AS avg_latency_ms FROM central.all_logs GROUP BY service ORDER BY requests DESC LIMIT 5`;
  const sample = await q(sampleSql);
  return {
    regions,
    central: num(central?.n) + num(fork?.n),
    ...(forked ? { split: { central: num(central?.n), fork: num(fork?.n) } } : {}),
    sample: {
      sql: sampleSql,
      lines: sample.map((row) =>
        Object.entries(row)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join('  '),
      ),
    },
  };
}

export function reconcile(
  config: Config,
  generated: ReadonlyMap<string, RegionCounts>,
  counts: DemoCounts,
): { ok: boolean; differences: string[] } {
  const d: string[] = [];
  let approved = 0;
  for (const r of config.regions) {
    const g = generated.get(r.name)!;
    const c = counts.regions.get(r.name)!;
    approved += c.approved;
    if (g.lines !== c.ingested + c.quarantined)
      d.push(`${r.name}: generated ${g.lines} ≠ ingested ${c.ingested} + quarantined ${c.quarantined}`);
    if (c.quarantined !== g.bad)
      d.push(`${r.name}: quarantined ${c.quarantined} ≠ unreadable lines written ${g.bad}`);
    if (c.approved !== g.approved)
      d.push(`${r.name}: approved rows ${c.approved} ≠ approved lines written ${g.approved}`);
    if (c.egressed !== c.approved) d.push(`${r.name}: egressed ${c.egressed} ≠ approved ${c.approved}`);
    if (c.duplicates !== 0)
      d.push(`${r.name}: ${c.duplicates} duplicate lines in central${counts.split ? ' and the fork' : ''}`);
  }
  if (counts.central !== approved)
    d.push(
      `${counts.split ? 'central + fork' : 'central'} rows ${counts.central} ≠ sum of approved ${approved}`,
    );
  return { ok: d.length === 0, differences: d };
}
