/** One DuckDB instance per process; a connection per operation, closed in finally. */
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { scratch } from './local-files';

let instance: Promise<DuckDBInstance> | undefined;

function getInstance(): Promise<DuckDBInstance> {
  instance ??= scratch().then((dir) =>
    DuckDBInstance.create(':memory:', {
      // Spills go to the process's scratch directory (TRIBUTARY_SCRATCH), not `.tmp` under the working one.
      temp_directory: path.join(dir, 'duckdb-spill'),
      threads: String(Math.max(1, Number(process.env.TRIBUTARY_DUCKDB_THREADS ?? 2))),
      // Never reach for the network (no extension auto-install); all we need is built in.
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
    }),
  );
  return instance;
}

export async function withConnection<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
  const c = await (await getInstance()).connect();
  try {
    // Timestamps are instants rendered in UTC; naive partition timestamps are read as UTC (Delta convention).
    await c.run(`SET TimeZone = 'UTC'`);
    return await fn(c);
  } finally {
    c.closeSync();
  }
}

/** SQL string literal with quotes doubled; only for values we build ourselves (paths, type names). */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
/** SQL identifier, double-quoted with quotes doubled. */
export const sqlIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
