/**
 * A nasty-input corpus for ingestion, made in code: nesting of objects and arrays at several depths, empty
 * and odd keys at the top level and nested, `.gz` that is not gzip and gzip without the name, gzip that
 * cannot be decoded, one huge line, only invalid bytes, dates JS and DuckDB read differently, wide lines.
 * Each entry says what must become of its lines.
 */
import { gzipSync } from 'node:zlib';
import { logLines } from './helpers';

export const nestedObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
/** A line whose value `a` is `depth - 1` arrays deep (the line's object is one more level). */
export const nestedArray = (depth: number): string =>
  '{"a":' + '['.repeat(depth - 1) + '1' + ']'.repeat(depth - 1) + '}';

export interface CorpusFile {
  key: string;
  body: Buffer;
  /** Lines (line number → 'row' or a regexp the quarantine reason matches); unlisted lines are rows. */
  expect?: Record<number, 'row' | RegExp>;
  /** What becomes of lines not in `expect` (default 'row'). */
  rest?: 'row' | RegExp;
  /**
   * Quarantine records of the file kept as raw bytes (line < 0), with their reason; such a file may also
   * have one line cut short by the damage, quarantined decoded.
   */
  raw?: RegExp;
}

const text = (lines: string[]) => Buffer.from(lines.join('\n') + '\n');
const DEPTH = /nested deeper than the limit of 64 levels/;

/** The corpus at the default limits (maxNestingDepth 64, maxLineBytes 1 MiB). */
export function nastyCorpus(): CorpusFile[] {
  const good = logLines(7, 5);
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = 0x80 + ((i * 37) % 0x7f); // never valid UTF-8 alone
  for (let i = 512; i < garbage.length; i += 512) garbage[i] = 0x0a;
  const notGzip = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from('not really deflate')]);
  return [
    {
      key: 'deep-objects.jsonl',
      body: text([
        good[0]!,
        nestedObject(10),
        nestedObject(64),
        nestedObject(65),
        nestedObject(1000),
        nestedObject(20_000),
      ]),
      expect: { 1: 'row', 2: 'row', 3: 'row', 4: DEPTH, 5: DEPTH, 6: DEPTH },
    },
    {
      key: 'deep-arrays.jsonl',
      // Line 1 makes `a` an array column, so deeper arrays under it are first typed by DuckDB.
      body: text(['{"a":[1,2]}', nestedArray(3), nestedArray(64), nestedArray(65), nestedArray(20_000)]),
      expect: { 1: 'row', 2: 'row', 3: 'row', 4: DEPTH, 5: DEPTH },
    },
    {
      key: 'odd-keys.jsonl',
      body: text([
        '{"": 4, "b": 1}',
        '{"x": {"": 4}}',
        '{"y": {"ok": 1, "": 2}}',
        JSON.stringify({ 'tab\there': 1, 'nl\nkey': 2, 'nul\u0000key': 3, del: 4 }),
        JSON.stringify({ ['k'.repeat(300)]: 1, short: 2 }),
        '{"_source_file": "spoof", "_rescued_data": 1, "B": 2}',
        JSON.stringify({ 'a.b': 1, 'with space': 2, ключ: 3, '😀': 4, 'x"y': 5 }),
      ]),
    },
    { key: 'plain-named.jsonl.gz', body: text(good) },
    { key: 'gzip-unnamed.jsonl', body: gzipSync(text(logLines(8, 5))) },
    { key: 'gzip-magic-garbage.jsonl.gz', body: notGzip, raw: /^unreadable gzip data/ },
    {
      key: 'gzip-truncated.log',
      body: gzipSync(text(logLines(9, 400))).subarray(0, 3000),
      raw: /^unreadable gzip data/,
    },
    {
      key: 'huge-line.jsonl',
      body: text([good[1]!, JSON.stringify({ big: 'x'.repeat(3 << 20) }), good[2]!]),
      expect: { 1: 'row', 2: /exceeds the limit of 1048576/, 3: 'row' },
    },
    { key: 'invalid-bytes.bin', body: garbage, rest: /invalid UTF-8/ },
    {
      key: 'dates.jsonl',
      body: text([
        '{"ts":"2024-01-01T00:00:00Z","d":"2024-01-01"}',
        '{"ts":"2024-02-30T00:00:00Z","d":"2023-02-29"}',
        '{"ts":"2024-01-01T24:00:00Z","d":"2024-13-01"}',
        '{"ts":"2024-02-29T23:59:59+01:00","d":"2024-02-29"}',
      ]),
    },
    {
      key: 'not-objects.jsonl',
      body: text(['[1,2]', '"text"', '42', 'null', '{"a":', good[3]!]),
      expect: {
        1: /not a JSON object/,
        2: /not a JSON object/,
        3: /not a JSON object/,
        4: /not a JSON object/,
        5: /invalid JSON/,
        6: 'row',
      },
    },
    {
      key: 'wide.jsonl',
      body: text([
        good[4]!,
        JSON.stringify(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`w${i}`, i]))),
        ...Array.from({ length: 300 }, (_, i) => JSON.stringify({ [`per_line_${i}`]: i })),
      ]),
    },
  ];
}
