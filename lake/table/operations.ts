/**
 * Table operations that combine the Delta protocol (lake/delta) with the data plane (lake/engine):
 * create/append/overwrite from any DuckDB relation, delete-where (copy-on-write), history, info, vacuum.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { TributaryError } from '../errors';
import type { AddFile, RemoveFile } from '../delta/actions';
import type { DeltaEngine } from '../delta/engine';
import { ensureWriteSupported } from '../delta/features';
import { fileKey } from '../delta/replay';
import { mergeSchemas } from '../delta/schema-evolution';
import {
  COLUMN_NAME_RULE,
  type StructField,
  type StructType,
  badNewFieldName,
  displayName,
  serializeSchema,
} from '../delta/schema';
import type { Snapshot } from '../delta/snapshot';
import type { CommitResult } from '../delta/transaction';
import { sqlIdent, withConnection } from '../engine/duckdb';
import { relationColumns } from '../engine/scan';
import { withEngineErrors } from '../engine/errors';
import { duckType, emptyRelation, typedExpr } from '../engine/types';
import { structOf } from '../engine/infer-schema';
import type { ObjectStore } from '../storage/object-store';
import { writeDataFiles } from '../engine/writer';
import { type CommitFilesResult, type FileActions, commitFiles } from './commit-files';
import { defaultEngine, loadSnapshotOrUndefined } from './latest';

export { defaultEngine, latestSnapshot, loadSnapshotOrUndefined } from './latest';
export { maybeCheckpoint } from './commit-files';

/** How many times an operation is re-planned after a logical conflict (not counting version races). */
const MAX_REPLANS = 10;

export interface WriteRequest {
  /** A DuckDB relation: table function call or parenthesised SELECT, e.g. `read_json('…')`. */
  sourceSql: string;
  mode?: 'append' | 'overwrite';
  /** Partition columns when the table is created (must match an existing table's). */
  partitionBy?: readonly string[];
  /** Add new input columns to the table schema (Delta's mergeSchema). Default false. */
  mergeSchema?: boolean;
  /** Idempotent write: skipped when the table already records appId at ≥ version. */
  txn?: { appId: string; version: number };
  operation?: string;
  operationParameters?: Record<string, unknown>;
  /** Metrics beside Delta's own (numFiles, numOutputRows, numOutputBytes), e.g. where the bytes came from. */
  operationMetrics?: Record<string, string>;
  /** Extra commitInfo fields of the commit (e.g. the egress routing version it applied). */
  commitInfo?: Record<string, unknown>;
  /** Table properties when the table is created. */
  configuration?: Record<string, string>;
  /** Prefix of written file names. */
  namePrefix?: string;
  /**
   * The logical schema of sourceSql when the caller knows it exactly (its columns already have these
   * DuckDB types): the source is then read once, straight into the data files, instead of being
   * materialised first to learn its schema and narrow wide integers.
   */
  inputSchema?: StructType;
  /**
   * The source already split by partition: each entry's rows all have these partition values (Delta
   * serialization, keyed by logical partition column). Each is written with its own COPY, no partitioning
   * writer; `sourceSql` must still be the union of them (it gives the schema). Only with inputSchema.
   */
  partitionSources?: { values: Record<string, string | null>; sourceSql: string }[];
  /**
   * Data files the caller already wrote for this same commit (e.g. with writeFilesAs, in an earlier pass);
   * committed together with sourceSql's files, and reported with them to onReady.
   */
  alsoAdd?: AddFile[];
  /** Called once the data files are written and beforeCommit has run, before the first commit attempt. */
  onReady?: (w: { adds: AddFile[]; schema: StructType }) => void | Promise<void>;
  /** The source must yield exactly this many rows, else RowCountMismatchError and nothing is committed. */
  expectRows?: number;
  /** Runs once the data files are written, before the commit (e.g. a companion write that must land first). */
  beforeCommit?: () => Promise<void>;
  engine?: DeltaEngine;
}

export type WriteResult = CommitResult & {
  addedFiles: number;
  addedRows: number;
  /** Bytes of the data files the commit added (0 when the txn had already landed). */
  addedBytes: number;
  schemaChanged: boolean;
};

/**
 * DuckDB's JSON reader widens a column mixing non-negative and negative integers to HUGEINT (and may
 * infer UBIGINT); Delta has no such types. When every value fits, the column becomes BIGINT (long).
 */
async function narrowWideIntegers(c: DuckDBConnection, table: string): Promise<void> {
  const r = await c.runAndReadAll(`SELECT * FROM ${table} LIMIT 0`);
  const types = r.columnTypes();
  for (const [i, name] of r.columnNames().entries()) {
    const t = String(types[i]);
    if (t !== 'HUGEINT' && t !== 'UBIGINT' && t !== 'UHUGEINT') continue;
    const col = sqlIdent(name);
    const ok = (
      await c.runAndReadAll(
        `SELECT coalesce(bool_and(${col} BETWEEN -9223372036854775808 AND 9223372036854775807), true) AS ok FROM ${table}`,
      )
    ).getRowObjectsJS()[0]!.ok;
    if (ok) await c.run(`ALTER TABLE ${table} ALTER ${col} TYPE BIGINT`);
  }
}

async function inputSchema(c: DuckDBConnection, relation: string): Promise<StructType> {
  const r = await c.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
  return structOf(r.columnNames(), r.columnTypes());
}

/**
 * Writes a relation's rows as data files of a table with `schema`: columns already of the table's DuckDB
 * type pass through, others are converted (typedExpr), missing ones are NULL. No commit.
 */
export async function writeFilesAs(
  c: DuckDBConnection,
  store: ObjectStore,
  req: {
    source: string;
    schema: StructType;
    partitionColumns: readonly string[];
    namePrefix?: string;
    expectRows?: number;
    partitions?: { values: Record<string, string | null>; source: string }[];
  },
): Promise<AddFile[]> {
  const cols = await relationColumns(c, req.source);
  const target = await relationColumns(c, emptyRelation(req.schema));
  const same = (f: StructField) => cols.get(f.name)?.toString() === target.get(f.name)?.toString();
  const typed = (from: string) =>
    `(SELECT ${req.schema.fields
      .map(
        (f) =>
          `${!cols.has(f.name) ? `CAST(NULL AS ${duckType(f.type)})` : same(f) ? sqlIdent(f.name) : typedExpr(sqlIdent(f.name), f.type, 'none', cols.get(f.name))} AS ${sqlIdent(f.name)}`,
      )
      .join(', ')} FROM ${from})`;
  return writeDataFiles(c, store, {
    source: typed(req.source),
    schema: req.schema,
    partitionColumns: req.partitionColumns,
    namePrefix: req.namePrefix,
    expectRows: req.expectRows,
    partitions: req.partitions?.map((p) => ({ values: p.values, source: typed(p.source) })),
  });
}

interface WriteShape {
  creating: boolean;
  partitionBy: string[];
  schema: StructType;
  schemaChanged: boolean;
}

/** The table shape a write of `input` makes on `snap`: partitioning checked, schema merged. */
function shapeOfWrite(
  store: ObjectStore,
  snap: Snapshot | undefined,
  input: StructType,
  req: Pick<WriteRequest, 'partitionBy' | 'mergeSchema' | 'mode'>,
): WriteShape {
  const creating = !snap;
  if (snap) ensureWriteSupported(snap.protocol, snap.metadata, store.url);
  const partitionBy = snap ? [...snap.partitionColumns] : [...(req.partitionBy ?? [])];
  if (snap && req.partitionBy && req.partitionBy.join(',') !== partitionBy.join(','))
    throw new TributaryError(
      'BAD_INPUT',
      `table ${store.url} is partitioned by [${partitionBy.join(', ')}], not [${req.partitionBy.join(', ')}]`,
    );
  for (const p of partitionBy)
    if (!input.fields.some((f) => f.name === p) && creating)
      throw new TributaryError('BAD_INPUT', `partition column ${p} is not in the input`);
  const merged = snap
    ? mergeSchemas(snap.schema, input, {
        allowNewColumns: req.mergeSchema === true || (req.mode === 'overwrite' && req.mergeSchema !== false),
      })
    : { schema: input, added: input.fields.map((f) => f.name) };
  return { creating, partitionBy, schema: merged.schema, schemaChanged: creating || merged.added.length > 0 };
}

/** The commit that adds `adds` (written with shape.schema) to `snap`, or creates the table with them. */
function writeActions(
  snap: Snapshot | undefined,
  shape: WriteShape,
  adds: readonly AddFile[],
  req: Pick<
    WriteRequest,
    'mode' | 'configuration' | 'operation' | 'operationParameters' | 'operationMetrics' | 'commitInfo'
  >,
): { actions: FileActions; addedRows: number; addedBytes: number } {
  const mode = req.mode ?? 'append';
  const now = Date.now();
  const addedRows = adds.reduce((n, a) => n + (JSON.parse(a.stats ?? '{}').numRecords ?? 0), 0);
  const addedBytes = adds.reduce((n, a) => n + a.size, 0);
  return {
    addedRows,
    addedBytes,
    actions: {
      ...(shape.creating ? { protocol: { minReaderVersion: 1, minWriterVersion: 2 } } : {}),
      ...(shape.schemaChanged
        ? {
            metadata: snap
              ? { ...snap.metadata, schemaString: serializeSchema(shape.schema) }
              : {
                  id: crypto.randomUUID(),
                  format: { provider: 'parquet', options: {} },
                  schemaString: serializeSchema(shape.schema),
                  partitionColumns: shape.partitionBy,
                  configuration: req.configuration ?? {},
                  createdTime: now,
                },
          }
        : {}),
      removes: mode === 'overwrite' && snap ? snap.files.map((f) => removeOf(f, now)) : [],
      adds,
      operation: req.operation ?? (shape.creating ? 'CREATE TABLE AS SELECT' : 'WRITE'),
      operationParameters: {
        mode: mode === 'overwrite' ? 'Overwrite' : 'Append',
        partitionBy: JSON.stringify(shape.partitionBy),
        ...req.operationParameters,
      },
      operationMetrics: {
        numFiles: String(adds.length),
        numOutputRows: String(addedRows),
        numOutputBytes: String(addedBytes),
        ...req.operationMetrics,
      },
      isBlindAppend: mode === 'append' && !shape.creating,
      readFiles: 'all',
      ...(req.commitInfo ? { commitInfo: req.commitInfo } : {}),
    },
  };
}

const writeResultOf = (
  r: CommitFilesResult<{ addedFiles: number; addedRows: number; addedBytes: number; schemaChanged: boolean }>,
): WriteResult => {
  if (r.kind === 'alreadyCommitted')
    return {
      kind: 'alreadyCommitted',
      version: r.version,
      attempts: r.attempts,
      appId: r.appId,
      recordedVersion: r.recordedVersion,
      addedFiles: 0,
      addedRows: 0,
      addedBytes: 0,
      schemaChanged: false,
    };
  if (r.kind === 'nothing') throw new Error('a write always plans a commit');
  return {
    kind: 'committed',
    version: r.version,
    attempts: r.attempts,
    conflictsChecked: r.conflictsChecked,
    ...r.result,
  };
};

/**
 * Commits data files an earlier attempt of the same write already wrote (e.g. a resumed ingest batch), with
 * `schema`, merging it into the table's: no data is read or written.
 */
export async function commitWrittenFiles(
  store: ObjectStore,
  req: Pick<
    WriteRequest,
    | 'mode'
    | 'partitionBy'
    | 'mergeSchema'
    | 'txn'
    | 'operation'
    | 'operationParameters'
    | 'operationMetrics'
    | 'configuration'
    | 'engine'
  > & { adds: readonly AddFile[]; schema: StructType },
): Promise<WriteResult> {
  return writeResultOf(
    await commitFiles(store, {
      engine: req.engine,
      txn: req.txn,
      plan: async (snap) => {
        const shape = shapeOfWrite(store, snap, req.schema, req);
        const w = writeActions(snap, shape, req.adds, req);
        return {
          actions: w.actions,
          result: {
            addedFiles: req.adds.length,
            addedRows: w.addedRows,
            addedBytes: w.addedBytes,
            schemaChanged: shape.schemaChanged,
          },
        };
      },
    }),
  );
}

/** Appends (or overwrites with) rows; creates the table when absent. */
export async function writeTable(store: ObjectStore, req: WriteRequest): Promise<WriteResult> {
  const engine = req.engine ?? defaultEngine;
  return withConnection(async (c) => {
    let source = '__tributary_src';
    let input: StructType;
    if (req.inputSchema) {
      source = req.sourceSql;
      input = req.inputSchema;
    } else {
      input = await withEngineErrors('cannot read the input', async () => {
        await c.run(`CREATE OR REPLACE TEMP TABLE __tributary_src AS SELECT * FROM ${req.sourceSql}`);
        await narrowWideIntegers(c, '__tributary_src');
        return inputSchema(c, '__tributary_src');
      });
    }
    const snapshot = await loadSnapshotOrUndefined(store, engine);
    if (!req.inputSchema) {
      // A relation read as it is (table append): new column names must follow the one rule (as JSON keys do).
      const bad = badNewFieldName(input, snapshot?.schema);
      if (bad)
        throw new TributaryError(
          'BAD_INPUT',
          `input column ${bad.path.map(displayName).join('.')} cannot be a column name (${bad.reason}; ${COLUMN_NAME_RULE})`,
        );
    }
    // Files are written once; a re-plan reuses them: additive schema changes by others keep them valid
    // (a column missing from a data file reads as NULL).
    let adds: AddFile[] | undefined;
    const r = await commitFiles(store, {
      engine,
      txn: req.txn,
      snapshot,
      maxReplans: MAX_REPLANS,
      plan: async (snap, replan) => {
        const shape = shapeOfWrite(store, snap, input, req);
        if (!adds) {
          const partitions =
            req.inputSchema &&
            req.partitionSources &&
            shape.partitionBy.length &&
            req.partitionSources.every(
              (p) =>
                Object.keys(p.values).sort().join('\u0000') === [...shape.partitionBy].sort().join('\u0000'),
            )
              ? req.partitionSources.map((p) => ({ values: p.values, source: p.sourceSql }))
              : undefined;
          adds = await writeFilesAs(c, store, {
            source,
            schema: shape.schema,
            partitionColumns: shape.partitionBy,
            namePrefix: req.namePrefix,
            expectRows: req.expectRows,
            partitions,
          });
          if (req.alsoAdd) adds = [...req.alsoAdd, ...adds];
        }
        if (replan === 0) {
          await req.beforeCommit?.();
          await req.onReady?.({ adds, schema: shape.schema });
        }
        const w = writeActions(snap, shape, adds, req);
        return {
          actions: w.actions,
          result: {
            addedFiles: adds.length,
            addedRows: w.addedRows,
            addedBytes: w.addedBytes,
            schemaChanged: shape.schemaChanged,
          },
        };
      },
    });
    return writeResultOf(r);
  });
}

/** The remove action of an active file (dataChange false: a rewrite of the same rows, e.g. OPTIMIZE). */
export function removeOf(f: AddFile, now: number, dataChange = true): RemoveFile {
  return {
    path: f.path,
    deletionTimestamp: now,
    dataChange,
    extendedFileMetadata: true,
    partitionValues: f.partitionValues,
    size: f.size,
    ...(f.deletionVector ? { deletionVector: f.deletionVector } : {}),
    ...(f.tags ? { tags: f.tags } : {}),
  };
}

export { fileKey };
