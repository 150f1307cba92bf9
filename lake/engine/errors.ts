/**
 * DuckDB errors as coded, user-facing TributaryErrors: the one mapping every layer uses (lake operations
 * that read user input, the query sandbox, the CLI's last line of defence).
 *
 * DuckDB's messages name the SQL we built around the user's input (`CREATE OR REPLACE TEMP TABLE
 * __tributary_src …`, `"__row"."level"`), quote it in a `LINE 1: …` excerpt, and can be kilobytes long (a
 * deeply nested type is printed whole). The mapped message keeps DuckDB's error class and its first
 * paragraph, with internal names removed and the length bounded; the excerpt only when the SQL is the
 * user's own (a query).
 */
import { type ErrorCode, TributaryError } from '../errors';

/** Longest engine message kept (the rest is cut, saying how much). */
export const MAX_ENGINE_MESSAGE = 600;

/** DuckDB's exception classes (`<class> Error: …`) and what they say about who is at fault. */
const INPUT_CLASSES = [
  'Binder',
  'Catalog',
  'Constraint',
  'Conversion',
  'Decimal',
  'Divide by Zero',
  'Invalid Input',
  'Invalid type',
  'Mismatch Type',
  'Not implemented',
  'Out of Range',
  'Parameter Not Allowed',
  'Parameter Not Resolved',
  'Parser',
  'Permission',
  'Syntax',
];
const OTHER_CLASSES = [
  'Connection',
  'Dependency',
  'Executor',
  'Expression',
  'FATAL',
  'HTTP',
  'INTERNAL',
  'INTERRUPT',
  'IO',
  'Index',
  'Invalid',
  'Invalid Configuration',
  'Missing Extension',
  'Network',
  'NullPointer',
  'Object Size',
  'Optimizer',
  'Out of Memory',
  'Planner',
  'Scheduler',
  'Sequence',
  'Serialization',
  'Settings',
  'Stat',
  'TransactionContext',
  'Unknown Type',
];
const INPUT = new Set(INPUT_CLASSES);
const CLASS = new RegExp(`^(${[...INPUT_CLASSES, ...OTHER_CLASSES].join('|')}) Error: `);

/** Whether `e` is an error DuckDB raised (not one of ours, not a JS error). */
export function isEngineError(e: unknown): e is Error {
  // Not `instanceof Error`: the native addon's errors may come from another realm (e.g. under jest).
  const message = (e as { message?: unknown } | null)?.message;
  return !(e instanceof TributaryError) && typeof message === 'string' && CLASS.test(message);
}

/** `text` cut to `max` characters, saying how much was left out. */
function bound(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters cut]`;
}

/**
 * DuckDB's message made fit for a user: the first paragraph (without the `LINE n:` excerpt unless
 * `excerpt`), internal relation and alias names removed, at most MAX_ENGINE_MESSAGE characters.
 */
export function engineMessage(message: string, opts: { excerpt?: boolean } = {}): string {
  const at = message.search(/\n\s*\nLINE \d+:/);
  let head = at >= 0 ? message.slice(0, at) : message;
  const excerpt = at >= 0 && opts.excerpt ? message.slice(at).replace(/^\s+/, '') : '';
  head = head
    .replace(/"__row"\./g, '')
    .replace(/\b__row\./g, '')
    .replace(/\b__tributary_[A-Za-z0-9_]*/g, 'the input')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
  const text = excerpt ? `${bound(head, MAX_ENGINE_MESSAGE)}\n${bound(excerpt, MAX_ENGINE_MESSAGE)}` : head;
  return excerpt ? text : bound(text, MAX_ENGINE_MESSAGE);
}

/**
 * A DuckDB error as a TributaryError: BAD_INPUT for errors about the input or the SQL (conversion,
 * binder, parser, permission, …), else `otherwise` (INTERNAL by default); never retryable (the same SQL on
 * the same data fails the same way). Anything else is returned unchanged.
 */
export function fromEngineError(
  e: unknown,
  context: string,
  opts: { excerpt?: boolean; otherwise?: ErrorCode } = {},
): unknown {
  if (!isEngineError(e)) return e;
  const cls = CLASS.exec(e.message)![1]!;
  const code: ErrorCode = INPUT.has(cls) ? 'BAD_INPUT' : (opts.otherwise ?? 'INTERNAL');
  return new TributaryError(code, `${context}: ${engineMessage(e.message, opts)}`, { retryable: false });
}

/** Runs `fn`; a DuckDB error it throws leaves as fromEngineError(e, context). */
export async function withEngineErrors<T>(
  context: string,
  fn: () => Promise<T>,
  opts: { excerpt?: boolean } = {},
): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fromEngineError(e, context, opts);
  }
}
