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
  central: number;
  sample: { sql: string; lines: string[] };
}

const num = (v: unknown) => Number(v ?? 0);

export async function countTables(
  config: Config,
  open: (url: string) => Promise<ObjectStore>,
): Promise<DemoCounts> {
  const catalog = queryCatalogOf(config);
  const q = async (sql: string) =>
    (await query(sql, { catalog, open })).toArray().map((r) => r.toJSON() as Record<string, unknown>);
  const regions = new Map<string, TableCounts>();
  const perRegion = await q(
    `SELECT _region, count(*) AS n, count(DISTINCT (_source_file, _source_line)) AS distinct_lines FROM central.all_logs GROUP BY _region`,
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
  const sampleSql =
    `SELECT service, count(*) AS requests, count(*) FILTER (WHERE level = 'ERROR') AS errors, ` +
    `round(avg(http.latency_ms), 1) AS avg_latency_ms FROM central.all_logs GROUP BY service ORDER BY requests DESC LIMIT 5`;
  const sample = await q(sampleSql);
  return {
    regions,
    central: num(central?.n),
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
    if (c.duplicates !== 0) d.push(`${r.name}: ${c.duplicates} duplicate lines in central`);
  }
  if (counts.central !== approved) d.push(`central rows ${counts.central} ≠ sum of approved ${approved}`);
  return { ok: d.length === 0, differences: d };
}
