/**
 * A Schedule's note holds the operator overrides `schedules apply` must keep: a compute failover (the
 * queue) and replica promotions (the table URIs), one record per line, each keyed by how its line starts.
 * Pure: both records live side by side; writing one leaves the others as they are.
 */

/** The note of a Schedule no override touched (what `schedules apply` writes). */
export const MANAGED_NOTE = 'managed by tributary schedules apply';

/** The note's record lines (the managed marker and blank lines are not records). */
export const noteLines = (note: string | undefined): string[] =>
  (note ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== MANAGED_NOTE);

/** The first record line starting with `key`. */
export const noteLine = (note: string | undefined, key: string): string | undefined =>
  noteLines(note).find((l) => l.startsWith(key));

/** The note with the record keyed `key` replaced by `line` (or removed); MANAGED_NOTE when none is left. */
export function withNoteLine(note: string | undefined, key: string, line: string | undefined): string {
  const lines = noteLines(note).filter((l) => !l.startsWith(key));
  if (line !== undefined) lines.push(line);
  return lines.length ? lines.join('\n') : MANAGED_NOTE;
}
