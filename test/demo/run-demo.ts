/** Runs `deploy/demo.ts` as `npm run demo` does (one node process), for the demo tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { PROJECT_ROOT } from '../harness/services';

export function runDemo(
  dir: string,
  extra: string[] = [],
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  let out = '';
  // One process, as `npm run demo` runs it (node -r tsx/cjs): a signal reaches the demo itself.
  const child = spawn(
    process.execPath,
    [
      '-r',
      'tsx/cjs',
      'deploy/demo.ts',
      '--cycles',
      '2',
      '--files',
      '2',
      '--lines',
      '300',
      '--every',
      '2s',
      '--timeout',
      '4m',
      '--dir',
      dir,
      ...extra,
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : null))),
  );
  return { child, output: () => out, exit };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
