/**
 * Writing to a closed stdout or stderr (`tributary … | head`, a `tee` stopped by Ctrl-C) fails with EPIPE.
 * Node ignores SIGPIPE and reports it as an 'error' event, which, unhandled, ends the process with a stack
 * trace, in the middle of whatever it was doing. This is the one place that handles it: the CLI's commands
 * and the demo install it once at start.
 */

/** Node's error for a write to a pipe or socket whose reader went away. */
const closedOutput = (e: NodeJS.ErrnoException) => e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED';

/**
 * From now on a write error on stdout or stderr is never thrown. A closed stdout calls `onClosedStdout`
 * (once); stderr errors are ignored (there is nowhere left to report them).
 */
export function handleClosedOutput(onClosedStdout: () => void): void {
  let called = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!closedOutput(e) && process.stderr.writable) process.stderr.write(`stdout: ${e.message}\n`);
    if (!called) {
      called = true;
      onClosedStdout();
    }
  });
  process.stderr.on('error', () => {});
}

/** Exit status of a command whose reader went away: 128 + SIGPIPE, as a shell reports `yes | head`. */
export const EXIT_CLOSED_OUTPUT = 141;
