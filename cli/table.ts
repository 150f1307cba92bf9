/** `tributary table …`: read, append, delete, history, info, optimize, vacuum. */
import { extname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { TributaryError } from '../lake/errors';
import { parseVersion } from '../lake/delta/log-path';
import { Snapshot } from '../lake/delta/snapshot';
import { sqlString } from '../lake/engine/duckdb';
import { jsonLinesInput } from '../lake/engine/json-input';
import { scanChunks } from '../lake/engine/scan';
import { parsePredicate } from '../lake/predicate';
import { openStore } from '../lake/storage/open';
import { deleteWhere } from '../lake/table/delete';
import { history, tableInfo, vacuum } from '../lake/table/maintenance';
import { optimize, parseFileSize } from '../lake/table/optimize';
import { defaultEngine, loadSnapshotOrUndefined, writeTable } from '../lake/table/operations';
import { bindPredicate, fileMightMatch } from '../lake/table/skipping';
import { instantOption, intOption, numberOption } from './options';
import { type Format, READ_FORMATS, resultWriter } from './output';
import { storeOptionsFromEnv } from './store-options';

const open = (uri: string) => openStore(uri, storeOptionsFromEnv());
const printJson = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

/** The input of `table append` as a DuckDB relation; JSON lines checked first (jsonLinesInput). */
async function inputOf(file: string): Promise<{ relation: string; rows?: number; values?: number }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new TributaryError('BAD_INPUT', `input file ${file} does not exist`);
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return { relation: `read_parquet(${sqlString(path)})` };
  if (ext === '.jsonl' || ext === '.json' || ext === '.ndjson' || path.endsWith('.jsonl.gz')) {
    const j = await jsonLinesInput(path, file);
    return { relation: j.relation, rows: j.rows, values: j.rows - j.emptyObjects };
  }
  throw new TributaryError('BAD_INPUT', `input ${file}: expected .jsonl or .parquet`);
}

export function registerTableCommands(program: Command): void {
  const table = program.command('table').description('read and write Delta tables');

  table
    .command('read <uri>')
    .description('print the rows of a table (latest version, or time travel)')
    .option('--version <n>', 'read this version')
    .option('--timestamp <iso>', 'read the latest version at or before this instant')
    .option('--where <predicate>', "filter rows, e.g. \"level = 'ERROR' AND day >= DATE '2024-01-01'\"")
    .option('--format <fmt>', 'jsonl | csv | arrow', 'jsonl')
    .action(
      async (uri: string, o: { version?: string; timestamp?: string; where?: string; format: string }) => {
        if (!READ_FORMATS.includes(o.format as Format))
          throw new TributaryError('BAD_INPUT', `unknown format ${o.format} (jsonl, csv, arrow)`);
        const timestamp = o.timestamp === undefined ? undefined : instantOption(o.timestamp, '--timestamp');
        // "" and blanks are refused as `table delete` refuses them, not taken as "every row".
        if (o.where !== undefined) parsePredicate(o.where); // syntax errors before any I/O
        const store = await open(uri);
        const snap = await Snapshot.load(store, defaultEngine, {
          version: o.version === undefined ? undefined : parseVersion(o.version, '--version'),
          timestamp,
        });
        const expr = o.where !== undefined ? bindPredicate(o.where, snap) : undefined;
        const files = expr ? snap.files.filter((f) => fileMightMatch(expr, f, snap)) : undefined;
        const writer = resultWriter(process.stdout, o.format as Format);
        await scanChunks(store, snap, (chunk) => writer.write(chunk), { where: expr, files });
        await writer.end();
      },
    );

  table
    .command('append <uri>')
    .description('append rows from a JSON-lines or Parquet file (creates the table if absent)')
    .requiredOption('--input <file>', 'file.jsonl or file.parquet')
    .option('--partition-by <cols>', 'partition columns when creating, comma-separated')
    .option('--mode <mode>', 'append | overwrite', 'append')
    .option('--merge-schema', 'add new input columns to the table schema')
    .action(
      async (
        uri: string,
        o: { input: string; partitionBy?: string; mode: string; mergeSchema?: boolean },
      ) => {
        if (o.mode !== 'append' && o.mode !== 'overwrite')
          throw new TributaryError('BAD_INPUT', `--mode must be append or overwrite, got ${o.mode}`);
        const input = await inputOf(o.input);
        const store = await open(uri);
        if (input.values === 0) {
          // No line holds a value: nothing to write, and no column to infer (DuckDB would invent `json`).
          const snap = await loadSnapshotOrUndefined(store, defaultEngine);
          const what = input.rows ? `only empty objects (${input.rows} {} lines)` : 'no rows';
          printJson({
            version: snap?.version ?? null,
            files: 0,
            rows: 0,
            attempts: 0,
            schemaChanged: false,
            note: `input ${o.input} has ${what}: nothing appended${snap ? '' : ', no table created'}`,
          });
          return;
        }
        const r = await writeTable(store, {
          sourceSql: input.relation,
          mode: o.mode,
          partitionBy: o.partitionBy
            ? o.partitionBy
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : undefined,
          mergeSchema: o.mergeSchema,
        });
        printJson({
          version: r.version,
          files: r.addedFiles,
          rows: r.addedRows,
          attempts: r.attempts,
          schemaChanged: r.schemaChanged,
        });
      },
    );

  table
    .command('delete <uri>')
    .description('delete the rows matching a predicate')
    .requiredOption('--where <predicate>', 'rows to delete')
    .action(async (uri: string, o: { where: string }) => {
      printJson(await deleteWhere(await open(uri), o.where));
    });

  table
    .command('history <uri>')
    .description('commit history, newest first')
    .option('--json', 'JSON output')
    .option('--limit <n>', 'at most n entries')
    .action(async (uri: string, o: { json?: boolean; limit?: string }) => {
      const h = await history(await open(uri), {
        limit: o.limit ? intOption(o.limit, '--limit') : undefined,
      });
      if (o.json) return printJson(h);
      for (const e of h)
        process.stdout.write(
          `${e.version}\t${new Date(e.timestamp).toISOString()}\t${e.operation ?? ''}\t${JSON.stringify(e.operationParameters ?? {})}\n`,
        );
    });

  table
    .command('info <uri>')
    .description('version, protocol, schema, files, bytes')
    .option('--json', 'JSON output')
    .option('--version <n>', 'at this version')
    .action(async (uri: string, o: { json?: boolean; version?: string }) => {
      const i = await tableInfo(
        await open(uri),
        defaultEngine,
        o.version ? parseVersion(o.version, '--version') : undefined,
      );
      if (o.json) return printJson(i);
      process.stdout.write(
        `${i.url}\nversion ${i.version}, ${i.numFiles} files, ${i.sizeInBytes} bytes, ${i.numRecords ?? '?'} rows\npartitioned by [${i.partitionColumns.join(', ')}]\n`,
      );
    });

  table
    .command('optimize <uri>')
    .description('compact small files into files near the target size (no data change)')
    .option('--where <predicate>', 'only the partitions matching this predicate over partition columns')
    .option(
      '--target-size <size>',
      'bytes per file, e.g. 134217728 or 128mb (default: delta.targetFileSize, else 100 MiB)',
    )
    .option('--dry-run', 'show the bins it would rewrite, without writing anything')
    .option('--bins', 'list every bin in the output')
    .action(
      async (uri: string, o: { where?: string; targetSize?: string; dryRun?: boolean; bins?: boolean }) => {
        if (o.where !== undefined) parsePredicate(o.where);
        const r = await optimize(await open(uri), {
          where: o.where,
          targetFileSize:
            o.targetSize === undefined ? undefined : parseFileSize(o.targetSize, '--target-size'),
          dryRun: o.dryRun,
        });
        const { bins, ...rest } = r;
        printJson(o.bins ? r : { ...rest, bins: bins.length });
      },
    );

  table
    .command('vacuum <uri>')
    .description('delete files no retained version references')
    .option(
      '--retain-hours <h>',
      "retention (default: the table's delta.deletedFileRetentionDuration, 7 days)",
    )
    .option('--dry-run', 'list what would be deleted')
    .option('--force', "allow a retention shorter than the table's")
    .action(async (uri: string, o: { retainHours?: string; dryRun?: boolean; force?: boolean }) => {
      const r = await vacuum(await open(uri), {
        retainHours: o.retainHours === undefined ? undefined : numberOption(o.retainHours, '--retain-hours'),
        dryRun: o.dryRun,
        enforceRetention: !o.force,
      });
      printJson({
        dryRun: r.dryRun,
        retentionHours: r.retentionHours,
        files: r.deleted.length,
        bytes: r.bytes,
        deleted: r.deleted,
      });
    });
}
