/** Loads and validates the deployment YAML; every problem is reported as `file: path: message`. */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { TributaryError } from '../lake/errors';
import { Config } from './schema';

export function parseConfig(text: string, file = '<config>'): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length)
    throw new TributaryError(
      'CONFIG_INVALID',
      doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]}`).join('\n'),
    );
  const r = Config.safeParse(doc.toJS());
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const node = doc.getIn(i.path as (string | number)[], true) as { range?: [number, number] } | undefined;
    const where = node?.range ? `:${lc.linePos(node.range[0]).line}` : '';
    return `${file}${where}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`;
  });
  throw new TributaryError('CONFIG_INVALID', `invalid config:\n${lines.join('\n')}`);
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `cannot read config ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      { cause: e },
    );
  }
  return parseConfig(text, file);
}
