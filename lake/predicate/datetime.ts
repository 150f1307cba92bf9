/**
 * Date and timestamp values as microseconds since 1970-01-01 00:00:00, on the proleptic
 * Gregorian calendar with no time zone (DuckDB DATE / TIMESTAMP). A JS `Date` is read as its UTC
 * wall clock, so a DATE stored as midnight UTC equals the matching DATE literal.
 */

export type Checked = { ok: true; canonical: string; micros: bigint } | { ok: false; reason: string };

const MICROS_PER_DAY = 86_400_000_000n;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micros: number;
}

function checkFields(f: Fields): string | undefined {
  if (f.year < 1 || f.year > 9999) return `year ${f.year} is outside 1..9999`;
  if (f.month < 1 || f.month > 12) return `month ${f.month} is outside 1..12`;
  const dim = f.month === 2 && isLeap(f.year) ? 29 : (DAYS_IN_MONTH[f.month - 1] ?? 31);
  if (f.day < 1 || f.day > dim)
    return `day ${f.day} is outside 1..${dim} for ${pad(f.year, 4)}-${pad(f.month, 2)}`;
  if (f.hour > 23) return `hour ${f.hour} is outside 0..23`;
  if (f.minute > 59) return `minute ${f.minute} is outside 0..59`;
  if (f.second > 59) return `second ${f.second} is outside 0..59`;
  return undefined;
}

function toMicros(f: Fields): bigint {
  const secs = f.hour * 3600 + f.minute * 60 + f.second;
  return (
    BigInt(daysFromCivil(f.year, f.month, f.day)) * MICROS_PER_DAY +
    BigInt(secs) * 1_000_000n +
    BigInt(f.micros)
  );
}

const dateText = (f: Fields) => `${pad(f.year, 4)}-${pad(f.month, 2)}-${pad(f.day, 2)}`;

function timestampText(f: Fields): string {
  const base = `${dateText(f)} ${pad(f.hour, 2)}:${pad(f.minute, 2)}:${pad(f.second, 2)}`;
  return f.micros === 0 ? base : `${base}.${pad(f.micros, 6)}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/;

/** Validates the text of a `DATE '…'` literal: exactly `YYYY-MM-DD`, a real calendar day. */
export function checkDate(text: string): Checked {
  const m = DATE_RE.exec(text);
  if (!m) return { ok: false, reason: `DATE literal '${text}' is not in the form YYYY-MM-DD` };
  const f = { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: 0, minute: 0, second: 0, micros: 0 };
  const bad = checkFields(f);
  if (bad) return { ok: false, reason: `DATE literal '${text}' is not a valid date: ${bad}` };
  return { ok: true, canonical: dateText(f), micros: toMicros(f) };
}

/** Date-time fields from a match whose groups 1–7 are year … fraction; fractions beyond µs are truncated. */
function fieldsOf(m: RegExpExecArray) {
  return {
    year: +m[1]!,
    month: +m[2]!,
    day: +m[3]!,
    hour: +(m[4] ?? 0),
    minute: +(m[5] ?? 0),
    second: +(m[6] ?? 0),
    micros: +(m[7] ?? '').padEnd(6, '0').slice(0, 6),
  };
}

/**
 * Validates the text of a `TIMESTAMP '…'` literal: `YYYY-MM-DD[( |T)HH:MM:SS[.f{1,6}]]`. Time zone
 * offsets are refused: the literal is a timestamp without time zone.
 */
export function checkTimestamp(text: string): Checked {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) {
    const hint =
      /(Z|[+-]\d{2}(:?\d{2})?)$/.test(text) && text.length > 10
        ? ' (time zone offsets are not supported)'
        : '';
    return {
      ok: false,
      reason: `TIMESTAMP literal '${text}' is not in the form YYYY-MM-DD HH:MM:SS[.ffffff]${hint}`,
    };
  }
  const f = fieldsOf(m);
  const bad = checkFields(f);
  if (bad) return { ok: false, reason: `TIMESTAMP literal '${text}' is not a valid timestamp: ${bad}` };
  return { ok: true, canonical: timestampText(f), micros: toMicros(f) };
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(?:\s*(Z|[+-]\d{2}(?::?\d{2})?))?$/;

/**
 * Reads an ISO-8601 date or date-time string from a row (or a string literal compared with a
 * date): `YYYY-MM-DD`, optionally `[ T]HH:MM[:SS[.fraction]]`, optionally `Z` or `±HH[:MM]`.
 * With an offset the instant is converted to UTC; without one the wall clock is taken as is.
 * Fractions beyond microseconds are truncated. Returns undefined for anything else.
 */
export function parseIsoMicros(text: string): bigint | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const f = fieldsOf(m);
  if (checkFields(f) !== undefined) return undefined;
  let micros = toMicros(f);
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = +digits.slice(0, 2) * 60 + +(digits.slice(2) || '0');
    if (offsetMinutes > 18 * 60) return undefined;
    micros -= BigInt((zone[0] === '-' ? -1 : 1) * offsetMinutes) * 60_000_000n;
  }
  return micros;
}

/** A JS Date as microseconds of its UTC wall clock; undefined for an invalid Date. */
export function dateMicros(d: Date): bigint | undefined {
  const ms = d.getTime();
  return Number.isFinite(ms) ? BigInt(ms) * 1000n : undefined;
}
