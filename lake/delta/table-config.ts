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
