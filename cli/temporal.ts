/**
 * The CLI's connections to Temporal, client and worker alike: settings from the config and the environment
 * (config/temporal.ts), connected through workers/connection.ts.
 */
import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../config/schema';
import { type TemporalSettings, temporalSettingsOf } from '../config/temporal';
import { connectClient, connectNative } from '../workers/connection';

export const temporalSettingsOfConfig = (config: Config): TemporalSettings =>
  temporalSettingsOf(config.temporal);

export async function temporalClient(
  config: Config,
): Promise<{ client: Client; namespace: string; close(): Promise<void> }> {
  return clientOf(temporalSettingsOfConfig(config));
}

export async function clientOf(
  settings: TemporalSettings,
): Promise<{ client: Client; namespace: string; close(): Promise<void> }> {
  const connection = await connectClient(settings);
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    namespace: settings.namespace,
    close: () => connection.close(),
  };
}

export const workerConnection = (config: Config): Promise<NativeConnection> =>
  connectNative(temporalSettingsOfConfig(config));
