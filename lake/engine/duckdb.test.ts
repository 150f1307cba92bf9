/** The shared DuckDB instance spills into the process's scratch directory, never `.tmp` under the cwd. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { scratch } from './local-files';
import { withConnection } from './duckdb';

test('the engine spills under the scratch directory, not under the working directory', async () => {
  const dir = await withConnection(async (c) =>
    String((await c.runAndReadAll(`SELECT current_setting('temp_directory')`)).getRows()[0]![0]),
  );
  expect(dir.startsWith(await scratch())).toBe(true);
  expect(dir.startsWith(process.cwd())).toBe(false);
});

test('a process that used the engine leaves no scratch directory behind when it exits', () => {
  const parent = mkdtempSync(path.join(tmpdir(), 'tributary-scratch-test-'));
  const r = spawnSync(
    process.execPath,
    [
      '-r',
      'tsx/cjs',
      '-e',
      `require('./lake/engine/duckdb').withConnection(async (c) => { await c.run('SELECT 1'); })
         .then(() => console.log(require('node:fs').readdirSync(${JSON.stringify(parent)}).length))`,
    ],
    {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, TRIBUTARY_SCRATCH: parent },
      encoding: 'utf8',
    },
  );
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe('1'); // it existed while the engine ran
  expect(readdirSync(parent)).toEqual([]);
  rmSync(parent, { recursive: true, force: true });
});
