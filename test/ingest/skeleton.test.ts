/**
 * The skeleton scanner (activities/ingest/skeleton.ts) decides which lines share a shape without parsing
 * them. Checked here: it refuses what is not one JSON object it fully understands; lines with equal
 * skeletons have equal DuckDB json_structure (the shape SQL types them by) and equal shapeOfSkeleton;
 * and the encoding is prefix-free (keys holding skeleton syntax cannot make two shapes collide).
 */
import fc from 'fast-check';
import { SkeletonIds, shapeOfSkeleton, skeletonOf } from '../../activities/ingest/skeleton';
import { sqlString, withConnection } from '../../lake/engine/duckdb';

const sk = (s: string) => skeletonOf(Buffer.from(s, 'utf8'));

test('refuses text that is not one JSON object it vouches for', () => {
  for (const bad of [
    '',
    '   ',
    '[1]',
    '"x"',
    '1',
    'null',
    '{',
    '{"a":1,}',
    '{"a":1}}',
    '{"a":1} x',
    '{"a" 1}',
    '{"a":01}',
    '{"a":-}',
    '{"a":1.}',
    '{"a":.5}',
    '{"a":1e}',
    '{"a":+1}',
    '{"a":NaN}',
    '{"a":tru}',
    '{"a":nul}',
    "{'a':1}",
    '{a:1}',
    '{"a":"unterminated}',
    '{"a":[{"b":1}]}', // arrays of containers: not vouched for (JS path)
    '{"a":[[1]]}',
    `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`, // deeper than 32
  ])
    expect({ bad, skeleton: sk(bad) }).toEqual({ bad, skeleton: undefined });
});

test('strings: escapes, quotes and long values end where JSON says', () => {
  const long = 'x'.repeat(500);
  expect(sk(`{"a":"${long}\\"${long}","b":1}`)).toBe(sk('{"a":"","b":1}'));
  expect(sk('{"a":"x\\\\","b":1}')).toBe(sk('{"a":"","b":2}'));
  expect(sk(`{"a":"${long}\\\\\\\\","b":1}`)).toBe(sk('{"a":"","b":2}'));
  expect(sk(`{"a":"${long}\\\\\\"","b":true}`)).toBe(sk('{"a":"","b":false}'));
  expect(sk('{"k\\"q":1}')).not.toBe(sk('{"k":1}'));
  expect(sk(' \t{ "a" : 1 , "b" : [ 1 , 2 ] } \t')).toBe(sk('{"a":2,"b":[3]}'));
});

test('kinds: integer literals, other numbers, arrays by the kinds they hold', () => {
  expect(sk('{"a":1}')).toBe(sk('{"a":-123456789012345678}'));
  expect(sk('{"a":1.5}')).toBe(sk('{"a":-1234567890123456789}')); // 19 digits: not an integer for SQL
  expect(sk('{"a":1}')).not.toBe(sk('{"a":1.0}'));
  expect(sk('{"a":1.5}')).toBe(sk('{"a":1e3}'));
  expect(sk('{"a":[1,2]}')).toBe(sk('{"a":[3]}'));
  expect(sk('{"a":[1,null]}')).toBe(sk('{"a":[3]}'));
  expect(sk('{"a":[]}')).toBe(sk('{"a":[null]}'));
  expect(sk('{"a":[1,"x"]}')).not.toBe(sk('{"a":[1]}'));
  expect(shapeOfSkeleton(sk('{"a":[1,2.5],"b":[1,"x"],"c":[],"d":{"e":null}}')!)).toEqual({
    a: ['DOUBLE'],
    b: ['JSON'],
    c: ['NULL'],
    d: { e: 'NULL' },
  });
  expect(shapeOfSkeleton(sk('{"a":1,"a":2}')!)).toBeUndefined(); // duplicate key: JS path
  expect(shapeOfSkeleton(sk('{"\\u0061":1}')!)).toEqual({ a: 'BIGINT' });
});

test('keys holding skeleton syntax cannot collide (length-prefixed keys)', () => {
  // Without length prefixes both would read `{a:S,b:I}`.
  expect(sk('{"a:S,b":1}')).not.toBe(sk('{"a":"x","b":1}'));
  expect(sk('{"ab":1}')).not.toBe(sk('{"a":1,"b":1}'));
});

const scalar = fc.constantFrom('"x"', '"a\\"b"', '0', '-7', '12', '1.0', '2.5e3', 'true', 'false', 'null');
const key = fc.constantFrom('a', 'b', 'A', 'x:S', '{', 'é', 'k"q', '\\u0061');
/**
 * JSON objects of `key`s, with values drawn from `scalars`, arrays of them and nested objects; `spaced`
 * puts blanks around colons and commas.
 */
function objects(scalars: fc.Arbitrary<string>, maxMembers: number, spaced = false): fc.Arbitrary<string> {
  const members = (v: fc.Arbitrary<string>, max: number) =>
    fc
      .array(fc.tuple(key, v), { maxLength: max })
      .map((ms) =>
        spaced
          ? `{ ${ms.map(([k, x]) => `"${k.replace(/"/g, '\\"')}" : ${x}`).join(' , ')} }`
          : `{${ms.map(([k, x]) => `"${k.replace(/"/g, '\\"')}":${x}`).join(',')}}`,
      );
  const value: fc.Arbitrary<string> = fc.letrec((tie) => ({
    v: fc.oneof(
      { weight: 5, arbitrary: scalars },
      { weight: 1, arbitrary: fc.array(scalars, { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`) },
      { weight: 2, arbitrary: members(tie('v') as fc.Arbitrary<string>, 3) },
    ),
  })).v;
  return members(value, maxMembers);
}
const object = objects(scalar, 4);

/**
 * json_structure with the integer kinds SQL treats alike (shapeFits) made one. DuckDB calls an empty object
 * JSON where the skeleton says {}: both type as a struct of NULLs, and the routing test covers it.
 */
const normalized = (s: unknown): unknown =>
  s === 'UBIGINT' || s === 'HUGEINT' // HUGEINT: an array mixing signs; arrays of numbers always go to JS
    ? 'BIGINT'
    : Array.isArray(s)
      ? s.map(normalized)
      : s && typeof s === 'object'
        ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, normalized(v)]))
        : s;

test('the shape of a skeleton is the DuckDB json_structure of every line with that skeleton', async () => {
  await withConnection(async (c) => {
    await fc.assert(
      fc.asyncProperty(object, async (line) => {
        const k = sk(line);
        expect({ line, k: k !== undefined }).toEqual({ line, k: true });
        const shape = shapeOfSkeleton(k!);
        const r = await c.runAndReadAll(`SELECT json_structure(${sqlString(line)}) AS s`);
        const duck = normalized(JSON.parse(r.getRowObjectsJS()[0]!.s as string));
        if (shape === undefined) return; // a key twice: such lines always take the JS path
        const emptyAsJson = (x: unknown): unknown =>
          Array.isArray(x)
            ? x.map(emptyAsJson)
            : x && typeof x === 'object'
              ? Object.keys(x).length
                ? Object.fromEntries(Object.entries(x).map(([kk, v]) => [kk, emptyAsJson(v)]))
                : 'JSON'
              : x;
        expect({ line, shape: emptyAsJson(shape) }).toEqual({ line, shape: duck });
      }),
      { numRuns: 3000 },
    );
  });
});

test('skeleton ids: equal ids exactly for equal skeletons, across table growth; unseen skeletons past the cap get -1', () => {
  const ids = new SkeletonIds();
  const always = () => true;
  const lines = (i: number) => [
    `{"k${i}":1,"v":"a"}`,
    `{"k${i}":2,"v":"a long value that is still the same kind of thing"}`,
    `{"k${i}":"1","v":"a"}`,
    `{"k${i}":1,"v":"a","w":null}`,
  ];
  const seen = new Map<string, number>();
  for (let i = 0; i < 5000; i++)
    for (const l of lines(i)) {
      const id = ids.idOf(Buffer.from(l), always);
      expect(id).toBeGreaterThanOrEqual(0);
      const k = sk(l)!;
      if (seen.has(k)) expect(id).toBe(seen.get(k));
      else {
        expect([...seen.values()]).not.toContain(id);
        seen.set(k, id);
      }
      expect(ids.text(id)).toBe(k);
    }
  expect(ids.size).toBe(3 * 5000); // the first two lines of each i share a skeleton
  for (let i = 0; i < 5000; i++)
    expect(ids.idOf(Buffer.from(lines(i)[1]!), () => false)).toBe(seen.get(sk(lines(i)[0]!)!));
  expect(ids.idOf(Buffer.from('{"never":"seen"}'), () => false)).toBe(-1);
  expect(ids.idOf(Buffer.from('{"broken":'), always)).toBe(-1);
  expect(ids.size).toBe(3 * 5000);
  expect(ids.bytes).toBe([...seen.keys()].reduce((n, k) => n + k.length, 0));
});

/**
 * The skeleton as the header defines it, written plainly (recursive descent over latin1 text, regexes for
 * numbers): the oracle for the scanner, which is one hand-tuned loop. Size limits are left out (the lines
 * below are small); the depth limit is kept.
 */
function referenceSkeleton(line: Buffer): string | undefined {
  const t = line.toString('latin1');
  let p = 0;
  const ws = () => {
    while (t[p] === ' ' || t[p] === '\t') p++;
  };
  const str = (): string | undefined => {
    for (let i = p + 1; i < t.length; i++) {
      if (t[i] === '\\') i++;
      else if (t[i] === '"') {
        const s = t.slice(p + 1, i);
        p = i + 1;
        return s;
      }
    }
    return undefined;
  };
  const scalar = (): string | undefined => {
    if (t[p] === '"') return str() === undefined ? undefined : 'S';
    for (const [w, code] of [
      ['true', 'B'],
      ['false', 'B'],
      ['null', 'N'],
    ] as const)
      if (t.startsWith(w, p)) {
        p += w.length;
        return code;
      }
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(t.slice(p));
    if (!m) return undefined;
    p += m[0].length;
    return m[2] || m[3] || m[1]!.length >= 19 ? 'D' : 'I';
  };
  const value = (depth: number): string | undefined => {
    ws();
    if (t[p] === '{') return depth < 32 ? object(depth) : undefined;
    if (t[p] === '[') {
      if (depth >= 32) return undefined;
      p++;
      const kinds = new Set<string>();
      ws();
      if (t[p] !== ']')
        for (;;) {
          ws();
          if (t[p] === '{' || t[p] === '[') return undefined;
          const k = scalar();
          if (k === undefined) return undefined;
          kinds.add(k);
          ws();
          if (t[p] === ',') p++;
          else if (t[p] === ']') break;
          else return undefined;
        }
      p++;
      // 0x40 | a bit per kind, the bit being the kind code's low 3 bits (S 3, I 1, D 4, B 2, N 6).
      const bits = [...kinds].reduce((m, k) => m | (1 << (k.charCodeAt(0) & 7)), 0x40);
      return `[${String.fromCharCode(bits)}]`;
    }
    return scalar();
  };
  const object = (depth: number): string | undefined => {
    p++;
    let s = '{';
    ws();
    if (t[p] === '}') {
      p++;
      return '{}';
    }
    for (;;) {
      ws();
      if (t[p] !== '"') return undefined;
      const k = str();
      if (k === undefined) return undefined;
      ws();
      if (t[p++] !== ':') return undefined;
      const v = value(depth + 1);
      if (v === undefined) return undefined;
      s += String.fromCharCode(k.length >> 8, k.length & 0xff) + k + v;
      ws();
      const c = t[p++];
      if (c === '}') return `${s}}`;
      if (c !== ',') return undefined;
    }
  };
  ws();
  if (t[p] !== '{') return undefined;
  const s = object(0);
  ws();
  return s !== undefined && p === t.length ? s : undefined;
}

/** Scalars near the scanner's edges: integer digit counts, escapes, long strings, spacing. */
const edgeScalar = fc.constantFrom(
  ...['123456789012345678', '-123456789012345678', '1234567890123456789', '-0', '0.5e-3', '7E+2'],
  ...[
    ' 1 ',
    '\t"s"\t',
    `"${'y'.repeat(60)}\\\\"`,
    `"${'y'.repeat(47)}\\"z"`,
    '"\\u00e9"',
    '[ ]',
    '[1, 2.5, "x", true, null]',
  ],
);
const edgeObject = fc.oneof(objects(fc.oneof(scalar, edgeScalar), 5), objects(scalar, 5, true));

test('the scanner agrees with a plain reference scanner, on JSON and on token soup', () => {
  const check = (text: string) => {
    const b = Buffer.from(text, 'utf8');
    expect({ text, skeleton: skeletonOf(b) }).toEqual({ text, skeleton: referenceSkeleton(b) });
  };
  fc.assert(
    fc.property(
      fc.oneof(object, edgeObject),
      fc.nat(),
      fc.constantFrom('', ' ', '\t', 'x', '}', ',', '"'),
      (s, cut, junk) => {
        check(s);
        check(s.slice(0, cut % (s.length + 1)));
        check(s + junk);
        check(`${'{"d":'.repeat(cut % 40)}${s}${'}'.repeat(cut % 40)}`);
      },
    ),
    { numRuns: 5000 },
  );
  const token = fc.constantFrom(
    ...['{', '}', '[', ']', ',', ':', ' ', '\t', '"a"', '"b\\"c"', '"\\\\"', '"x', '1', '-0', '01', '1.5'],
    ...['1e5', '1E+2', '-', '.', 'e', 'true', 'false', 'null', 'tru', 'nul', '"', '\\', '"é"'],
    ...['12345678901234567890', '123456789012345678', `"${'y'.repeat(60)}\\"${'z'.repeat(60)}"`],
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 40 }), (parts) => check(parts.join(''))),
    { numRuns: 20000 },
  );
});
