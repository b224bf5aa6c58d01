import { createServer, type Server } from 'node:http';
import { loadConfig } from '../../src/config';
import { probe, probeUrl, roleOf } from '../../src/healthcheck';
import { freePort } from '../support/processes';

/** The image's HEALTHCHECK (dist/healthcheck.js): which endpoint each role probes, and what counts as healthy. */

test('the role comes from the container command: the worker names worker.js, anything else is the API', () => {
  expect(roleOf('/sbin/docker-init\0--\0node\0dist/worker.js\0')).toBe('worker');
  expect(roleOf('node\0/app/dist/worker.js\0')).toBe('worker');
  expect(roleOf('/sbin/docker-init\0--\0node\0dist/api/server.js\0')).toBe('api');
  expect(roleOf('node\0dist/api/server.js\0--worker.js-like\0')).toBe('api');
});

test('the API is probed on /healthz at its port (a wildcard bind on loopback); another path when asked', () => {
  const config = loadConfig({
    AGENT_ORCHESTRATOR_PORT: '9123',
    AGENT_ORCHESTRATOR_HOST: '0.0.0.0',
    API_ALLOW_UNAUTHENTICATED: 'true',
  });
  expect(probeUrl('api', config)).toBe('http://127.0.0.1:9123/healthz');
  expect(probeUrl('api', config, '/readyz')).toBe('http://127.0.0.1:9123/readyz');
  expect(probeUrl('api', loadConfig({ AGENT_ORCHESTRATOR_HOST: '10.1.2.3', API_ALLOW_UNAUTHENTICATED: 'true' }))).toBe(
    'http://10.1.2.3:8003/healthz',
  );
});

test('the worker is probed on its metrics port (/healthz), 9464 unless configured, nothing when metrics are off', () => {
  const config = loadConfig({});
  expect(probeUrl('worker', config)).toBe('http://127.0.0.1:9464/healthz');
  const configured = Object.assign({}, config, { WORKER_METRICS_PORT: 9999, WORKER_METRICS_HOST: '0.0.0.0' });
  expect(probeUrl('worker', configured)).toBe('http://127.0.0.1:9999/healthz');
  expect(probeUrl('worker', Object.assign({}, config, { WORKER_METRICS_PORT: 0 }))).toBeUndefined();
});

describe('probe', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    server = createServer((req, res) => {
      res.statusCode = req.url === '/ok' ? 200 : 503;
      res.end(req.url);
    });
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  test('healthy on 2xx, unhealthy on 503 or when nothing listens, with the reason', async () => {
    await expect(probe(`http://127.0.0.1:${port}/ok`)).resolves.toEqual({
      healthy: true,
      detail: `http://127.0.0.1:${port}/ok: HTTP 200`,
    });
    await expect(probe(`http://127.0.0.1:${port}/readyz`)).resolves.toEqual({
      healthy: false,
      detail: `http://127.0.0.1:${port}/readyz: HTTP 503`,
    });
    const closed = await freePort();
    await expect(probe(`http://127.0.0.1:${closed}/metrics`)).resolves.toEqual({
      healthy: false,
      detail: `http://127.0.0.1:${closed}/metrics: ECONNREFUSED`,
    });
  });
});
