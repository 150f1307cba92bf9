/** Temporal connection settings: config validation, environment precedence, bad files; no secret in a message. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../config/load';
import { connectionOptionsOf, describeTemporal, temporalSettingsOf } from '../../config/temporal';
import { testCertificates } from '../harness/tls-proxy';

const regions = `regions:\n  - { name: eu-1, cloud: local, raw: "file:///r", table: "file:///t" }\n`;
const SECRET = 'sk-THE-SECRET-VALUE-123';

function configError(temporal: string): string {
  try {
    parseConfig(`temporal:\n${temporal}${regions}`, 'c.yaml');
  } catch (e) {
    expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    expect(e).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((e as Error).message).not.toContain(SECRET);
    return e as Error;
  }
  throw new Error('no error');
}

const base = { address: 'temporal.example:7233', namespace: 'prod' };

test('an inline API key, key or certificate is refused, saying where it goes, without echoing it', () => {
  const msg = configError(`  apiKey: ${SECRET}\n`);
  expect(msg).toContain(
    'c.yaml:2: temporal.apiKey: the config holds no secrets: put the key in a file (temporal.apiKeyFile) or an environment variable (temporal.apiKeyEnv)',
  );
  expect(msg).not.toContain(SECRET);
  const key = configError(`  tls: { certFile: c.pem, key: "${SECRET}" }\n`);
  expect(key).toMatch(/temporal\.tls\.key: the config holds no secrets: give keyFile/);
  expect(key).not.toContain(SECRET);
});

test('config problems: certificate without key, both key sources, a bad variable name', () => {
  expect(configError(`  tls: { certFile: c.pem }\n`)).toMatch(
    /c\.yaml:\d+: temporal\.tls\.certFile: a client certificate needs both certFile and keyFile \(keyFile is missing\)/,
  );
  expect(configError(`  tls: { keyFile: k.pem }\n`)).toMatch(
    /c\.yaml:\d+: temporal\.tls\.keyFile: a client certificate needs both certFile and keyFile \(certFile is missing\)/,
  );
  expect(configError(`  apiKeyFile: k\n  apiKeyEnv: K\n`)).toMatch(
    /temporal\.apiKeyEnv: give apiKeyFile or apiKeyEnv, not both/,
  );
  const bad = configError(`  apiKeyEnv: "${SECRET}.x"\n`);
  expect(bad).toMatch(/temporal\.apiKeyEnv: the name of an environment variable/);
  expect(bad).not.toContain(SECRET);
  expect(configError(`  tls: { caFile: "" }\n`)).toMatch(/temporal\.tls\.caFile/);
});

test('a valid section parses; plaintext by default; TLS on for tls: true, TLS files or an API key', () => {
  const c = parseConfig(
    `temporal:\n  address: ns.acct.tmprl.cloud:7233\n  namespace: ns.acct\n  tls: { caFile: ca.pem, certFile: c.pem, keyFile: k.pem, serverName: s }\n${regions}`,
  );
  expect(c.temporal).toMatchObject({ namespace: 'ns.acct', tls: { caFile: 'ca.pem', serverName: 's' } });
  expect(temporalSettingsOf(base, {})).toEqual(base);
  const tlsOf = (v: string) => parseConfig(`temporal: { tls: ${v} }\n${regions}`).temporal;
  expect(temporalSettingsOf(tlsOf('true'), {}).tls).toEqual({});
  expect(temporalSettingsOf(tlsOf('{}'), {}).tls).toEqual({});
  expect(temporalSettingsOf(tlsOf('false'), {}).tls).toBeUndefined();
  expect(temporalSettingsOf(base, { TEMPORAL_TLS: 'true' }).tls).toEqual({});
  const withKey = temporalSettingsOf(base, { TEMPORAL_API_KEY: SECRET });
  expect(withKey.tls).toEqual({});
  expect(connectionOptionsOf(withKey)).toEqual({ address: base.address, tls: {}, apiKey: SECRET });
  expect(describeTemporal(withKey)).toBe('temporal.example:7233 (TLS, API key from TEMPORAL_API_KEY)');
  expect(JSON.stringify(withKey)).not.toContain(SECRET);
});

test('flags beat the environment, which beats the config', () => {
  const env = {
    TEMPORAL_ADDRESS: 'env:1',
    TEMPORAL_NAMESPACE: 'env-ns',
    TEMPORAL_TLS_SERVER_NAME: 'env-name',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/env/ca.pem',
    TEMPORAL_API_KEY: '',
  };
  const s = temporalSettingsOf({ ...base, tls: { caFile: '/cfg/ca.pem', serverName: 'cfg' } }, env);
  expect(s).toEqual({
    address: 'env:1',
    namespace: 'env-ns',
    tls: { ca: { path: '/env/ca.pem', setting: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' }, serverName: 'env-name' },
  });
  expect(temporalSettingsOf(base, env, { address: 'flag:2' }).address).toBe('flag:2');
  // TEMPORAL_API_KEY wins over apiKeyEnv; apiKeyEnv must be set.
  const both = temporalSettingsOf(
    { ...base, apiKeyEnv: 'MINE' },
    { TEMPORAL_API_KEY: SECRET, MINE: 'other' },
  );
  expect(connectionOptionsOf(both).apiKey).toBe(SECRET);
  expect(thrown(() => temporalSettingsOf({ ...base, apiKeyEnv: 'MINE' }, {})).message).toBe(
    'temporal.apiKeyEnv: environment variable MINE is not set (or empty)',
  );
});

test('environment problems name the variable', () => {
  expect(thrown(() => temporalSettingsOf(base, { TEMPORAL_TLS_CLIENT_CERT_PATH: '/c.pem' })).message).toBe(
    'TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate half: set TEMPORAL_TLS_CLIENT_KEY_PATH or temporal.tls.keyFile too',
  );
  expect(thrown(() => temporalSettingsOf(base, { TEMPORAL_TLS: 'yes' })).message).toBe(
    'TEMPORAL_TLS must be true or false',
  );
  expect(
    thrown(() => temporalSettingsOf(base, { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: SECRET })).message,
  ).toMatch(/^TEMPORAL_TLS=false turns TLS off, but/);
});

test('bad files: missing, empty, not PEM, an API key file with two lines; the message names setting and path', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-tcfg-'));
  const certs = testCertificates();
  const f = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
  const missing = path.join(dir, 'nope.pem');
  const opts =
    (tls: object, extra: object = {}) =>
    () =>
      connectionOptionsOf(temporalSettingsOf({ ...base, tls, ...extra }, {}));

  expect(thrown(opts({ caFile: missing })).message).toBe(
    `temporal.tls.caFile: cannot read the CA certificate file ${missing} (ENOENT)`,
  );
  expect(thrown(opts({ caFile: f('empty.pem', '') })).message).toMatch(
    /temporal\.tls\.caFile: the CA certificate file .* is empty/,
  );
  const notPem = f('bad.pem', SECRET);
  expect(thrown(opts({ caFile: notPem })).message).toBe(
    `temporal.tls.caFile: ${notPem} is not a PEM certificate`,
  );
  expect(thrown(opts({ certFile: certs.clientCert, keyFile: notPem })).message).toBe(
    `temporal.tls.keyFile: ${notPem} is not a PEM private key`,
  );
  expect(thrown(opts({}, { apiKeyFile: f('k2', `${SECRET}\nmore\n`) })).message).toMatch(
    /^temporal\.apiKeyFile: the API key holds whitespace or control characters$/,
  );
  expect(thrown(opts({}, { apiKeyFile: f('k0', '\n') })).message).toBe(
    'temporal.apiKeyFile: the API key is empty',
  );
  expect(thrown(opts({}, { apiKeyFile: missing })).message).toMatch(
    /^temporal\.apiKeyFile: cannot read the API key file/,
  );

  const ok = connectionOptionsOf(
    temporalSettingsOf(
      {
        ...base,
        tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey, serverName: 'x' },
      },
      {},
    ),
  );
  expect(Object.keys(ok.tls!).sort()).toEqual([
    'clientCertPair',
    'serverNameOverride',
    'serverRootCACertificate',
  ]);
});
