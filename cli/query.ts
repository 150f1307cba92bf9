/** `tributary query "<SELECT …>"`: SQL over the config's catalog tables (see lake/query). */
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Command } from 'commander';
import { queryCatalogOf } from '../config/catalog';
import { storeOptionsOf } from '../config/targets';
import { parseVersion } from '../lake/delta/log-path';
import { TributaryError } from '../lake/errors';
import { type AsOf, type QueryStats, type TableScan, explainQuery, streamQuery } from '../lake/query';
import type { ObjectStore } from '../lake/storage/object-store';
import { type StoreOptions, openStore } from '../lake/storage/open';
import { configFileOf, loadCliConfig } from './config-file';
import { instantOption } from './options';
import { type Format, QUERY_FORMATS, resultWriter } from './output';
import { storeOptionsFromEnv } from './store-options';

interface QueryCliOptions {
  config?: string;
  table: string[];
  asOfVersion?: string;
  asOfTimestamp?: string;
  format: string;
  output?: string;
  stats?: boolean;
  explain?: boolean;
  prune: boolean;
}

function asOfOf(o: QueryCliOptions): AsOf | undefined {
  if (o.asOfVersion !== undefined && o.asOfTimestamp !== undefined)
    throw new TributaryError('BAD_INPUT', 'give --as-of-version or --as-of-timestamp, not both');
  if (o.asOfVersion !== undefined) return { version: parseVersion(o.asOfVersion, '--as-of-version') };
  if (o.asOfTimestamp !== undefined)
    return { timestamp: instantOption(o.asOfTimestamp, '--as-of-timestamp') };
  return undefined;
}

/** Catalog and store options: the config's (when given or present), plus --table name=uri entries. */
function catalogOf(o: QueryCliOptions): { catalog: Record<string, string>; storeOptions: StoreOptions } {
  const extra: Record<string, string> = {};
  for (const t of o.table) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(t);
    if (!m)
      throw new TributaryError('BAD_INPUT', `--table expects schema.table=uri, got ${JSON.stringify(t)}`);
    extra[m[1]!] = m[2]!;
  }
  const file = configFileOf(o.config);
  if (o.config === undefined && !process.env.TRIBUTARY_CONFIG && !existsSync(file) && o.table.length)
    return { catalog: extra, storeOptions: storeOptionsFromEnv() };
  const config = loadCliConfig(o.config, 'or name the tables with --table schema.table=uri');
  return { catalog: { ...queryCatalogOf(config), ...extra }, storeOptions: storeOptionsOf(config) };
}

function statsLines(s: QueryStats): string {
  const t = s.tables.map(scanLine);
  return `${[...t, `${s.rows} row${s.rows === 1 ? '' : 's'}; plan ${s.planMs} ms, stage ${s.stageMs} ms, execute ${s.executeMs} ms`].join('\n')}\n`;
}

const scanLine = (t: TableScan) =>
  `${t.name}@v${t.version}: ${t.filesScanned} of ${t.filesTotal} files scanned, ${t.filesSkipped} skipped${t.prunedBy ? ` by ${t.prunedBy}` : ''}`;

export function registerQueryCommand(program: Command): void {
  program
    .command('query <sql>')
    .description(
      'run a SELECT over catalog tables (config catalog:, central.all_logs, regional.<region>); "-" reads the SQL from stdin',
    )
    .option('--config <file>', 'deployment config (default $TRIBUTARY_CONFIG or tributary.yaml)')
    .option(
      '--table <name=uri>',
      'add or override a catalog entry, e.g. logs.app=s3://bucket/app (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--as-of-version <n>', 'read the table at this version (queries naming one table)')
    .option(
      '--as-of-timestamp <iso>',
      'read every table at its latest version committed at or before this instant',
    )
    .option('--format <fmt>', `output format: ${QUERY_FORMATS.join(' | ')}`, 'table')
    .option('--output <file>', 'write the result to a file instead of stdout')
    .option('--stats', 'print files scanned/skipped per table and timings to stderr')
    .option('--explain', 'print the tables, versions and files the query would read (JSON); do not run it')
    .option('--no-prune', 'read every file (no skipping by the WHERE clause)')
    .action(async (sqlArg: string, o: QueryCliOptions) => {
      if (!QUERY_FORMATS.includes(o.format as Format))
        throw new TributaryError('BAD_INPUT', `unknown format ${o.format} (${QUERY_FORMATS.join(', ')})`);
      const sql = sqlArg === '-' ? readFileSync(0, 'utf8') : sqlArg;
      const asOf = asOfOf(o);
      const { catalog, storeOptions } = catalogOf(o);
      const stores = new Map<string, Promise<ObjectStore>>();
      const open = (url: string) => {
        let s = stores.get(url);
        if (!s) stores.set(url, (s = openStore(url, storeOptions)));
        return s;
      };
      try {
        const opts = { catalog, open, asOf, prune: o.prune };
        if (o.explain) {
          const scans = await explainQuery(sql, opts);
          process.stdout.write(`${JSON.stringify({ tables: scans }, null, 2)}\n`);
          return;
        }
        const out = o.output ? createWriteStream(o.output) : process.stdout;
        const writer = resultWriter(out, o.format as Format);
        const stats = await streamQuery(sql, opts, (chunk) => writer.write(chunk));
        await writer.end();
        if (out !== process.stdout) {
          out.end();
          await finished(out);
        }
        if (o.stats) process.stderr.write(statsLines(stats));
      } finally {
        await Promise.all([...stores.values()].map(async (s) => (await s.catch(() => undefined))?.close()));
      }
    });
}
