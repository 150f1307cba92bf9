/**
 * Temporal connection settings: address, namespace, TLS (server CA, client certificate and key, server name)
 * and API-key authentication, for a real cluster or Temporal Cloud. The config holds file paths and
 * environment variable names only, never a secret; the environment overrides the config under the Temporal
 * CLI's own names (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 * TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH,
 * TEMPORAL_TLS_SERVER_NAME). Every connection (CLI client, workers, demo) gets its options from
 * connectionOptionsOf, and no message made here contains a key, certificate or API key.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TributaryError } from '../lake/errors';

/** A config key that would hold a secret itself: refused, saying where the secret goes instead. */
const noInlineSecret = (instead: string) =>
  z.never({ error: `the config holds no secrets: ${instead}` }).optional();

const path = z.string().min(1);
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable (letters, digits, _)');

export const TemporalTlsConfig = z.strictObject({
  /** PEM file of the CA that signed the server's certificate (default: the system's trusted CAs). */
  caFile: path.optional(),
  /** PEM client certificate for mTLS; needs keyFile. */
  certFile: path.optional(),
  /** PEM private key of certFile. */
  keyFile: path.optional(),
  /** The name the server's certificate must carry, when it is not the address's host. */
  serverName: z.string().min(1).optional(),
  key: noInlineSecret('give keyFile, the path of the PEM key'),
  cert: noInlineSecret('give certFile, the path of the PEM certificate'),
  ca: noInlineSecret('give caFile, the path of the PEM CA certificate'),
});

export const TemporalConfig = z
  .strictObject({
    address: z.string().default('127.0.0.1:7233'),
    namespace: z.string().default('default'),
    /** true or {}: TLS with the system's trusted CAs; with files: those. Off by default (and for false). */
    tls: z
      .preprocess((v) => (v === true ? {} : v === false ? undefined : v), TemporalTlsConfig.optional())
      .optional(),
    /** A file holding the API key (sent as `authorization: Bearer <key>`; turns TLS on). */
    apiKeyFile: path.optional(),
    /** The environment variable holding the API key (TEMPORAL_API_KEY, when set, wins). */
    apiKeyEnv: envName.optional(),
    apiKey: noInlineSecret(
      'put the key in a file (temporal.apiKeyFile) or an environment variable (temporal.apiKeyEnv)',
    ),
  })
  .superRefine((t, ctx) => {
    if (t.apiKeyFile !== undefined && t.apiKeyEnv !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['apiKeyEnv'],
        message: 'give apiKeyFile or apiKeyEnv, not both',
      });
    // On the key that is there, so the message has its line.
    if (t.tls && (t.tls.certFile === undefined) !== (t.tls.keyFile === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['tls', t.tls.certFile === undefined ? 'keyFile' : 'certFile'],
        message: `a client certificate needs both certFile and keyFile (${t.tls.certFile === undefined ? 'certFile' : 'keyFile'} is missing)`,
      });
  });
export type TemporalConfig = z.infer<typeof TemporalConfig>;

/** A file to read, with the setting it came from (named in errors instead of anything read). */
export interface FileSetting {
  path: string;
  setting: string;
}

/** Where to connect and with what, resolved from config and environment; still no secret in it. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** Absent: plaintext. */
  tls?: { ca?: FileSetting; cert?: FileSetting; key?: FileSetting; serverName?: string };
  /** Where the API key comes from (`setting`, named in messages) and how to read it when connecting. */
  apiKey?: { setting: string; read(): string };
}

export const plainSettings = (address: string, namespace = 'default'): TemporalSettings => ({
  address,
  namespace,
});

const ENV = {
  address: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
  apiKey: 'TEMPORAL_API_KEY',
  tls: 'TEMPORAL_TLS',
  ca: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  cert: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  key: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  serverName: 'TEMPORAL_TLS_SERVER_NAME',
} as const;

const invalid = (message: string) => new TributaryError('CONFIG_INVALID', message);

/**
 * The settings in force: `flags` (command-line options) beat the environment, which beats the config, as in
 * the Temporal CLI. Empty environment variables count as unset. Throws CONFIG_INVALID naming the setting.
 */
export function temporalSettingsOf(
  config: TemporalConfig,
  env: NodeJS.ProcessEnv = process.env,
  flags: { address?: string } = {},
): TemporalSettings {
  const get = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const file = (envName: string, configured: string | undefined, setting: string) => {
    const fromEnv = get(envName);
    if (fromEnv !== undefined) return { path: fromEnv, setting: envName };
    return configured === undefined ? undefined : { path: configured, setting };
  };
  const tlsConfig = config.tls ?? {};
  const ca = file(ENV.ca, tlsConfig.caFile, 'temporal.tls.caFile');
  const cert = file(ENV.cert, tlsConfig.certFile, 'temporal.tls.certFile');
  const key = file(ENV.key, tlsConfig.keyFile, 'temporal.tls.keyFile');
  const serverName = get(ENV.serverName) ?? tlsConfig.serverName;
  if ((cert === undefined) !== (key === undefined)) {
    const [has, lacks] = cert
      ? [cert.setting, `${ENV.key} or temporal.tls.keyFile`]
      : [key!.setting, `${ENV.cert} or temporal.tls.certFile`];
    throw invalid(`${has} gives a client certificate half: set ${lacks} too`);
  }

  let apiKey: TemporalSettings['apiKey'];
  const fromEnv = (name: string) => ({ setting: name, read: () => env[name] ?? '' });
  if (get(ENV.apiKey) !== undefined) apiKey = fromEnv(ENV.apiKey);
  else if (config.apiKeyEnv !== undefined) {
    if (get(config.apiKeyEnv) === undefined)
      throw invalid(`temporal.apiKeyEnv: environment variable ${config.apiKeyEnv} is not set (or empty)`);
    apiKey = fromEnv(config.apiKeyEnv);
  } else if (config.apiKeyFile !== undefined) {
    const f = { path: config.apiKeyFile, setting: 'temporal.apiKeyFile' };
    apiKey = { setting: f.setting, read: () => readSetting(f, 'API key').toString('utf8') };
  }

  const tlsEnv = get(ENV.tls);
  if (tlsEnv !== undefined && !/^(true|false|1|0)$/i.test(tlsEnv))
    throw invalid(`${ENV.tls} must be true or false`);
  const tlsOn = tlsEnv !== undefined ? /^(true|1)$/i.test(tlsEnv) : config.tls !== undefined;
  const customised = ca !== undefined || cert !== undefined || serverName !== undefined;
  if (tlsEnv !== undefined && !tlsOn && (customised || apiKey))
    throw invalid(`${ENV.tls}=${tlsEnv} turns TLS off, but TLS files, a server name or an API key are set`);

  return {
    address: flags.address ?? get(ENV.address) ?? config.address,
    namespace: get(ENV.namespace) ?? config.namespace,
    ...(tlsOn || customised || apiKey
      ? {
          tls: {
            ...(ca ? { ca } : {}),
            ...(cert ? { cert, key } : {}),
            ...(serverName !== undefined ? { serverName } : {}),
          },
        }
      : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** The connection options both `Connection.connect` and `NativeConnection.connect` take. */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

/** Reads a setting's file; the error names the setting and path and why, never the content. */
function readSetting(s: FileSetting, what: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(s.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw invalid(`${s.setting}: cannot read the ${what} file ${s.path} (${code})`);
  }
  if (data.length === 0) throw invalid(`${s.setting}: the ${what} file ${s.path} is empty`);
  return data;
}

function checkPem(s: FileSetting, data: Buffer, kind: 'certificate' | 'key'): void {
  try {
    if (kind === 'certificate') new X509Certificate(data);
    else createPrivateKey(data);
  } catch {
    // No cause attached: the parser's error is about the bytes, which are (or hold) the secret.
    throw invalid(`${s.setting}: ${s.path} is not a PEM ${kind === 'key' ? 'private key' : 'certificate'}`);
  }
}

/**
 * The one settings → SDK options function. The API key, when any, also sets `tls` explicitly (the client
 * turns TLS on by itself for an API key, the worker's native connection does not).
 */
export function connectionOptionsOf(settings: TemporalSettings): TemporalConnectionOptions {
  const out: TemporalConnectionOptions = { address: settings.address };
  if (settings.tls) {
    const { ca, cert, key, serverName } = settings.tls;
    const tls: NonNullable<TemporalConnectionOptions['tls']> = {};
    if (ca) {
      tls.serverRootCACertificate = readSetting(ca, 'CA certificate');
      checkPem(ca, tls.serverRootCACertificate, 'certificate');
    }
    if (cert && key) {
      const crt = readSetting(cert, 'client certificate');
      checkPem(cert, crt, 'certificate');
      const k = readSetting(key, 'client key');
      checkPem(key, k, 'key');
      tls.clientCertPair = { crt, key: k };
    }
    if (serverName !== undefined) tls.serverNameOverride = serverName;
    out.tls = tls;
  }
  if (settings.apiKey) {
    const key = settings.apiKey.read().trim();
    const setting = settings.apiKey.setting;
    if (!key) throw invalid(`${setting}: the API key is empty`);
    // An HTTP header value: no whitespace (a key file with two lines) or control characters.
    if ([...key].some((c) => c <= ' ' || c === '\x7f'))
      throw invalid(`${setting}: the API key holds whitespace or control characters`);
    out.apiKey = key;
    out.tls ??= {};
  }
  return out;
}

/** What a log line or an error may say about a connection: the address and how it authenticates. */
export function describeTemporal(settings: TemporalSettings): string {
  const how = [
    settings.tls ? (settings.tls.cert ? 'mTLS' : 'TLS') : undefined,
    settings.apiKey ? `API key from ${settings.apiKey.setting}` : undefined,
  ].filter(Boolean);
  return how.length ? `${settings.address} (${how.join(', ')})` : settings.address;
}
