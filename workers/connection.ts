/**
 * Connections to Temporal, client and worker alike, from one TemporalSettings through connectionOptionsOf
 * (config/temporal.ts). A failure gives one message whichever SDK layer failed (the client's gRPC status or
 * the worker's native `tonic::transport::Error`), naming the address and the settings to check, and never
 * the API key: it is masked in anything the SDK said.
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import {
  type TemporalConnectionOptions,
  type TemporalSettings,
  connectionOptionsOf,
  describeTemporal,
} from '../config/temporal';
import { TributaryError } from '../lake/errors';
import { excerpt } from '../lake/redact';

const masked = (text: string, key: string | undefined) => (key ? text.split(key).join('***') : text);

/** Runs `connect`; any failure becomes one TributaryError saying what to check. */
export async function connectTemporal<T>(
  settings: TemporalSettings,
  connect: (options: TemporalConnectionOptions) => Promise<T>,
): Promise<T> {
  const options = connectionOptionsOf(settings);
  try {
    return await connect(options);
  } catch (e) {
    // The client wraps the gRPC error ("Failed to connect before the deadline", cause: the status).
    const chain: { message: string; code?: unknown }[] = [];
    for (let x: unknown = e; x && chain.length < 5; x = (x as Error).cause)
      chain.push({ message: String((x as Error).message ?? x), code: (x as { code?: unknown }).code });
    const said = masked(excerpt(chain.map((x) => x.message).join(': ')), options.apiKey);
    const where = describeTemporal(settings);
    // 16 UNAUTHENTICATED, 7 PERMISSION_DENIED: the server answered and refused the credentials.
    if (
      chain.some((x) => x.code === 16 || x.code === 7) ||
      /unauthenticated|permission.?denied|valid authentication credentials/i.test(said)
    )
      throw new TributaryError(
        'AUTH',
        `Temporal at ${where} refused the credentials: check the API key (TEMPORAL_API_KEY, temporal.apiKeyFile or temporal.apiKeyEnv) and the client certificate (${said})`,
      );
    // grpc-js says only "Failed to connect before the deadline" when the TLS handshake fails.
    if (settings.tls)
      throw new TributaryError(
        'CONFIG_INVALID',
        `cannot reach Temporal at ${where}, or TLS with it failed: is the server running there, and does temporal.tls fit it (CA, server name, client certificate)? (${said})`,
      );
    throw new TributaryError(
      'CONFIG_INVALID',
      `cannot reach Temporal at ${where}: is the server running there? (the address is temporal.address in the config, or TEMPORAL_ADDRESS)${process.env.TRIBUTARY_DEBUG === '1' ? ` (${said})` : ''}`,
    );
  }
}

export const connectClient = (settings: TemporalSettings): Promise<Connection> =>
  connectTemporal(settings, (o) => Connection.connect(o));

export const connectNative = (settings: TemporalSettings): Promise<NativeConnection> =>
  connectTemporal(settings, (o) => NativeConnection.connect(o));
