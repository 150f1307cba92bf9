/**
 * The CLI's connections to Temporal, client and worker alike, through one helper: the address comes from
 * TEMPORAL_ADDRESS or the config, and an unreachable server gives one message whichever SDK layer failed
 * (the client's gRPC deadline or the worker's native `tonic::transport::Error`).
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/schema';
import { TributaryError } from '../lake/errors';

export const temporalAddressOf = (config: Config): string =>
  process.env.TEMPORAL_ADDRESS ?? config.temporal.address;

/** Runs `connect`; any failure becomes `cannot reach Temporal at <address>` with what to check. */
export async function connectTemporal<T>(address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (e) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `cannot reach Temporal at ${address}: is the server running there? (the address is temporal.address in the config, or TEMPORAL_ADDRESS)`,
      { cause: e },
    );
  }
}

export async function temporalClient(config: Config): Promise<{ client: Client; close(): Promise<void> }> {
  const address = temporalAddressOf(config);
  const connection = await connectTemporal(address, () => Connection.connect({ address }));
  return {
    client: new Client({ connection, namespace: config.temporal.namespace }),
    close: () => connection.close(),
  };
}

export const workerConnection = (config: Config): Promise<NativeConnection> => {
  const address = temporalAddressOf(config);
  return connectTemporal(address, () => NativeConnection.connect({ address }));
};
