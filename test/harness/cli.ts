/** Runs the `tributary` command as an operator does: a real process, its exit code and output. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './services';

const run = promisify(execFile);
export const BIN = path.join(PROJECT_ROOT, 'bin', 'tributary.js');

export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

/** cli() with another environment or working directory. */
export async function cliWith(
  opts: { env?: NodeJS.ProcessEnv; cwd?: string },
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/**
 * `tributary worker --config <file> --region <region> [args…]` as a child process (for kill and metrics
 * tests); its output goes to `log` when given.
 */
export const spawnWorker = (
  configFile: string,
  region: string,
  opts: { args?: string[]; log?: string } = {},
): ChildProcess =>
  spawn(process.execPath, [BIN, 'worker', '--config', configFile, '--region', region, ...(opts.args ?? [])], {
    stdio: opts.log ? ['ignore', openSync(opts.log, 'a'), openSync(opts.log, 'a')] : 'ignore',
  });

/** The command's stdout as bytes (binary formats such as Arrow IPC); rejects on a non-zero exit. */
export async function cliBytes(...args: string[]): Promise<Buffer> {
  const { stdout } = await run(process.execPath, [BIN, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

/** `cli(...)` with extra environment variables for the child (Jest's `process.env` is not the child's). */
export function cliEnv(
  env: Record<string, string | undefined>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  return cliWith({ env: { ...process.env, ...env } }, ...args);
}
