/** The deployment config as every command loads it: a missing file says which options would do instead. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { TributaryError } from '../lake/errors';

/** The config file a command reads: --config, else $TRIBUTARY_CONFIG, else tributary.yaml. */
export const configFileOf = (option: string | undefined): string =>
  option ?? process.env.TRIBUTARY_CONFIG ?? 'tributary.yaml';

/**
 * Loads the config named by --config (or the default); `alternative` names what else the command accepts
 * (query: --table). A missing default file says how to name one; a missing named file says only that.
 */
export function loadCliConfig(option: string | undefined, alternative?: string): Config {
  const file = configFileOf(option);
  if (!existsSync(file)) {
    const named =
      option !== undefined ? '--config' : process.env.TRIBUTARY_CONFIG ? 'TRIBUTARY_CONFIG' : undefined;
    throw new TributaryError(
      'CONFIG_INVALID',
      named
        ? `config file ${file} (from ${named}) not found (looked in ${resolve(file)})`
        : `config file ${file} not found (looked in ${resolve(file)}): give --config <file> or set TRIBUTARY_CONFIG${alternative ? `, ${alternative}` : ''}`,
    );
  }
  return loadConfig(file);
}
