/** Checkpoint Parquet I/O for lake/delta, on DuckDB. */
import { promises as fs } from 'node:fs';
import type { ObjectStore } from '../storage/object-store';
import type { Action } from '../delta/actions';
import type { ParquetActionHandler } from '../delta/engine';
import { sqlString, withConnection } from './duckdb';
import { materialize, stageOutput, uploadFile } from './local-files';

export async function readActions(store: ObjectStore, key: string): Promise<Record<string, unknown>[]> {
  const f = await materialize(store, key);
  try {
    return await withConnection(async (c) => {
      const r = await c.runAndReadAll(
        `SELECT to_json(t)::VARCHAR AS j FROM read_parquet(${sqlString(f.path)}) t`,
      );
      return r.getRowObjectsJS().map((row) => JSON.parse(row.j as string) as Record<string, unknown>);
    });
  } finally {
    await f.release();
  }
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
