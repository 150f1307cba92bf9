/** The shared DuckDB instance spills into the process's scratch directory, never `.tmp` under the cwd. */
import { scratch } from './local-files';
import { withConnection } from './duckdb';

test('the engine spills under the scratch directory, not under the working directory', async () => {
  const dir = await withConnection(async (c) =>
    String((await c.runAndReadAll(`SELECT current_setting('temp_directory')`)).getRows()[0]![0]),
  );
  expect(dir.startsWith(await scratch())).toBe(true);
  expect(dir.startsWith(process.cwd())).toBe(false);
});
