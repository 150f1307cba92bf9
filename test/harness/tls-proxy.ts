/**
 * A TLS-terminating gRPC proxy in front of the Temporal dev server, which has no TLS of its own: HTTP/2 over
 * TLS in (node:http2 createSecureServer), plaintext HTTP/2 out, headers, data and trailers forwarded both
 * ways. It can require a client certificate (mTLS) and an `authorization: Bearer <key>` header (else gRPC
 * status 16 UNAUTHENTICATED). Certificates come from `openssl` (testCertificates).
 */
import { execFileSync } from 'node:child_process';
import * as http2 from 'node:http2';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface TestCertificates {
  dir: string;
  /** Files: the CA, the server's certificate and key (SAN = serverName), a client's certificate and key. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  serverName: string;
}

/** A CA, a server certificate for `serverName` and a client certificate, all signed by the CA. */
export function testCertificates(serverName = 'temporal.tributary.test'): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-tls-'));
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=tributary test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(f(`${name}.ext`), ext);
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.pem`),
    );
  };
  leaf('server', serverName, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\n`);
  leaf('client', 'tributary test client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    serverName,
  };
}

export interface TlsProxy {
  /** 127.0.0.1:<port>; the certificate names certs.serverName, so clients override the server name. */
  address: string;
  /** Requests that reached the proxy (rejected ones included). */
  requests: number;
  close(): Promise<void>;
}

export async function startTlsProxy(opts: {
  target: string;
  certs: TestCertificates;
  requireClientCert?: boolean;
  apiKey?: string;
}): Promise<TlsProxy> {
  const upstream = http2.connect(`http://${opts.target}`);
  upstream.on('error', () => {});
  const server = http2.createSecureServer({
    key: readFileSync(opts.certs.serverKey),
    cert: readFileSync(opts.certs.serverCert),
    ca: readFileSync(opts.certs.ca),
    requestCert: opts.requireClientCert ?? false,
    rejectUnauthorized: opts.requireClientCert ?? false,
  });
  const state = { requests: 0 };
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (down, headers) => {
    state.requests++;
    down.on('error', () => {});
    if (opts.apiKey !== undefined && headers.authorization !== `Bearer ${opts.apiKey}`) {
      down.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '16',
          'grpc-message': 'bad API key',
        },
        { endStream: true },
      );
      return;
    }
    const out: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (k !== ':authority' || v) out[k] = v;
    const up = upstream.request(out);
    up.on('error', () => down.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    down.pipe(up);
    let trailers: http2.IncomingHttpHeaders = {};
    up.on('trailers', (t) => (trailers = t));
    up.on('response', (h, flags) => {
      const response = { ...h } as http2.OutgoingHttpHeaders;
      // A trailers-only response (grpc-status in the headers) ends the stream at once.
      if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
        down.respond(response, { endStream: true });
        return;
      }
      down.respond(response, { waitForTrailers: true });
      down.on('wantTrailers', () => down.sendTrailers(stripPseudo(trailers)));
      up.pipe(down);
    });
    down.on('close', () => up.destroyed || up.close());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((ok) => {
        upstream.close();
        server.close(() => ok());
        // Open client sessions would keep the server up: end them.
        for (const s of sessions) s.destroy();
      }),
  } satisfies TlsProxy;
}

const stripPseudo = (h: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(h).filter(([k]) => !k.startsWith(':')));
