/** Delta log file names (PROTOCOL.md "Delta Log Entries", "Checkpoints"). */
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

/** Parses a key under `_delta_log/` (not its subfolders); anything else → undefined. */
export function parseLogKey(key: string): LogFile | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  if (key !== `${LOG_DIR}/${name}`) return undefined;
  let m;
  if ((m = RE.commit.exec(name))) return { kind: 'commit', version: Number(m[1]), key };
  if ((m = RE.classic.exec(name))) return { kind: 'checkpoint', version: Number(m[1]), key };
  if ((m = RE.multi.exec(name)))
    return { kind: 'checkpoint', version: Number(m[1]), key, part: Number(m[2]), parts: Number(m[3]) };
  if ((m = RE.v2.exec(name))) return { kind: 'checkpoint', version: Number(m[1]), key, uuid: m[2] };
  if ((m = RE.crc.exec(name))) return { kind: 'crc', version: Number(m[1]), key };
  if ((m = RE.compacted.exec(name)))
    return { kind: 'compacted', version: Number(m[1]), endVersion: Number(m[2]), key };
  return undefined;
}
