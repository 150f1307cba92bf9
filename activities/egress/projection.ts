/**
 * What egress writes to central: the kept source columns (optionally renamed), plus `_region` when the
 * source does not have it. The filter is evaluated on source names before this projection.
 */
import { TributaryError } from '../../lake/errors';
import { type StructField, type StructType, withoutFieldMetadata } from '../../lake/delta/schema';
import { sqlIdent, sqlString } from '../../lake/engine/duckdb';
import { type EgressTarget, LINEAGE_COLUMNS } from '../../shapes/targets';

export interface Projection {
  /** The SELECT list over a relation with the source's logical columns. */
  sql: string;
  /** The schema of what that SELECT yields (central's input schema). */
  schema: StructType;
}

/** The kept source columns, renamed, plus `_region` when the source has none. */
export function projection(
  schema: StructType,
  partitionColumns: readonly string[],
  t: Pick<EgressTarget, 'region' | 'columns' | 'rename'>,
): Projection {
  const names = schema.fields.map((f) => f.name);
  const have = new Set(names);
  const rename = t.rename ?? {};
  if (t.columns)
    for (const c of t.columns)
      if (!have.has(c))
        throw new TributaryError(
          'BAD_INPUT',
          `egress ${t.region}: column ${JSON.stringify(c)} of central.columns is not in the source table (columns: ${names.join(', ')})`,
          { retryable: false },
        );
  for (const from of Object.keys(rename))
    if (!have.has(from))
      throw new TributaryError(
        'BAD_INPUT',
        `egress ${t.region}: central.rename names ${JSON.stringify(from)}, which is not a source column`,
        { retryable: false },
      );
  const keep = new Set<string>([...(t.columns ?? names), ...LINEAGE_COLUMNS, ...partitionColumns]);
  const kept = schema.fields.filter((f) => keep.has(f.name));
  const nameOf = (n: string): string => rename[n] ?? n;
  const out = kept.map(
    (f) => `${sqlIdent(f.name)}${nameOf(f.name) !== f.name ? ` AS ${sqlIdent(nameOf(f.name))}` : ''}`,
  );
  const fields: StructField[] = kept.map((f) => ({ ...f, name: nameOf(f.name) }));
  if (!have.has('_region')) {
    out.push(`${sqlString(t.region)} AS ${sqlIdent('_region')}`);
    fields.push({ name: '_region', type: 'string', nullable: true, metadata: {} });
  }
  const outNames = fields.map((f) => f.name);
  const dup = outNames.find((n, i) => outNames.indexOf(n) !== i);
  if (dup)
    throw new TributaryError(
      'BAD_INPUT',
      `egress ${t.region}: two central columns would be named ${JSON.stringify(dup)}`,
      { retryable: false },
    );
  return { sql: out.join(', '), schema: withoutFieldMetadata({ type: 'struct', fields }) };
}
