import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { ConfigError, loadConfig } from '../src/config';
import { describeTarget } from '../src/temporal/connection';
import { testAddress, uniqueId } from './support/harness';
import {
  freePort,
  killAll,
  request,
  startApiProcess,
  startWorker,
  spawnOrchestrator,
  orchestratorEnv,
} from './support/processes';

const dir = mkdtempSync(join(tmpdir(), 'temporal-connection-'));
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const profileFile = (toml: string): string => {
  const path = join(dir, `${uniqueId('profile')}.toml`);
  writeFileSync(path, toml);
  return path;
};

describe('connection settings by Temporal conventions (envconfig)', () => {
  const cloud = `
[profile.default]
address = "localhost:7233"

[profile.prod]
address = "my-ns.a1b2c.tmprl.cloud:7233"
namespace = "my-ns.a1b2c"
api_key = "secret-api-key-123"
`;

  test('a named profile from TEMPORAL_CONFIG_FILE gives address, namespace, API key (which implies TLS)', () => {
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: profileFile(cloud), TEMPORAL_PROFILE: 'prod' });
    expect(config.TEMPORAL_ADDRESS).toBe('my-ns.a1b2c.tmprl.cloud:7233');
    expect(config.TEMPORAL_NAMESPACE).toBe('my-ns.a1b2c');
    expect(config.temporal.connectionOptions).toMatchObject({ apiKey: 'secret-api-key-123', tls: true });
    expect(config.temporal.target).toEqual({
      address: 'my-ns.a1b2c.tmprl.cloud:7233',
      namespace: 'my-ns.a1b2c',
      tls: true,
      apiKey: true,
      profile: 'prod',
    });
    // Links follow the cluster: Temporal Cloud's UI.
    expect(config.TEMPORAL_UI_URL).toBe('https://cloud.temporal.io');
    // What start-up lines print names the cluster, never the key.
    expect(describeTarget(config.temporal.target)).toBe(
      'my-ns.a1b2c.tmprl.cloud:7233 (namespace my-ns.a1b2c, TLS, API key, profile prod)',
    );
  });

  test('TEMPORAL_* variables override the profile', () => {
    const config = loadConfig({
      TEMPORAL_CONFIG_FILE: profileFile(cloud),
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_NAMESPACE: 'other-ns',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
    });
    expect(config.TEMPORAL_ADDRESS).toBe('temporal.internal:7233');
    expect(config.TEMPORAL_NAMESPACE).toBe('other-ns');
    expect(config.temporal.connectionOptions.apiKey).toBe('secret-api-key-123');
  });

  test('no profile, no variables: the local dev server, plaintext, its UI on 8233', () => {
    const config = loadConfig({ TEMPORAL_CONFIG_FILE: profileFile('') });
    expect(config.temporal.connectionOptions).toEqual({ address: 'localhost:7233' });
    expect(config.TEMPORAL_NAMESPACE).toBe('default');
    expect(config.TEMPORAL_UI_URL).toBe('http://localhost:8233');
  });

  test('a self-hosted TLS cluster: certificates from files; UI links only when TEMPORAL_UI_URL says where', () => {
    const ca = join(dir, 'fake-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n');
    const env = {
      TEMPORAL_CONFIG_FILE: profileFile(''),
      TEMPORAL_ADDRESS: 'temporal.example.internal:7233',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.example.internal',
    };
    const config = loadConfig(env);
    expect(config.temporal.target.tls).toBe(true);
    expect(config.temporal.connectionOptions.tls).toMatchObject({ serverNameOverride: 'temporal.example.internal' });
    expect(config.TEMPORAL_UI_URL).toBeUndefined();
    expect(loadConfig({ ...env, TEMPORAL_UI_URL: 'https://temporal-ui.example.internal' }).TEMPORAL_UI_URL).toBe(
      'https://temporal-ui.example.internal',
    );
  });

  test('a profile the file does not have is a configuration error naming it', () => {
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: profileFile(cloud), TEMPORAL_PROFILE: 'staging' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: profileFile(cloud), TEMPORAL_PROFILE: 'staging' })).toThrow(
      /staging/,
    );
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: profileFile('this is [not toml') })).toThrow(
      /Temporal connection profile/,
    );
  });
});

/** Self-signed CA, a server certificate for localhost / 127.0.0.1, and a client certificate, made with openssl. */
function makeCertificates(): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
  );
  const leaf = (name: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
    );
    writeFileSync(p(`${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
      '-out',
      p(`${name}.pem`),
    );
  };
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}

/** A TLS terminator in front of the dev server that demands a client certificate from our CA (mutual TLS). */
async function mtlsProxy(
  certs: ReturnType<typeof makeCertificates>,
  upstream: string,
): Promise<{ server: TlsServer; port: number; handshakes: { ok: number; refused: number } }> {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.split(':').pop())];
  const handshakes = { ok: 0, refused: 0 };
  const server = createTlsServer(
    {
      key: readFileSync(certs.serverKey),
      cert: readFileSync(certs.serverCert),
      ca: readFileSync(certs.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      handshakes.ok += 1;
      const back = tcpConnect(port, host);
      socket.pipe(back).pipe(socket);
      const end = () => {
        socket.destroy();
        back.destroy();
      };
      socket.on('error', end);
      back.on('error', end);
      socket.on('close', end);
      back.on('close', end);
    },
  );
  server.on('tlsClientError', () => (handshakes.refused += 1));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, port: (server.address() as AddressInfo).port, handshakes };
}

describe('a TLS cluster (mutual TLS proxy in front of the dev server)', () => {
  let certs: ReturnType<typeof makeCertificates>;
  let proxy: Awaited<ReturnType<typeof mtlsProxy>>;
  beforeAll(async () => {
    certs = makeCertificates();
    proxy = await mtlsProxy(certs, testAddress());
  });
  afterAll(() => proxy?.server.close());

  test('worker (settings from a profile) and API (settings from TEMPORAL_TLS_* variables) run a plan over mTLS', async () => {
    const taskQueue = uniqueId('tls');
    const port = await freePort();
    const address = `localhost:${proxy.port}`;
    const profile = profileFile(`
[profile.tls-cluster]
address = "${address}"
namespace = "default"

[profile.tls-cluster.tls]
server_ca_cert_path = "${certs.ca}"
client_cert_path = "${certs.clientCert}"
client_key_path = "${certs.clientKey}"
`);
    // TEMPORAL_ADDRESS '' = unset: the worker reads everything from the profile.
    const worker = await startWorker({
      address: '',
      taskQueue,
      extra: { TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'tls-cluster' },
    });
    expect(worker.output()).toMatch(
      /worker polling task queue .* on localhost:\d+ \(namespace default, TLS, profile tls-cluster\)/,
    );
    await startApiProcess({
      address,
      taskQueue,
      port,
      extra: {
        TEMPORAL_CONFIG_FILE: profileFile(''),
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
        TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      },
    });
    const base = `http://127.0.0.1:${port}`;
    const before = proxy.handshakes.ok;
    const submitted = await request(base, '/v1/plans', {
      body: {
        tasks: [
          { id: 'a', description: 'over TLS' },
          { id: 'b', description: 'then this', dependencies: ['a'] },
        ],
      },
    });
    expect(submitted.status).toBe(202);
    const result = await request(base, `/v1/plans/${submitted.body.planId}/result?wait=30`);
    expect(result.status).toBe(200);
    expect(result.body.status).toBe('completed');
    expect(Object.keys(result.body.outputs).sort()).toEqual(['a', 'b']);
    // The API connects lazily, so its first request opened a connection: through the proxy, with a verified client.
    expect(proxy.handshakes.ok).toBeGreaterThan(before);
  });

  test('without a client certificate the cluster refuses the worker, which exits saying why', async () => {
    const refusedBefore = proxy.handshakes.refused;
    const worker = spawnOrchestrator(
      'worker-no-client-cert',
      'src/worker.ts',
      orchestratorEnv({
        address: `localhost:${proxy.port}`,
        taskQueue: uniqueId('tls-refused'),
        extra: { TEMPORAL_CONFIG_FILE: profileFile(''), TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca },
      }),
    );
    const exit = await worker.exited;
    expect(exit.code).not.toBe(0);
    expect(worker.output()).toMatch(/connect|transport|tls|certificate|handshake/i);
    expect(proxy.handshakes.refused).toBeGreaterThan(refusedBefore);
  });
});
