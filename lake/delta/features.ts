/** Table features (PROTOCOL.md "Table Features"): what we can read and write, checked before either. */
import { TributaryError } from '../errors';
import type { Metadata, Protocol } from './actions';

/** Reader features this implementation honours when reading. */
export const SUPPORTED_READER_FEATURES: ReadonlySet<string> = new Set([
  'columnMapping',
  'deletionVectors',
  'timestampNtz',
  'v2Checkpoint',
  'vacuumProtocolCheck',
  'typeWidening',
  'typeWidening-preview',
]);

/** Writer features this implementation honours when writing (anything else: refuse to write). */
export const SUPPORTED_WRITER_FEATURES: ReadonlySet<string> = new Set([
  'appendOnly',
  'invariants',
  'timestampNtz',
  'domainMetadata',
  'vacuumProtocolCheck',
  'deletionVectors',
]);

export function ensureReadSupported(p: Protocol, table: string): void {
  if (p.minReaderVersion > 3)
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `table ${table} needs reader version ${p.minReaderVersion}; tributary reads up to 3`,
    );
  const missing = (p.readerFeatures ?? []).filter((f) => !SUPPORTED_READER_FEATURES.has(f));
  if (missing.length)
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `table ${table} needs unsupported reader feature(s): ${missing.join(', ')}`,
    );
}

/** Legacy writer versions imply features (PROTOCOL.md "Table Features" table). */
function writerFeaturesOf(p: Protocol, m: Metadata | undefined): string[] {
  if (p.minWriterVersion >= 7) return p.writerFeatures ?? [];
  const f: string[] = [];
  if (p.minWriterVersion >= 2) f.push('appendOnly', 'invariants');
  if (p.minWriterVersion >= 3) f.push('checkConstraints');
  if (p.minWriterVersion >= 4) f.push('changeDataFeed', 'generatedColumns');
  if (p.minWriterVersion >= 5) f.push('columnMapping');
  if (p.minWriterVersion >= 6) f.push('identityColumns');
  // A legacy feature is only "in use" when the table turns it on.
  const conf = m?.configuration ?? {};
  const inUse = (x: string) => {
    if (x === 'checkConstraints') return Object.keys(conf).some((k) => k.startsWith('delta.constraints.'));
    if (x === 'changeDataFeed') return conf['delta.enableChangeDataFeed'] === 'true';
    if (x === 'columnMapping') return (conf['delta.columnMapping.mode'] ?? 'none') !== 'none';
    if (x === 'generatedColumns') return (m?.schemaString ?? '').includes('delta.generationExpression');
    if (x === 'identityColumns') return (m?.schemaString ?? '').includes('delta.identity');
    return true;
  };
  return f.filter(inUse);
}

export function ensureWriteSupported(p: Protocol, m: Metadata | undefined, table: string): void {
  ensureReadSupported(p, table);
  const missing = writerFeaturesOf(p, m).filter((f) => !SUPPORTED_WRITER_FEATURES.has(f));
  if (missing.length)
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `table ${table} needs unsupported writer feature(s): ${missing.join(', ')}; refusing to write`,
    );
  if ((m?.schemaString ?? '').includes('delta.invariants'))
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `table ${table} declares column invariants, which tributary does not enforce; refusing to write`,
    );
}
