/** Runs the Spark + Delta interop peer (test/interop/spark_tool.py) from the project's virtualenv. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../harness/services';

const PY = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');

/**
 * Several `read <path> [version]` / `history <path>` commands in one Spark JVM (each JVM start costs
 * seconds of CPU): the rows each command printed, in command order.
 */
export async function sparkBatch(
  cmds: readonly (readonly (string | number)[])[],
): Promise<Record<string, unknown>[][]> {
  if (!existsSync(PY)) throw new Error(`Spark peer needs ${PY}: run npm run services:install`);
  const { stdout } = await promisify(execFile)(
    PY,
    [path.join(PROJECT_ROOT, 'test', 'interop', 'spark_tool.py'), 'batch', JSON.stringify(cmds)],
    { maxBuffer: 64 << 20, encoding: 'utf8' },
  );
  const out: Record<string, unknown>[][] = cmds.map(() => []);
  for (const line of stdout.split('\n').filter(Boolean)) {
    const { i, row } = JSON.parse(line) as { i: number; row: Record<string, unknown> };
    out[i]!.push(row);
  }
  return out;
}
