/**
 * Realistic regional rows for the egress load and kill tests, generated in SQL so they are cheap to write:
 * log fields, a struct, `egress_approved` true/false/NULL in turn, and the lineage columns ingestion adds
 * (`_region`, `_source_file`, `_source_line`). The same rule tells a test which rows must reach central.
 */

/** Which of the three approval states row `i` of a commit gets (0: true, 1: false, 2: NULL). */
const approval = (seed: number, i: number) => (i + seed) % 3;
const seedOf = (region: string, commit: number) =>
  ([...region].reduce((h, c) => h * 31 + c.charCodeAt(0), 7) + commit) % 3;

export const sourceFileOf = (commit: number) => `logs/part-${String(commit).padStart(4, '0')}.jsonl`;

/** From this source commit on, rows carry a new column (`trace_id`): the schema evolves in every region. */
export const EVOLVES_AT = 2;

/**
 * A parenthesised SELECT of `rows` log rows for source commit `commit` of `region` (write it with
 * mergeSchema: true, the schema grows at EVOLVES_AT).
 */
export function regionalCommitSql(region: string, commit: number, rows: number): string {
  const seed = seedOf(region, commit);
  return `(SELECT
    TIMESTAMP '2024-05-01 00:00:00' + INTERVAL 1 SECOND * (${commit} * 1000 + i) AS ts,
    (['api', 'auth', 'billing', 'search', 'checkout'])[1 + i % 5] AS service,
    (['DEBUG', 'INFO', 'WARN', 'ERROR'])[1 + i % 4] AS level,
    'request ' || i || ' handled' AS msg,
    ((i * 37) % 1000)::BIGINT AS latency_ms,
    {'method': CASE WHEN i % 2 = 1 THEN 'GET' ELSE 'POST' END, 'status': (200 + (i % 5) * 100)::BIGINT} AS http,
    CASE (i + ${seed}) % 3 WHEN 0 THEN true WHEN 1 THEN false ELSE NULL END AS egress_approved,
    '${region}' AS _region,
    '${sourceFileOf(commit)}' AS _source_file,
    (i + 1)::BIGINT AS _source_line${
      commit >= EVOLVES_AT
        ? `,
    'trace-${region}-' || i AS trace_id`
        : ''
    }
  FROM range(${rows}) t(i))`;
}

/** Row identity across regions: `<region>/<file>#<line>`. */
export const rowKey = (r: { _region?: unknown; _source_file?: unknown; _source_line?: unknown }) =>
  `${String(r._region)}/${String(r._source_file)}#${String(r._source_line)}`;

/** The keys of the approved rows (egress_approved = true) of commits 0..commits-1 of a region. */
export function approvedKeys(region: string, commits: number, rows: number): string[] {
  const out: string[] = [];
  for (let c = 0; c < commits; c++) {
    const seed = seedOf(region, c);
    for (let i = 0; i < rows; i++)
      if (approval(seed, i) === 0)
        out.push(rowKey({ _region: region, _source_file: sourceFileOf(c), _source_line: i + 1 }));
  }
  return out;
}
