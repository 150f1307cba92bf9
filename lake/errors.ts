import { redact } from './redact';

/**
 * One error type for all of lake/ (and the layers above it), with a closed set of codes.
 * Retryability is decided where the error is made; activities map it to Temporal in one place.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'STORAGE_TRANSIENT'
  | 'AUTH'
  | 'CONFIG_INVALID'
  | 'COMMIT_CONFLICT'
  | 'PROTOCOL_UNSUPPORTED'
  | 'INVALID_LOG'
  | 'BAD_INPUT'
  | 'INTERNAL';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['STORAGE_TRANSIENT', 'COMMIT_CONFLICT']);

/** Messages are redacted (lake/redact.ts) when made: no credential, query string or key reaches a user or a log. */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts?: { cause?: unknown; retryable?: boolean }) {
    super(redact(message), opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts?.retryable ?? RETRYABLE.has(code);
    this.name = `TributaryError(${code})`;
  }
}

export const isTributaryError = (e: unknown, code?: ErrorCode): e is TributaryError =>
  e instanceof TributaryError && (code === undefined || e.code === code);

/** Convenience constructors: the message says what and where. */
export const notFound = (what: string, cause?: unknown) =>
  new TributaryError('NOT_FOUND', `${what} not found`, { cause });
export const alreadyExists = (what: string, cause?: unknown) =>
  new TributaryError('ALREADY_EXISTS', `${what} already exists (create-if-absent precondition failed)`, {
    cause,
  });
export const transient = (message: string, cause?: unknown) =>
  new TributaryError('STORAGE_TRANSIENT', message, { cause });
export const configInvalid = (message: string, cause?: unknown) =>
  new TributaryError('CONFIG_INVALID', message, { cause });
