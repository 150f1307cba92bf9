/**
 * The CLI's rough edges a new user hits (issue 13, section 3), each through the real `tributary` process:
 * closed pipes, big results, one JSON rendering, refused options, missing tables and configs, an
 * unreachable Temporal, SDK noise.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { BIN, cli, cliWith } from '../harness/cli';
import { freePort } from '../harness/services';
import { createTestLocation } from '../harness/stores';
import { requireService } from '../harness/env';

const run = promisify(execFile);

/** `tributary <args> | <reader>` in bash: the command's exit status and stderr, the reader's stdout. */
async function piped(
  args: string[],
  reader: string,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout, stderr } = await run(
    'bash',
    ['-c', `${quoted} 2>"$ERR_FILE" | ${reader}; echo "status=\${PIPESTATUS[0]}" >&2; cat "$ERR_FILE" >&2`],
    { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ERR_FILE: path.join(dir, 'err.txt') } },
  );
  const m = /^status=(\d+)\n/.exec(stderr);
  return { code: Number(m?.[1]), stderr: stderr.slice(m?.[0].length ?? 0), stdout };
}

const dir = mkdtempSync(path.join(tmpdir(), 'tributary-rough-'));
const table = `file://${dir}/big`;
const ROWS = 60_000;

beforeAll(async () => {
  const input = path.join(dir, 'big.jsonl');
  writeFileSync(
    input,
    Array.from({ length: ROWS }, (_, i) => JSON.stringify({ n: i, msg: `line ${i} ${'x'.repeat(40)}` })).join(
      '\n',
    ),
  );
  expect((await cli('table', 'append', table, '--input', input)).code).toBe(0);
}, 60_000);

describe('a closed stdout (| head) ends the command quietly', () => {
  test.each([
    ['table read', ['table', 'read', table]],
    ['table read --format csv', ['table', 'read', table, '--format', 'csv']],
    ['query --format csv', ['query', '--table', 't.big=' + table, 'SELECT * FROM t.big', '--format', 'csv']],
    [
      'query --format jsonl',
      ['query', '--table', 'x.y=' + table, 'SELECT * FROM range(3000000)', '--format', 'jsonl'],
    ],
  ])('%s | head -3', async (_, args) => {
    const r = await piped(args, 'head -3');
    expect(r.stdout.split('\n')).toHaveLength(4);
    expect(r.stderr).toBe('');
    expect([0, 141]).toContain(r.code);
  });
});

describe('query output', () => {
  test('the text table shows the first 1000 rows of 200,000 and says how many it left out', async () => {
    const r = await cli('query', '--table', `t.big=${table}`, 'SELECT range AS r FROM range(200000)');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2 + 1000 + 1);
    expect(lines[2]).toBe('   0');
    expect(lines[1001]).toBe(' 999');
    expect(lines.at(-1)).toBe(
      '(200000 rows; the first 1000 shown, 199000 left out: --format csv, jsonl or arrow writes them all)',
    );
  });

  test('csv, jsonl and arrow stream: 3 million rows with a 100 MB heap', async () => {
    const env = { ...process.env, NODE_OPTIONS: '--max-old-space-size=100' };
    for (const format of ['jsonl', 'csv']) {
      const { stdout } = await run(
        'bash',
        [
          '-c',
          `'${process.execPath}' '${BIN}' query --table 't.big=${table}' "SELECT range AS r, 'abc' AS s FROM range(3000000)" --format ${format} | tail -1`,
        ],
        { encoding: 'utf8', env },
      );
      expect(stdout).toBe(format === 'csv' ? '2999999,abc\n' : '{"r":2999999,"s":"abc"}\n');
    }
    const { stdout } = await run(
      'bash',
      [
        '-c',
        `'${process.execPath}' '${BIN}' query --table 't.big=${table}' "SELECT range AS r FROM range(3000000)" --format arrow | wc -c`,
      ],
      { encoding: 'utf8', env },
    );
    expect(Number(stdout)).toBeGreaterThan(3_000_000 * 8);
  }, 120_000);
});

test('table read and query --format jsonl write the same JSON: numbers with all digits, ISO-8601 instants', async () => {
  const t = `file://${dir}/json`;
  const input = path.join(dir, 'json.jsonl');
  writeFileSync(
    input,
    [
      '{"big":9007199254740993,"ts":"2024-05-01T12:00:00Z","d":"2024-05-01","x":1.25,"o":{"a":1,"b":[1,2]}}',
      '{"big":-5,"ts":"2024-05-01T12:00:00.5Z","d":"2024-05-02","x":-0.5,"o":{"a":2,"b":[]}}',
    ].join('\n'),
  );
  expect((await cli('table', 'append', t, '--input', input)).code).toBe(0);
  const read = await cli('table', 'read', t);
  const query = await cli('query', '--table', `t.j=${t}`, 'SELECT * FROM t.j', '--format', 'jsonl');
  const sorted = (s: string) => s.trimEnd().split('\n').sort();
  expect(sorted(read.stdout)).toEqual(sorted(query.stdout));
  expect(sorted(read.stdout)).toEqual([
    '{"big":-5,"ts":"2024-05-01T12:00:00.500000Z","d":"2024-05-02","x":-0.5,"o":{"a":2,"b":[]}}',
    '{"big":9007199254740993,"ts":"2024-05-01T12:00:00.000000Z","d":"2024-05-01","x":1.25,"o":{"a":1,"b":[1,2]}}',
  ]);
});

describe('options are checked, never guessed', () => {
  test('--where "" or blanks on read is refused as delete refuses it', async () => {
    for (const where of ['', '   ']) {
      const read = await cli('table', 'read', table, '--where', where);
      const del = await cli('table', 'delete', table, '--where', where);
      expect(read.code).toBe(1);
      expect(read.stdout).toBe('');
      expect(read.stderr).toMatch(
        /^error \(BAD_INPUT\): predicate error at position \d+: expected a condition/,
      );
      expect(read.stderr).toBe(del.stderr);
    }
  });

  test('numbers are numbers: --retain-hours, --batches, --version', async () => {
    const vacuum = await cli('table', 'vacuum', table, '--retain-hours', 'abc');
    expect(vacuum.code).toBe(1);
    expect(vacuum.stderr).toBe(
      'error (BAD_INPUT): --retain-hours must be a non-negative number, got "abc"\n',
    );
    const version = await cli('table', 'read', table, '--version', '1e3');
    expect(version.stderr).toBe('error (BAD_INPUT): --version must be a non-negative integer, got "1e3"\n');
    const batches = await cli('ingest', 'status', '--region', 'x', '--batches', 'ten');
    expect(batches.stderr).toBe('error (BAD_INPUT): --batches must be a non-negative integer, got "ten"\n');
  });

  test('--timestamp and --as-of-timestamp take ISO-8601 only', async () => {
    for (const ts of ['12', '2024', 'May 1 2024', '2024-02-30', '1714560000']) {
      const read = await cli('table', 'read', table, '--timestamp', ts);
      expect(read.code).toBe(1);
      expect(read.stderr).toBe(
        `error (BAD_INPUT): --timestamp ${JSON.stringify(ts)} is not an ISO-8601 instant (e.g. 2024-05-01T12:00:00Z or 2024-05-01; UTC without an offset)\n`,
      );
      const q = await cli('query', '--table', `t.big=${table}`, 'SELECT 1', '--as-of-timestamp', ts);
      expect(q.code).toBe(1);
      expect(q.stderr).toMatch(/^error \(BAD_INPUT\): --as-of-timestamp ".*" is not an ISO-8601 instant/);
    }
    const later = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, '+00:00');
    const ok = await cli('table', 'read', table, '--timestamp', later, '--format', 'csv');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trimEnd().split('\n')).toHaveLength(ROWS + 1);
    const before = await cli('table', 'read', table, '--timestamp', '2024-05-01');
    expect(before.stderr).toMatch(
      /^error \(NOT_FOUND\): .* has no version at or before 2024-05-01T00:00:00.000Z/,
    );
  });
});

describe('pipelines commands', () => {
  const config = path.join(dir, 'tributary.yaml');
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    writeFileSync(
      config,
      [
        'temporal:',
        `  address: 127.0.0.1:${port}`,
        'regions:',
        '  - name: eu',
        '    cloud: local',
        `    raw: file://${dir}/raw-eu`,
        `    table: file://${dir}/no-such-table`,
        'central:',
        `  table: file://${dir}/central`,
        '',
      ].join('\n'),
    );
  });

  test('egress status of a table that does not exist says so', async () => {
    const r = await cli('egress', 'status', '--config', config);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `eu: table file://${dir}/no-such-table does not exist yet (nothing ingested), nothing to egress\n`,
    );
    const j = await cli('egress', 'status', '--config', config, '--json');
    expect(JSON.parse(j.stdout)).toEqual([
      {
        region: 'eu',
        processedSourceVersion: null,
        latestSourceVersion: null,
        lagVersions: 0,
        lagSeconds: 0,
        quarantined: [],
      },
    ]);
  });

  test('ingest status of a table that does not exist says so', async () => {
    const r = await cli('ingest', 'status', '--config', config, '--region', 'eu');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `eu: table file://${dir}/no-such-table does not exist yet, no file planned (nothing ingested)\n`,
    );
  });

  test('a --config or TRIBUTARY_CONFIG that names a missing file says where it came from', async () => {
    const missing = path.join(dir, 'missing.yaml');
    const r = await cli('egress', 'status', '--config', missing);
    expect(r.stderr).toBe(
      `error (CONFIG_INVALID): config file ${missing} (from --config) not found (looked in ${missing})\n`,
    );
    const e = await cliWith(
      { env: { ...process.env, TRIBUTARY_CONFIG: missing } },
      'ingest',
      'status',
      '--region',
      'eu',
    );
    expect(e.stderr).toBe(
      `error (CONFIG_INVALID): config file ${missing} (from TRIBUTARY_CONFIG) not found (looked in ${missing})\n`,
    );
  });

  test('an unreachable Temporal: one message from worker and ingest run', async () => {
    const expected = `error (CONFIG_INVALID): cannot reach Temporal at 127.0.0.1:${port}: is the server running there? (the address is temporal.address in the config, or TEMPORAL_ADDRESS)\n`;
    const env = { ...process.env };
    delete env.TEMPORAL_ADDRESS;
    const worker = await cliWith({ env }, 'worker', '--config', config, '--region', 'eu');
    expect(worker.code).toBe(1);
    expect(worker.stderr).toBe(expected);
    const ingest = await cliWith({ env }, 'ingest', 'run', '--config', config, '--region', 'eu');
    expect(ingest.code).toBe(1);
    expect(ingest.stderr).toBe(expected);
  }, 60_000);

  test('query without a config names --config and --table', async () => {
    const env = { ...process.env };
    delete env.TRIBUTARY_CONFIG;
    const empty = mkdtempSync(path.join(dir, 'empty-'));
    const r = await cliWith({ env, cwd: empty }, 'query', 'SELECT 1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \(CONFIG_INVALID\): config file tributary.yaml not found \(looked in .*\): give --config <file> or set TRIBUTARY_CONFIG, or name the tables with --table schema.table=uri\n$/,
    );
  });
});

test('S3 commands print no AWS SDK Node-version notice', async () => {
  const loc = await createTestLocation('s3');
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TRIBUTARY_S3_ENDPOINT: requireService('s3').endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const input = path.join(dir, 's3.jsonl');
    writeFileSync(input, '{"a":1}\n');
    const append = await cliWith({ env }, 'table', 'append', `${loc.url}/t`, '--input', input);
    expect(append.code).toBe(0);
    expect(append.stderr).toBe('');
    writeFileSync(input, '{"a":2}\n');
    expect((await cliWith({ env }, 'table', 'append', `${loc.url}/t`, '--input', input)).stderr).toBe('');
    const read = await cliWith({ env }, 'table', 'read', `${loc.url}/t`);
    expect(read.stdout.split('\n').sort()).toEqual(['', '{"a":1}', '{"a":2}']); // file by file
    expect(read.stderr).toBe('');
    // Only the SDK's own switch: a user who sets it to false sees the notice again.
    const asked = await cliWith(
      { env: { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' } },
      'table',
      'read',
      `${loc.url}/t`,
    );
    expect(asked.stdout.split('\n')).toHaveLength(3);
    if (Number(process.versions.node.split('.')[0]) < 22)
      expect(asked.stderr).toMatch(/NodeVersionSupportWarning/);
  } finally {
    await loc.cleanup();
  }
}, 60_000);
