/**
 * `npm run demo -- --fork` (issue 15, evidence 1 and 6): five regions on three clouds ingest and egress on
 * their Schedules while forkTable moves the second region's rows from central (S3, moto) to a table on
 * another cloud (GCS, fake-gcs-server). The fork's verification holds, the reconciliation over central and
 * the fork is OK (every approved line in exactly one of them), and the freshness monitor's maximum lags
 * during the fork stay within one schedule interval of the worst lag outside it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { alive, runDemo } from './run-demo';

const EVERY_S = 3;

test('a live fork while 5 regions ingest and egress on their Schedules: verified, reconciled, fresh', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-demo-fork-'));
  try {
    const demo = runDemo(dir, [
      '--fork',
      '--regions',
      '5',
      '--cycles',
      '4',
      '--every',
      `${EVERY_S}s`,
      '--timeout',
      '6m',
    ]);
    const code = await demo.exit;
    const out = demo.output();
    const lines = out.trimEnd().split('\n');
    if (code !== 0 || lines.at(-1) !== 'reconciliation: OK')
      throw new Error(`demo exited ${code}; output:\n${out}`);
    // Central on S3, the fork on GCS: the fork ran to its verified end while the cycles went on.
    expect(out).toMatch(
      /fork: forkTable demo-fork started on tributary-eastus: rows where _region = 'westeurope' move to gs:\/\/lake-central-fork\//,
    );
    expect(out).toMatch(/^fork demo-fork: done — verified$/m);
    expect(out).toMatch(/^ {2}verification: OK /m);
    expect(out).toMatch(
      /^fork verification: OK \(.* 0 missing, 0 unexpected, 0 in both, 0 duplicated, 0 in main matching the subset, 0 in the fork not matching it\)$/m,
    );
    // Per region: egressed (central + fork, duplicates counted) = approved; both tables hold rows.
    const table = lines.filter((l) => /^ {2}\S+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+$/.test(l));
    expect(table).toHaveLength(5);
    let approved = 0;
    for (const row of table) {
      const [, generated, ingested, quarantined, a, egressed] = row.trim().split(/\s+/).map(Number);
      expect(ingested! + quarantined!).toBe(generated);
      expect(egressed).toBe(a);
      approved += a!;
    }
    const central = Number(/^central\.all_logs rows: (\d+)$/m.exec(out)![1]);
    const fork = Number(/^central\.fork rows: (\d+) /m.exec(out)![1]);
    expect(fork).toBe(
      Number(
        table
          .find((l) => l.trim().startsWith('westeurope '))!
          .trim()
          .split(/\s+/)[4],
      ),
    );
    expect(central + fork).toBe(approved);
    // Freshness: sampled before, during and after the fork; the fork adds at most one schedule interval.
    const lag = (w: string) => {
      const m = new RegExp(
        `^ {2}${w} +(\\d+) samples +max ingest lag +([\\d.]+) s.* max egress lag +([\\d.]+) s`,
        'm',
      ).exec(out);
      if (!m) throw new Error(`no ${w} freshness line in:\n${out}`);
      return { samples: Number(m[1]), ingest: Number(m[2]), egress: Number(m[3]) };
    };
    const [before, during, after] = [lag('before'), lag('during'), lag('after')];
    expect(before.samples).toBeGreaterThan(0);
    expect(during.samples).toBeGreaterThan(0);
    const outside = Math.max(before.ingest, before.egress, after.ingest, after.egress);
    expect(Math.max(during.ingest, during.egress)).toBeLessThanOrEqual(outside + EVERY_S);
    // The replica of central followed the fork's delete too.
    expect(out).toMatch(/^replica reconciliation: OK/m);
    const pids = JSON.parse(readFileSync(path.join(dir, 'pids.json'), 'utf8')) as { pid: number }[];
    expect(pids.length).toBe(4);
    for (const p of pids) expect(alive(p.pid)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 480_000);
