/**
 * What egress writes to central: the kept source columns (optionally renamed), plus `_region` when the
 * source does not have it. The filter is evaluated on source names before this projection.
 */
import { TributaryError } from '../../lake/errors';
import type { StructType } from '../../lake/delta/schema';
import { sqlIdent, sqlString } from '../../lake/engine/duckdb';
import type { EgressTarget } from './types';

/** Columns egress always keeps: how a central row is traced back to its region, file and line. */
export const LINEAGE_COLUMNS = ['_region', '_source_file', '_source_line'] as const;

/** The SELECT list over a relation with the source's logical columns. */
export function projectionSql(
  schema: StructType,
  partitionColumns: readonly string[],
  t: Pick<EgressTarget, 'region' | 'columns' | 'rename'>,
): string {
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
  const kept = names.filter((n) => keep.has(n));
  const out = kept.map((n) => `${sqlIdent(n)}${rename[n] ? ` AS ${sqlIdent(rename[n])}` : ''}`);
  const outNames = kept.map((n) => rename[n] ?? n);
  if (!have.has('_region')) {
    out.push(`${sqlString(t.region)} AS ${sqlIdent('_region')}`);
    outNames.push('_region');
  }
  const dup = outNames.find((n, i) => outNames.indexOf(n) !== i);
  if (dup)
    throw new TributaryError(
      'BAD_INPUT',
      `egress ${t.region}: two central columns would be named ${JSON.stringify(dup)}`,
      {
        retryable: false,
      },
    );
  return out.join(', ');
}
