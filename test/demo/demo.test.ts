/**
 * `npm run demo` as a user runs it (small size): the demo starts its own emulators and Temporal dev server,
 * ingests and egresses through Schedules and per-region workers, and must end with `reconciliation: OK`
 * and leave nothing running — also when stopped with Ctrl-C half-way.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../harness/services';
import { alive, runDemo, waitFor } from './run-demo';

describe('npm run demo', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-demo-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('runs the whole system and ends with reconciliation: OK, leaving nothing running', async () => {
    const demo = runDemo(dir);
    const code = await demo.exit;
    const out = demo.output();
    const lines = out.trimEnd().split('\n');
    if (code !== 0 || lines.at(-1) !== 'reconciliation: OK')
      throw new Error(`demo exited ${code}; output:\n${out}`);
    // Three clouds on their emulators, a Temporal UI, the per-region table and a sample query.
    expect(out).toMatch(/s3:\/\/raw-us-east-1/);
    expect(out).toMatch(/az:\/\/devstoreaccount1\/raw-westeurope/);
    expect(out).toMatch(/gs:\/\/raw-europe-west1/);
    expect(out).toMatch(/Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
    const table = lines.filter((l) => /^ {2}\S+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+$/.test(l));
    expect(table).toHaveLength(6);
    for (const row of table) {
      const [, generated, ingested, quarantined, approved, egressed] = row.trim().split(/\s+/).map(Number);
      expect(generated).toBe(1200);
      expect(ingested! + quarantined!).toBe(generated);
      expect(quarantined).toBeGreaterThan(0);
      expect(egressed).toBe(approved);
    }
    // Central's maintenance run before the status: its plan (the replica reading it), then what it did.
    const maintained = out.slice(
      out.indexOf('$ tributary maintain run --table central'),
      out.indexOf('$ tributary status'),
    );
    expect(maintained).toMatch(/^ {2}central: s3:\/\/lake-central\/central\/all_logs v\d+$/m);
    expect(maintained).toMatch(/^ {4}reader replica central \(.*\): reads from v\d+, \d+ behind$/m);
    expect(maintained).toMatch(/^ {2}central: optimize: v\d+, \d+ files \(.*\) → \d+ \(.*\)$/m);
    expect(maintained).toMatch(/^ {2}central: checkpoint: (wrote v\d+|v\d+ already had one)$/m);
    expect(maintained).toMatch(/^ {2}central: vacuum: deleted 0 files \(0 B\)$/m);
    // `tributary status` at the end: every region caught up, its worker polling, nothing unreadable.
    const status = out.slice(out.indexOf('$ tributary status'), out.indexOf('\nper region'));
    expect(status.match(/^region \S+ \((aws|azure|gcp)\): table v\d+ /gm)).toHaveLength(6);
    expect(status.match(/^ {2}backlog {6}0 files, 0 B not ingested \(0 batches pending\)$/gm)).toHaveLength(
      6,
    );
    expect(status.match(/^ {2}egress {7}v\d+ of v\d+ in central .*, lag 0 versions \/ 0 s$/gm)).toHaveLength(
      6,
    );
    // Six regions and the replica (on the first region's queue).
    expect(status.match(/^ {2}workers {6}tributary-\S+: [1-9]\d* workflow pollers?/gm)).toHaveLength(7);
    expect(status).toMatch(/^replica central: .*\n {2}lag {10}v\d+ of v\d+, lag 0 versions \/ 0 s/m);
    expect(status).not.toMatch(/ERROR|MISSING/);
    const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[];
    expect(pids.length).toBe(4);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  }, 300_000);

  test('without emulators the regions run on local folders, and the demo says so', async () => {
    const demo = runDemo(dir, ['--emulators', 's3', '--regions', '3', '--cycles', '1']);
    const code = await demo.exit;
    const out = demo.output();
    if (code !== 0 || !out.trimEnd().endsWith('reconciliation: OK'))
      throw new Error(`demo exited ${code}; output:\n${out}`);
    expect(out).toMatch(/azure +not started \(--emulators\): Azure regions use local folders/);
    expect(out).toMatch(/gcs +not started \(--emulators\): GCP regions use local folders/);
    expect(out).toMatch(/s3:\/\/raw-us-east-1/);
    expect(out).toContain(`file://${dir}/local/azure/raw-westeurope/logs`);
    expect(out).toContain(`file://${dir}/local/gcp/raw-europe-west1/logs`);
    const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[];
    expect(pids.length).toBe(2);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  }, 300_000);

  test('Ctrl-C on `npm run demo 2>&1 | tee demo.log` (tee dies too) still stops every service', async () => {
    // As a terminal does it: the whole pipeline is one process group and Ctrl-C sends it SIGINT. tee exits
    // at once, so the demo's next line ("Ctrl-C: stopping …") meets a closed pipe (EPIPE).
    const log = `${dir}.log`; // not inside --dir: the demo empties it at start
    const args = ['--cycles', '50', '--files', '2', '--lines', '300', '--every', '2s', '--dir', dir];
    const sh = spawn(
      'bash',
      [
        '-c',
        `'${process.execPath}' -r tsx/cjs deploy/demo.ts ${args.join(' ')} 2>&1 | tee '${log}' >/dev/null`,
      ],
      { cwd: PROJECT_ROOT, stdio: 'ignore', detached: true },
    );
    const exited = new Promise<void>((resolve) => sh.on('exit', () => resolve()));
    const logText = () => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    };
    try {
      await waitFor(() => /cycle 2\/50/.test(logText()), 120_000, `the second cycle; log:\n${logText()}`);
      const before = logText();
      process.kill(-sh.pid!, 'SIGINT');
      await exited;
      const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[];
      expect(pids.length).toBe(4);
      await waitFor(() => pids.every((p) => !alive(p.pid)), 10_000, 'the services to stop').catch(() => {});
      expect(pids.filter((p) => alive(p.pid))).toEqual([]);
      // Before the first commit the progress says so (it used to show `(v-)` and `egressed to v-1 of v-`).
      expect(before).toMatch(/regional: no commit yet \+ 0 quarantined \| egress: nothing to egress yet/);
      expect(before).not.toMatch(/v-/);
    } finally {
      // Never leave the services of a failed run behind on the shared machine.
      try {
        for (const p of JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[])
          if (alive(p.pid)) process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* no pids.json: nothing was started */
      }
      if (sh.exitCode === null) process.kill(-sh.pid!, 'SIGKILL');
      rmSync(log, { force: true });
    }
  }, 240_000);

  test('Ctrl-C stops workers and services cleanly', async () => {
    const demo = runDemo(dir, ['--cycles', '50']);
    await waitFor(
      () => /cycle 2\/50/.test(demo.output()),
      120_000,
      `the second cycle; output:\n${demo.output()}`,
    );
    demo.child.kill('SIGINT');
    const code = await demo.exit;
    expect(code).toBe(130);
    expect(demo.output()).toMatch(/stopped; nothing left running/);
    const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[];
    expect(pids.length).toBe(4);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  }, 180_000);
});
