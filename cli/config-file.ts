/** The deployment config as every command loads it: a missing file says which options would do instead. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';
import { TributaryError } from '../lake/errors';

/** The config file a command reads: --config, else $TRIBUTARY_CONFIG, else tributary.yaml. */
export const configFileOf = (option: string | undefined): string =>
  option ?? process.env.TRIBUTARY_CONFIG ?? 'tributary.yaml';

/** Loads the config; `alternative` names what else the command accepts (query: --table). */
export function loadCliConfig(file: string, alternative?: string): Config {
  if (!existsSync(file))
    throw new TributaryError(
      'CONFIG_INVALID',
      `config file ${file} not found (looked in ${resolve(file)}): give --config <file> or set TRIBUTARY_CONFIG${alternative ? `, ${alternative}` : ''}`,
    );
  return loadConfig(file);
}
