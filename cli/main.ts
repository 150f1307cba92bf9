/** The `tributary` command. Errors print one clear line and exit non-zero (stack only with TRIBUTARY_DEBUG=1). */
import { Command, CommanderError } from 'commander';
import { fromEngineError } from '../lake/engine/errors';
import { TributaryError } from '../lake/errors';
import { redact } from '../lake/redact';
import { registerFailoverCommands } from './failover';
import { registerCloneCommands } from './clone';
import { registerFailoverTableCommand } from './failover-table';
import { registerForkCommands } from './fork';
import { registerMaintainCommands } from './maintain';
import { registerPipelineCommands } from './pipelines';
import { registerQueryCommand } from './query';
import { registerStatusCommand } from './status';
import { EXIT_CLOSED_OUTPUT, handleClosedOutput } from './stdio';
import { registerTableCommands } from './table';

export function buildProgram(): Command {
  const program = new Command('tributary')
    .description('Multi-cloud log lakehouse on Temporal: Delta tables, ingestion, egress, replication')
    .version(process.env.npm_package_version ?? '0.1.0')
    .exitOverride()
    .showHelpAfterError()
    // Program options only before the subcommand, so `table read --version N` means time travel.
    .enablePositionalOptions();
  registerTableCommands(program);
  registerPipelineCommands(program);
  registerFailoverCommands(program);
  registerFailoverTableCommand(program);
  registerQueryCommand(program);
  registerCloneCommands(program);
  registerForkCommands(program);
  registerMaintainCommands(program);
  registerStatusCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // The AWS SDK's eight-line notice that its future releases need a newer Node, on every S3 command: off,
  // unless the user set the SDK's own switch (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // `… | head`: the reader has all it wants; end now, quietly, as Unix tools do.
  handleClosedOutput(() => process.exit(EXIT_CLOSED_OUTPUT));
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (caught) {
    if (caught instanceof CommanderError) return caught.exitCode === 0 ? 0 : 2;
    // A DuckDB error no layer mapped: coded, and no internal SQL either (the original with TRIBUTARY_DEBUG).
    const e = fromEngineError(caught, 'the engine failed');
    const msg =
      e instanceof TributaryError
        ? `error (${e.code}): ${e.message}`
        : `error: ${(e as Error)?.message ?? String(e)}`;
    // Redacted here too: an error that is not a TributaryError may carry an SDK's request URL.
    process.stderr.write(`${redact(msg)}\n`);
    if (process.env.TRIBUTARY_DEBUG === '1')
      process.stderr.write(`${redact((caught as Error)?.stack ?? '')}\n`);
    return 1;
  }
}

if (require.main === module || process.argv[1]?.endsWith('tributary.js')) {
  void main(process.argv).then((code) => process.exit(code));
}
