/** Delta log file names (PROTOCOL.md "Delta Log Entries", "Checkpoints"). */
import { type ErrorCode, TributaryError } from '../errors';

export const LOG_DIR = '_delta_log';

export type LogFile =
  | { kind: 'commit'; version: number; key: string }
  | { kind: 'checkpoint'; version: number; key: string; part?: number; parts?: number; uuid?: string }
  | { kind: 'crc'; version: number; key: string }
  | { kind: 'compacted'; version: number; endVersion: number; key: string };

export const pad20 = (v: number): string => String(v).padStart(20, '0');
export const commitKey = (v: number): string => `${LOG_DIR}/${pad20(v)}.json`;
export const checkpointKey = (v: number): string => `${LOG_DIR}/${pad20(v)}.checkpoint.parquet`;
export const LAST_CHECKPOINT_KEY = `${LOG_DIR}/_last_checkpoint`;

const RE = {
  commit: /^(\d{20})\.json$/,
  classic: /^(\d{20})\.checkpoint\.parquet$/,
  multi: /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/,
  v2: /^(\d{20})\.checkpoint\.([0-9a-fA-F-]{36})\.(json|parquet)$/,
  crc: /^(\d{20})\.crc$/,
  compacted: /^(\d{20})\.(\d{20})\.compacted\.json$/,
};

/**
 * The largest table version: versions are JS numbers, exact up to 2^53 − 1 (Delta's own limit, a signed
 * 64-bit long, is larger; a version past this one is refused, never rounded).
 */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/**
 * A version written in decimal digits (a log file name, a CLI option). `what` names it in the message
 * ("--version", "table …: log file …: version"); `code` is INVALID_LOG for the log, BAD_INPUT for users.
 */
export function parseVersion(digits: string, what: string, code: ErrorCode = 'BAD_INPUT'): number {
  const shown = digits.length > 40 ? `${digits.slice(0, 40)}… (${digits.length} characters)` : digits;
  if (!/^\d+$/.test(digits))
    throw new TributaryError(code, `${what} must be a non-negative integer, got ${JSON.stringify(shown)}`);
  const n = Number(digits);
  if (!Number.isSafeInteger(n))
    throw new TributaryError(
      code,
      `${what} ${shown.replace(/^0+(?=\d)/, '')}: beyond ${MAX_VERSION}, the largest version Tributary represents exactly`,
    );
  return n;
}

/**
 * Parses a key under `_delta_log/` (not its subfolders); anything else → undefined. A log file whose
 * version is beyond MAX_VERSION is refused (INVALID_LOG naming `table` and the file).
 */
export function parseLogKey(key: string, table = ''): LogFile | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (key !== `${LOG_DIR}/${name}`) return undefined;
  const v = (digits: string) =>
    parseVersion(digits, `${table ? `table ${table}: ` : ''}log file ${key}: version`, 'INVALID_LOG');
  let m;
  if ((m = RE.commit.exec(name))) return { kind: 'commit', version: v(m[1]!), key };
  if ((m = RE.classic.exec(name))) return { kind: 'checkpoint', version: v(m[1]!), key };
  if ((m = RE.multi.exec(name))) {
    // Part o of p, 1 ≤ o ≤ p (PROTOCOL.md "Checkpoints"); another name is no checkpoint part at all.
    const part = Number(m[2]);
    const parts = Number(m[3]);
    if (part < 1 || part > parts) return undefined;
    return { kind: 'checkpoint', version: v(m[1]!), key, part, parts };
  }
  if ((m = RE.v2.exec(name))) return { kind: 'checkpoint', version: v(m[1]!), key, uuid: m[2] };
  if ((m = RE.crc.exec(name))) return { kind: 'crc', version: v(m[1]!), key };
  if ((m = RE.compacted.exec(name)))
    return { kind: 'compacted', version: v(m[1]!), endVersion: v(m[2]!), key };
  return undefined;
}
