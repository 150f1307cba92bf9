/**
 * LIKE patterns: `%` matches any run of characters, `_` exactly one character (code point), and
 * `\` makes the following `%`, `_` or `\` literal. Any other use of `\` is refused so that the
 * pattern means the same here and in DuckDB (rendered with `ESCAPE '\'`).
 */

export type LikeToken = { t: 'lit'; cp: number } | { t: 'one' } | { t: 'any' };

/** Why `pattern` is not a valid pattern, or undefined when it is. */
export function likePatternError(pattern: string): string | undefined {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== '\\') continue;
    const next = pattern[i + 1];
    if (next === undefined) return `LIKE pattern ends with the escape character '\\'`;
    if (next !== '%' && next !== '_' && next !== '\\')
      return `in a LIKE pattern '\\' must be followed by %, _ or \\ (write '\\\\' for a literal backslash)`;
    i++;
  }
  return undefined;
}

export function compileLike(pattern: string): LikeToken[] {
  const tokens: LikeToken[] = [];
  let escaped = false;
  for (const ch of pattern) {
    const cp = ch.codePointAt(0) ?? 0;
    if (escaped) {
      tokens.push({ t: 'lit', cp });
      escaped = false;
    } else if (ch === '\\') escaped = true;
    else if (ch === '%') {
      // Consecutive %s match the same strings as one.
      if (tokens[tokens.length - 1]?.t !== 'any') tokens.push({ t: 'any' });
    } else if (ch === '_') tokens.push({ t: 'one' });
    else tokens.push({ t: 'lit', cp });
  }
  return tokens;
}

const codePoints = (s: string): number[] => Array.from(s, (c) => c.codePointAt(0) ?? 0);

/**
 * Wildcard match with backtracking to the last `%` only: O(len(s) * len(pattern)) in the worst
 * case, so a hostile pattern cannot trigger the exponential blow-up of a naive regex.
 */
export function likeMatch(tokens: readonly LikeToken[], s: string): boolean {
  const text = codePoints(s);
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < text.length) {
    const tok = tokens[pi];
    if (tok && (tok.t === 'one' || (tok.t === 'lit' && tok.cp === text[si]))) {
      si++;
      pi++;
    } else if (tok?.t === 'any') {
      starP = pi++;
      starS = si;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else return false;
  }
  while (tokens[pi]?.t === 'any') pi++;
  return pi === tokens.length;
}

/** The literal text every match starts with (up to the first wildcard). */
export function likePrefix(tokens: readonly LikeToken[]): string {
  let out = '';
  for (const tok of tokens) {
    if (tok.t !== 'lit') break;
    out += String.fromCodePoint(tok.cp);
  }
  return out;
}
