/**
 * fork.yaml: the ForkInput of `tributary fork start` (shapes/fork.ts) as YAML, validated with zod; every
 * problem is listed as `path: message`. Regions default to the config's regions when main is the
 * config's central table (the workflow's own default, the regions whose egress main records, applies
 * otherwise).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { TributaryError } from '../lake/errors';
import type { ForkInput } from '../shapes/fork';
import { type Config, predicate, storeUrl } from './schema';

const seconds = z
  .number()
  .positive()
  .max(7 * 86400);

export const ForkFile = z
  .strictObject({
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/,
        'letters, digits, _ . - (at most 100; part of the workflow id)',
      ),
    main: storeUrl,
    fork: storeUrl,
    subset: predicate,
    regions: z.array(z.string().regex(/^[^\s/]+$/, 'a region name')).optional(),
    approval: z.enum(['manual', 'auto']).default('manual'),
    barrierTimeoutSeconds: seconds.optional(),
    barrierPollSeconds: seconds.optional(),
    replanSeconds: seconds.optional(),
    heartbeatTimeoutSeconds: seconds.optional(),
    concurrency: z.number().int().min(1).max(256).optional(),
  })
  .refine((f) => f.main.replace(/\/+$/, '') !== f.fork.replace(/\/+$/, ''), {
    path: ['fork'],
    message: 'must be another table than main',
  });
export type ForkFile = z.infer<typeof ForkFile>;

export function parseForkFile(text: string, file = '<fork.yaml>'): ForkFile {
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new TributaryError('CONFIG_INVALID', `${file}: ${(e as Error).message.split('\n')[0]}`, {
      cause: e,
    });
  }
  const r = ForkFile.safeParse(value);
  if (r.success) return r.data;
  throw new TributaryError(
    'CONFIG_INVALID',
    `invalid fork file ${file}:\n${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}`,
  );
}

export function loadForkFile(file: string): ForkFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `cannot read fork file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      { cause: e },
    );
  }
  return parseForkFile(text, file);
}

/** The workflow input: regions from the deployment config when main is its central table. */
export function forkInputOf(f: ForkFile, config: Config | undefined): ForkInput {
  const central = config?.central?.table.replace(/\/+$/, '');
  const regions =
    f.regions ??
    (central && central === f.main.replace(/\/+$/, '') ? config!.regions.map((r) => r.name) : undefined);
  return { ...f, ...(regions ? { regions } : {}) };
}
