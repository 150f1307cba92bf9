/**
 * The table names queries use (`tributary query`, lake/query): `schema.table` → table URI.
 *
 * Besides the names the config's `catalog:` lists, two defaults, each only when `catalog:` does not define
 * the same name: `central.all_logs` is the central table, and `regional.<region>` each region's table (a
 * region name with dashes also answers to the underscored form, `regional.eu_west_1`, so it needs no quotes),
 * and `quarantine.<region>` its quarantine table (the lines ingestion could not read).
 */
import type { Config } from './schema';
import { quarantineUrlOf } from './targets';

export function queryCatalogOf(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, url: string) => {
    if (!Object.keys(out).some((k) => k.toLowerCase() === name.toLowerCase())) out[name] = url;
  };
  for (const [name, url] of Object.entries(config.catalog)) add(name, url);
  if (config.central) add('central.all_logs', config.central.table);
  for (const r of config.regions) {
    add(`regional.${r.name}`, r.table);
    if (r.name.includes('-')) add(`regional.${r.name.replace(/-/g, '_')}`, r.table);
  }
  for (const r of config.regions) {
    add(`quarantine.${r.name}`, quarantineUrlOf(r));
    if (r.name.includes('-')) add(`quarantine.${r.name.replace(/-/g, '_')}`, quarantineUrlOf(r));
  }
  return out;
}
