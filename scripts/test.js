#!/usr/bin/env node
/**
 * The test command (`npm test`): the whole suite in two lanes run side by side, one Jest process each.
 *
 * - The heavy lane runs, one at a time, the suites that load the machine on their own: the 50-writer
 *   concurrency suite and the multi-process kill and load suites. Two of them at once on 2 cores starve
 *   each other's worker processes past their heartbeats and timeouts.
 * - The main lane runs every other suite, one at a time, beside it.
 *
 * The lanes take about the same time (each ~27 minutes on 2 cores). Each lane starts its own test services
 * (globalSetup); suites run in a worker process, never inside the Jest process. With arguments
 * (`npm test -- test/ingest`) it is plain `jest --ci <args>`. The last line is the total CI reads:
 * "N passed, N failed, N skipped".
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const root = path.join(__dirname, '..');
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');

const HEAVY = [
  'test/delta/concurrency.test.ts',
  'test/egress/kill.test.ts',
  'test/fork/kill.test.ts',
  'test/ingest/kill.test.ts',
  'test/egress/central-load.test.ts',
  'test/clone/kill.test.ts',
];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const SUMMARY = /^(\d+) passed, (\d+) failed, (\d+) skipped$/;

function lane(name, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [jest, '--ci', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    let summary;
    const relay = (stream, out) => {
      const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        const m = SUMMARY.exec(line);
        if (m) summary = m.slice(1).map(Number);
        out.write(`${line}\n`);
      });
      return new Promise((r) => lines.once('close', r));
    };
    const done = Promise.all([relay(child.stdout, process.stdout), relay(child.stderr, process.stderr)]);
    child.once('exit', (code, signal) => {
      void done.then(() => resolve({ name, code: code ?? (signal ? 1 : 0), signal, summary }));
    });
  });
}

async function main() {
  const extra = process.argv.slice(2);
  if (extra.length) {
    const r = await lane('jest', extra);
    process.exit(r.code);
  }
  // One worker process per lane (workerIdleMemoryLimit keeps Jest from running suites in its own process).
  const one = ['--maxWorkers=1', '--workerIdleMemoryLimit=6GB'];
  const results = await Promise.all([
    lane('heavy', [...one, ...HEAVY.map(escape)]),
    lane('main', [
      ...one,
      ...['/node_modules/', ...HEAVY.map(escape)].flatMap((h) => ['--testPathIgnorePatterns', h]),
    ]),
  ]);
  const total = [0, 0, 0];
  for (const r of results) {
    const s = r.summary ?? [0, 1, 0];
    s.forEach((n, i) => (total[i] += n));
    process.stdout.write(
      `lane ${r.name}: ${s[0]} passed, ${s[1]} failed, ${s[2]} skipped (exit ${r.signal ?? r.code})\n`,
    );
  }
  process.stdout.write(`\n${total[0]} passed, ${total[1]} failed, ${total[2]} skipped\n`);
  process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
}

void main();
