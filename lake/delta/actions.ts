/**
 * Delta log actions (PROTOCOL.md "Actions"): typed values parsed from raw JSON, never trusted as-is.
 * Unknown action kinds and unknown fields are preserved (the protocol lets writers add them).
 */
import { TributaryError } from '../errors';
import type { DeletionVectorDescriptor } from './deletion-vectors';

export interface Protocol {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

export interface Metadata {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  createdTime?: number | null;
  configuration: Record<string, string>;
}

export interface AddFile {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
  clusteringProvider?: string | null;
}

export interface RemoveFile {
  path: string;
  deletionTimestamp?: number | null;
  dataChange: boolean;
  extendedFileMetadata?: boolean | null;
  partitionValues?: Record<string, string | null> | null;
  size?: number | null;
  stats?: string | null;
  tags?: Record<string, string> | null;
  deletionVector?: DeletionVectorDescriptor | null;
  baseRowId?: number | null;
  defaultRowCommitVersion?: number | null;
}

export interface Txn {
  appId: string;
  version: number;
  lastUpdated?: number | null;
}

export interface CommitInfo {
  timestamp?: number;
  operation?: string;
  operationParameters?: Record<string, unknown>;
  readVersion?: number;
  isolationLevel?: string;
  isBlindAppend?: boolean;
  engineInfo?: string;
  txnId?: string;
  [k: string]: unknown;
}

export interface DomainMetadata {
  domain: string;
  configuration: string;
  removed: boolean;
}

export interface Sidecar {
  path: string;
  sizeInBytes: number;
  modificationTime: number;
  tags?: Record<string, string> | null;
}

export type Action =
  | { protocol: Protocol }
  | { metaData: Metadata }
  | { add: AddFile }
  | { remove: RemoveFile }
  | { txn: Txn }
  | { commitInfo: CommitInfo }
  | { domainMetadata: DomainMetadata }
  | { checkpointMetadata: { version: number; tags?: Record<string, string> | null } }
  | { sidecar: Sidecar }
  | { cdc: Record<string, unknown> };

const invalid = (where: string, msg: string) => new TributaryError('INVALID_LOG', `${where}: ${msg}`);

function req<T>(obj: Record<string, unknown>, key: string, type: string, where: string): T {
  const v = obj[key];
  const ok =
    type === 'array'
      ? Array.isArray(v)
      : type === 'object'
        ? v !== null && typeof v === 'object'
        : typeof v === type;
  if (!ok) throw invalid(where, `field '${key}' must be ${type}, got ${v === null ? 'null' : typeof v}`);
  return v as T;
}

const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : (v as number));

/** PROTOCOL.md "Protocol Evolution": features lists exist iff versions are (3, 7) respectively. */
export function parseProtocol(raw: Record<string, unknown>, where: string): Protocol {
  const p: Protocol = {
    minReaderVersion: num(req(raw, 'minReaderVersion', 'number', where)),
    minWriterVersion: num(req(raw, 'minWriterVersion', 'number', where)),
  };
  if (raw.readerFeatures != null) p.readerFeatures = req<string[]>(raw, 'readerFeatures', 'array', where);
  if (raw.writerFeatures != null) p.writerFeatures = req<string[]>(raw, 'writerFeatures', 'array', where);
  if (p.minReaderVersion === 3 && !p.readerFeatures)
    throw invalid(where, 'minReaderVersion 3 requires readerFeatures');
  if (p.minWriterVersion === 7 && !p.writerFeatures)
    throw invalid(where, 'minWriterVersion 7 requires writerFeatures');
  return p;
}

/** What a parsed metaData lacks (it cannot be a table's metadata), with where it was read. */
const incomplete = new WeakMap<Metadata, string>();

/**
 * A metaData action. Its required fields are checked only when it is the one in force (see
 * `completeMetadata`): a superseded metaData need not be complete (Databricks DLT writes a first
 * metaData without schemaString, delta-rs#1302), and readers of the newer version never use it.
 */
function parseMetadata(raw: Record<string, unknown>, where: string): Metadata {
  const format = (raw.format as Metadata['format'] | undefined) ?? { provider: 'parquet', options: {} };
  const m = {
    ...(raw as object),
    format: { provider: format.provider ?? 'parquet', options: format.options ?? {} },
    partitionColumns: (raw.partitionColumns as string[] | undefined) ?? [],
    configuration: (raw.configuration as Record<string, string> | undefined) ?? {},
  } as Metadata;
  const problems: string[] = [];
  for (const key of ['id', 'schemaString'])
    if (typeof raw[key] !== 'string')
      problems.push(`field '${key}' must be string, got ${raw[key] == null ? 'none' : typeof raw[key]}`);
  if (problems.length) incomplete.set(m, `${where}: ${problems.join('; ')}`);
  return m;
}

/** The metaData in force at a version must be complete; `context` names the table and version. */
export function completeMetadata(m: Metadata, context: string): Metadata {
  const p = incomplete.get(m);
  if (p) throw new TributaryError('INVALID_LOG', `${context}: the metaData in force is incomplete: ${p}`);
  return m;
}

function parseAdd(raw: Record<string, unknown>, where: string): AddFile {
  req<string>(raw, 'path', 'string', where);
  return {
    ...(raw as object),
    partitionValues: (raw.partitionValues as Record<string, string | null> | undefined) ?? {},
    size: num(raw.size ?? 0),
    modificationTime: num(raw.modificationTime ?? 0),
    dataChange: raw.dataChange !== false,
  } as AddFile;
}

function parseRemove(raw: Record<string, unknown>, where: string): RemoveFile {
  req<string>(raw, 'path', 'string', where);
  return { ...(raw as object), dataChange: raw.dataChange !== false } as RemoveFile;
}

/** Parses one action object (one line of a commit file, or one checkpoint row with a non-null column). */
export function parseAction(raw: unknown, where: string): Action | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalid(where, 'action is not a JSON object');
  const o = raw as Record<string, unknown>;
  const key = Object.keys(o).find((k) => o[k] != null);
  if (key === undefined) return undefined;
  const body = o[key];
  if (body === null || typeof body !== 'object') throw invalid(where, `action '${key}' is not an object`);
  const b = body as Record<string, unknown>;
  const w = `${where} (${key})`;
  switch (key) {
    case 'protocol':
      return { protocol: parseProtocol(b, w) };
    case 'metaData':
      return { metaData: parseMetadata(b, w) };
    case 'add':
      return { add: parseAdd(b, w) };
    case 'remove':
      return { remove: parseRemove(b, w) };
    case 'txn':
      return {
        txn: {
          appId: req<string>(b, 'appId', 'string', w),
          version: num(b.version),
          lastUpdated: b.lastUpdated as number | undefined,
        },
      };
    case 'commitInfo':
      return { commitInfo: b as CommitInfo };
    case 'domainMetadata':
      return {
        domainMetadata: {
          domain: req<string>(b, 'domain', 'string', w),
          configuration: (b.configuration as string | undefined) ?? '',
          removed: b.removed === true,
        },
      };
    case 'checkpointMetadata':
      return { checkpointMetadata: b as { version: number } };
    case 'sidecar':
      return { sidecar: { ...(b as object), path: req<string>(b, 'path', 'string', w) } as Sidecar };
    case 'cdc':
      return { cdc: b };
    default:
      return undefined; // unknown action kinds are ignored by readers (forward compatibility)
  }
}

/** Parses a newline-delimited commit file. Blank lines are tolerated. */
export function parseCommit(text: string, where: string): Action[] {
  const out: Action[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new TributaryError(
        'INVALID_LOG',
        `${where} line ${i + 1}: not valid JSON (${(e as Error).message})`,
        { cause: e },
      );
    }
    const a = parseAction(raw, `${where} line ${i + 1}`);
    if (a) out.push(a);
  }
  return out;
}

/** Serializes actions as a commit file: one JSON object per line. */
export const serializeCommit = (actions: readonly Action[]): string =>
  actions.map((a) => JSON.stringify(a)).join('\n') + '\n';
