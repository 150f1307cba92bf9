/**
 * Loads and validates the deployment YAML; every problem is reported as `file:line: path: message`
 * (YAML syntax errors, nesting too deep, alias bombs, schema errors alike).
 */
import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { TributaryError } from '../lake/errors';
import { Config } from './schema';
import { type PathSegment, findAlias, keyOffset, largestAlias, pathAt, tooDeep, valueOffset } from './yaml';

/** Maps and sequences nested deeper than this are refused (a valid config nests 5 levels). */
export const MAX_CONFIG_DEPTH = 32;
/** At most this many problems are listed; the rest are counted. */
const MAX_LISTED = 20;

/** Keys in messages are cut to this many characters (a key may be megabytes long). */
const MAX_KEY_SHOWN = 80;
const cut = (k: string): string =>
  k.length > MAX_KEY_SHOWN ? `${k.slice(0, MAX_KEY_SHOWN)}…(${k.length} characters)` : k;
const pathText = (p: readonly PropertyKey[]): string =>
  p.length ? p.map((k) => cut(String(k))).join('.') : '(root)';

function invalid(file: string, problems: string[]): TributaryError {
  const listed = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) listed.push(`(${problems.length - MAX_LISTED} more problems)`);
  return new TributaryError('CONFIG_INVALID', `invalid config:\n${listed.join('\n')}`);
}

export function parseConfig(text: string, file = '<config>'): Config {
  const lc = new LineCounter();
  const at = (offset: number | undefined) =>
    offset === undefined ? file : `${file}:${lc.linePos(offset).line}`;

  // The yaml package's parser is iterative but its composer and toJS recurse: refuse deep nesting first.
  const deep = tooDeep(text, MAX_CONFIG_DEPTH);
  if (deep) {
    const line = text.slice(0, deep.offset).split('\n').length;
    throw invalid(file, [
      `${file}:${line}: ${pathText(deep.path)}: nested more than ${MAX_CONFIG_DEPTH} levels deep (maps and lists); a config needs 5`,
    ]);
  }

  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length)
    throw invalid(
      file,
      doc.errors.map((e) => {
        const col = lc.linePos(e.pos[0]).col;
        if (e.code === 'MULTIPLE_DOCS')
          return `${at(e.pos[0])}: (root): a second YAML document (after ---); the config is one document`;
        return `${at(e.pos[0])}: ${pathText(pathAt(doc, e.pos[0]))}: ${e.message.split('\n')[0]} (column ${col})`;
      }),
    );

  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    if (e instanceof ReferenceError && /alias count/i.test(e.message)) {
      const a = largestAlias(doc);
      throw invalid(file, [
        `${at(a?.offset)}: ${pathText(a?.path ?? [])}: YAML aliases expand too much` +
          (a ? ` (*${a.source} alone expands to ${a.size} values)` : '') +
          '; refused as a likely resource-exhaustion attack (at most 100 expansions per anchor, nested ones multiplied)',
      ]);
    }
    if (e instanceof ReferenceError) {
      // An alias before (or without) its anchor.
      const a = findAlias(doc, (x) => x.resolve(doc) === undefined);
      throw invalid(file, [`${at(a?.offset)}: ${pathText(a?.path ?? [])}: ${e.message.split('\n')[0]}`]);
    }
    throw e;
  }

  const r = Config.safeParse(value);
  if (r.success) return r.data;
  throw invalid(
    file,
    r.error.issues.flatMap((i) => issueLines(i, doc, at)),
  );
}

function issueLines(
  i: z.core.$ZodIssue,
  doc: Document,
  at: (offset: number | undefined) => string,
): string[] {
  const path = i.path as PathSegment[];
  // Problems with the whole document (empty, not a map) are at line 1.
  const nodeOffset = (p: PathSegment[]) => valueOffset(doc, p) ?? (p.length ? undefined : 0);
  // Unknown keys: one line per key, at the key's own line (zod reports the parent map).
  if (i.code === 'unrecognized_keys')
    return i.keys.map(
      (k) => `${at(keyOffset(doc, path, k) ?? nodeOffset(path))}: ${pathText([...path, k])}: unknown key`,
    );
  // A record key that fails its own schema: the key schema's message says what names look like.
  let message = i.message;
  if (i.code === 'invalid_key') message = i.issues.map((x) => x.message).join('; ');
  const where = at(
    nodeOffset(path) ?? (path.length ? keyOffset(doc, path.slice(0, -1), String(path.at(-1))) : undefined),
  );
  // A custom issue may name a second place (two names that clash): give its line too.
  const also = (i as { params?: { alsoAt?: PathSegment[] } }).params?.alsoAt;
  if (also) {
    const o = keyOffset(doc, also.slice(0, -1), String(also.at(-1))) ?? nodeOffset(also);
    if (o !== undefined) message += ` (${pathText(also)} is at ${at(o)})`;
  }
  return [`${where}: ${pathText(path)}: ${message}`];
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
