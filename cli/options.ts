/** Option values the CLI's commands share: integers and instants, checked the same way everywhere. */
import { TributaryError } from '../lake/errors';
import { parseIsoMicros } from '../lake/predicate/datetime';

export function intOption(v: string, name: string): number {
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new TributaryError('BAD_INPUT', `${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** A TCP port to listen on: 1 to 65535. */
export function portOption(v: string, name: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 65535))
    throw new TributaryError(
      'BAD_INPUT',
      `${name} must be a port number from 1 to 65535, got ${JSON.stringify(v)}`,
    );
  return n;
}

/**
 * An ISO-8601 instant: `YYYY-MM-DD`, optionally `THH:MM[:SS[.fraction]]`, optionally `Z` or `±HH:MM`;
 * without an offset the time is UTC. Anything else (`12`, `May 1`, 2024-02-30) is refused, never guessed.
 */
export function instantOption(v: string, name: string): Date {
  const micros = parseIsoMicros(v);
  const d = micros === undefined ? undefined : new Date(Number(micros / 1000n));
  if (!d || Number.isNaN(d.getTime()))
    throw new TributaryError(
      'BAD_INPUT',
      `${name} ${JSON.stringify(v)} is not an ISO-8601 instant (e.g. 2024-05-01T12:00:00Z or 2024-05-01; UTC without an offset)`,
    );
  return d;
}

/** A non-negative decimal number such as `168` or `0.5` (no exponents, no `Infinity`). */
export function numberOption(v: string, name: string): number {
  if (!/^\d+(\.\d+)?$/.test(v))
    throw new TributaryError('BAD_INPUT', `${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return Number(v);
}
