/**
 * The one redaction of text that may reach a user, a log or Temporal: TributaryError messages (lake/errors.ts),
 * activity failures and their causes (activities/failures.ts), the CLI's error line, and every storage adapter's
 * mapping of SDK errors. SDK and server messages carry request URLs with the endpoint's userinfo and query
 * strings (SAS tokens, signatures), and sometimes whole response bodies.
 *
 * What is removed:
 * - userinfo of any URL (`http://user:pw@host` → `http://***@host`);
 * - query strings of the form `?name=value&…` (`?k=Q` → `?***`), wherever they appear;
 * - the values of secret-looking settings (`AccountKey=…`, `sig=…`, `password=…`, `X-Amz-Signature=…`,
 *   `"private_key": "…"`, `Authorization: …`, `Bearer …`);
 * - padded base64 runs of 60+ characters (account keys) and AWS access key ids.
 */

const MASK = '***';

const SECRET_NAMES =
  'accountkey|account_key|sharedaccesssignature|sig|signature|' +
  'x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|' +
  'access_?token|refresh_?token|id_?token|client_?secret|private_?key|password|passwd|pwd|secret|' +
  'secretaccesskey|secret_access_key|aws_secret_access_key|sessiontoken|session_token|api_?key|apikey|token|key';

const RULES: [RegExp, string | ((...m: string[]) => string)][] = [
  // scheme://userinfo@ → scheme://***@  (userinfo: no '/', '?', '#', '@' or whitespace)
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi, `$1${MASK}@`],
  // ?name=value&… → ?***
  [/\?[^\s=&#"'<>?]+=[^\s#"'<>]*/g, `?${MASK}`],
  // "private_key": "…" (JSON)
  [new RegExp(`("(?:${SECRET_NAMES})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${MASK}"`],
  // name=value in connection strings, query strings and form bodies
  [new RegExp(`(^|[\\s;&,?("'])(${SECRET_NAMES})=([^;&\\s"',)]+)`, 'gi'), `$1$2=${MASK}`],
  // HTTP headers
  [
    /\b(authorization|proxy-authorization|x-goog-api-key|x-ms-copy-source-authorization|x-amz-security-token)(["']?\s*[:=]\s*["']?)[^"'\n\r,}]+/gi,
    `$1$2${MASK}`,
  ],
  [/\b(Bearer|Basic|SharedKey)\s+[A-Za-z0-9._~+/:-]+=*/g, `$1 ${MASK}`],
  // padded base64 of 60+ characters (Azure account keys are 88 ending in '=='; PEM keys come as a "private_key")
  [/[A-Za-z0-9+/]{60,}={1,2}/g, MASK],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, MASK],
];

/** `text` with credentials, query strings and secret values masked (see the module comment). */
export function redact(text: string): string {
  let out = text;
  for (const [re, to] of RULES) out = out.replace(re, to as string);
  return out;
}

/** Longest excerpt of a server's response body or an SDK message that goes into an error message. */
export const MAX_EXCERPT = 300;

/**
 * A bounded, redacted, one-line excerpt of `text` (a response body, an SDK message): whitespace runs collapsed,
 * cut to `max` characters saying how much was left out.
 */
export function excerpt(text: string, max = MAX_EXCERPT): string {
  const one = redact(String(text)).replace(/\s+/g, ' ').trim();
  if (one.length <= max) return one;
  return `${one.slice(0, max)}… [${one.length - max} more characters]`;
}
