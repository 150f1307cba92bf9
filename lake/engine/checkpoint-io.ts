/** Checkpoint Parquet I/O for lake/delta, on DuckDB. */
import { promises as fs } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from '../storage/object-store';
import type { Action } from '../delta/actions';
import type { ParquetActionHandler } from '../delta/engine';
import { sqlIdent, sqlString, withConnection } from './duckdb';
import { materialize, stageOutput, uploadFile } from './local-files';

/**
 * The rows of a checkpoint (or sidecar) file as action objects, shaped like the JSON of a commit line:
 * `{add: {...}}`, `{metaData: {...}}`, … (parseAction reads them).
 *
 * A checkpoint of a big table is almost all `add` rows, and turning DuckDB's strings into JS strings one
 * by one (a native call and a decode each) was most of the load time: 10,000 adds, 20,000 strings, 30 ms
 * of a 70 ms read. So the add rows come out as a few long strings, each the fields of up to ADD_GROUP
 * adds joined with separators that JSON text (stats) and Delta paths (URI-encoded) do not contain, and are
 * split here. Each record and field count is checked: a file whose values do contain one is read the safe
 * way, every row through `to_json` (as every other row always is).
 */
export async function readActions(store: ObjectStore, key: string): Promise<Record<string, unknown>[]> {
  const f = await materialize(store, key);
  try {
    return await withConnection(async (c) => {
      const plain = `read_parquet(${sqlString(f.path)})`;
      const all = () => wholeRows(c, `SELECT to_json(t)::VARCHAR FROM ${plain} t`);
      const columns = await columnsOf(c, plain);
      const addFields = columns.get('add');
      if (!addFields?.has('path')) return await all();
      return (await joinedRows(c, f.path, [...columns.keys()], addFields)) ?? (await all());
    });
  } finally {
    await f.release();
  }
}

async function wholeRows(c: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const [col] = (await c.runAndReadAll(sql)).getColumnsJS() as [(string | null)[]];
  return (col ?? []).map((j) => JSON.parse(j!) as Record<string, unknown>);
}

/** Top-level columns, each with its field names when it is a struct. */
async function columnsOf(c: DuckDBConnection, src: string): Promise<Map<string, Set<string> | undefined>> {
  const r = await c.runAndReadAll(`SELECT * FROM ${src} LIMIT 0`);
  const types = r.columnTypes() as { entryNames?: readonly string[] }[];
  return new Map(
    r.columnNames().map((n, i) => [n, types[i]!.entryNames ? new Set(types[i]!.entryNames) : undefined]),
  );
}

/** `add` fields read as text: how each becomes its JSON value. Other fields go through one `to_json`. */
const ADD_FIELDS: readonly (readonly [string, 'str' | 'num' | 'bool' | 'json'])[] = [
  ['path', 'str'],
  ['partitionValues', 'json'],
  ['size', 'num'],
  ['modificationTime', 'num'],
  ['dataChange', 'bool'],
  ['stats', 'str'],
  ['tags', 'json'],
  ['deletionVector', 'json'],
  ['baseRowId', 'num'],
  ['defaultRowCommitVersion', 'num'],
  ['clusteringProvider', 'str'],
];
/** Adds per joined string: bounded, so a checkpoint of millions of files never makes one huge string. */
const ADD_GROUP = 4096;
const RECORD = '\x1e';
const FIELD = '\x1f';
/** Starts every non-NULL field (chr(2)), so NULL (empty) and '' (just the mark) differ. */
const PRESENT = 2;

/**
 * Every row in one scan: per group of ADD_GROUP rows, the add rows' fields joined (see readActions) and the
 * other rows' `to_json` joined (JSON text escapes every control character, so RECORD cannot occur in it).
 * Undefined when a value holds a separator: the caller then reads the file the safe way.
 */
async function joinedRows(
  c: DuckDBConnection,
  path: string,
  columns: readonly string[],
  fields: ReadonlySet<string>,
): Promise<Record<string, unknown>[] | undefined> {
  const known = ADD_FIELDS.filter(([n]) => fields.has(n));
  const others = [...fields].filter((n) => !ADD_FIELDS.some(([k]) => k === n));
  const a = (n: string) => `t.add.${sqlIdent(n)}`;
  const text = known.map(([n, how]) =>
    how === 'json' ? `to_json(${a(n)})::VARCHAR` : how === 'str' ? a(n) : `${a(n)}::VARCHAR`,
  );
  if (others.length > 0)
    text.push(`to_json({${others.map((n) => `${sqlString(n)}: ${a(n)}`).join(', ')}})::VARCHAR`);
  const addSql = text.map((e) => `coalesce(chr(2) || ${e}, '')`).join(' || chr(31) || ');
  // The row as to_json(t) would render it, without the file_row_number column read for grouping.
  const rowSql = `to_json({${columns.map((n) => `${sqlString(n)}: t.${sqlIdent(n)}`).join(', ')}})::VARCHAR`;
  const r = await c.runAndReadAll(
    `SELECT count(*)::INTEGER, count(t.add)::INTEGER,` +
      // CASE rather than FILTER: DuckDB then renders each row's text only for the rows it is for (2× faster).
      ` string_agg(CASE WHEN t.add IS NOT NULL THEN ${addSql} END, chr(30)),` +
      ` string_agg(CASE WHEN t.add IS NULL THEN ${rowSql} END, chr(30))` +
      ` FROM read_parquet(${sqlString(path)}, file_row_number = true) t GROUP BY t.file_row_number // ${ADD_GROUP}`,
  );
  const [counts, addCounts, addText, restText] = r.getColumnsJS() as [
    number[],
    number[],
    (string | null)[],
    (string | null)[],
  ];
  const width = text.length;
  const out: Record<string, unknown>[] = [];
  for (let g = 0; g < counts.length; g++) {
    const rest = restText[g] ? restText[g]!.split(RECORD) : [];
    if (rest.length !== counts[g]! - addCounts[g]!) return undefined;
    for (const j of rest) out.push(JSON.parse(j) as Record<string, unknown>);
    const records = addText[g] ? addText[g]!.split(RECORD) : [];
    if (records.length !== addCounts[g]) return undefined;
    for (const rec of records) {
      const v = rec.split(FIELD);
      if (v.length !== width) return undefined;
      const add: Record<string, unknown> =
        others.length > 0 && v[width - 1]
          ? (JSON.parse(v[width - 1]!.slice(1)) as Record<string, unknown>)
          : {};
      for (let k = 0; k < known.length; k++) {
        const x = v[k]!;
        const [name, how] = known[k]!;
        if (x === '') {
          add[name] = null;
          continue;
        }
        if (x.charCodeAt(0) !== PRESENT) return undefined;
        const body = x.slice(1);
        add[name] =
          how === 'str'
            ? body
            : how === 'num'
              ? Number(body)
              : how === 'bool'
                ? body === 'true'
                : body === '{}'
                  ? {}
                  : JSON.parse(body);
      }
      out.push({ add });
    }
  }
  return out;
}

const MAP = 'MAP(VARCHAR, VARCHAR)';
const DV =
  'STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT)';
/** The classic checkpoint schema (PROTOCOL.md "Checkpoint Schema"), as Spark writes it. */
const CHECKPOINT_COLUMNS: Record<string, string> = {
  txn: 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)',
  add: `STRUCT(path VARCHAR, partitionValues ${MAP}, size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags ${MAP}, deletionVector ${DV}, baseRowId BIGINT, defaultRowCommitVersion BIGINT, clusteringProvider VARCHAR)`,
  remove: `STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues ${MAP}, size BIGINT, tags ${MAP}, deletionVector ${DV}, baseRowId BIGINT, defaultRowCommitVersion BIGINT)`,
  metaData: `STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options ${MAP}), schemaString VARCHAR, partitionColumns VARCHAR[], configuration ${MAP}, createdTime BIGINT)`,
  protocol:
    'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER, readerFeatures VARCHAR[], writerFeatures VARCHAR[])',
  domainMetadata: 'STRUCT(domain VARCHAR, configuration VARCHAR, removed BOOLEAN)',
};

export async function writeCheckpoint(
  store: ObjectStore,
  key: string,
  actions: readonly Action[],
): Promise<{ sizeInBytes: number }> {
  const input = await stageOutput('.json');
  const output = await stageOutput('.parquet');
  try {
    await fs.writeFile(input.path, actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
    const cols = Object.entries(CHECKPOINT_COLUMNS)
      .map(([k, t]) => `${sqlString(k)}: ${sqlString(t)}`)
      .join(', ');
    await withConnection((c) =>
      c.run(
        `COPY (SELECT * FROM read_json(${sqlString(input.path)}, format = 'newline_delimited', columns = {${cols}}, maximum_object_size = 1073741824))` +
          ` TO ${sqlString(output.path)} (FORMAT parquet, COMPRESSION zstd)`,
      ),
    );
    return { sizeInBytes: await uploadFile(store, output.path, key) };
  } finally {
    await input.discard();
    await output.discard();
  }
}

export const duckdbParquetActions: ParquetActionHandler = { readActions, writeCheckpoint };
