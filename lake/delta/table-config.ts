/** Table properties (`delta.*` configuration). */

/** Parses Delta's interval strings: "interval 7 days", "168 hours", "30 days", "1 week". */
export function durationMs(v: string | undefined, fallback: number): number {
  if (!v) return fallback;
  const m = /^\s*(?:interval\s+)?(\d+(?:\.\d+)?)\s*(millisecond|second|minute|hour|day|week)s?\s*$/i.exec(v);
  if (!m) return fallback;
  const unit: Record<string, number> = {
    millisecond: 1,
    second: 1e3,
    minute: 6e4,
    hour: 3.6e6,
    day: 8.64e7,
    week: 6.048e8,
  };
  return Number(m[1]) * unit[m[2]!.toLowerCase()]!;
}

/** Whether a writer cleans up expired log entries after each checkpoint (`delta.enableExpiredLogCleanup`). */
export const expiredLogCleanup = (config: Record<string, string | undefined>): boolean =>
  String(config['delta.enableExpiredLogCleanup'] ?? 'true').toLowerCase() !== 'false';

/** `delta.logRetentionDuration` in ms (Delta's default: 30 days). */
export const logRetentionMs = (config: Record<string, string | undefined>): number =>
  durationMs(config['delta.logRetentionDuration'], 30 * 86_400_000);
