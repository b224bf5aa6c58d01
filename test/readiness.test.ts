import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testAddress, uniqueId } from './support/harness';
import { freePort, killAll, request, startApiProcess, startWorker, type OrchestratorEnv } from './support/processes';

const dir = mkdtempSync(join(tmpdir(), 'readiness-'));
const KEY = 'readiness-test-key-0123456789abcdef';
const KEYS = JSON.stringify([{ name: 'probe', key: KEY, scopes: ['read'] }]);

/** GET /readyz, with the key or without; the body as text (what a stranger learns) and as JSON. */
async function readyz(base: string, withKey: boolean): Promise<{ status: number; text: string; body: unknown }> {
  const res = await fetch(`${base}/readyz`, { headers: withKey ? { authorization: `Bearer ${KEY}` } : {} });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as unknown };
}
afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The order an operator (or compose) starts things in: the API first, the worker later. Liveness holds throughout;
 * readiness, and with it plans, wait for a worker that has applied the registry file.
 */
test('API before worker: alive but not ready (503, nothing started); ready once the worker applied the registry', async () => {
  const registryFile = join(dir, 'agents.json');
  writeFileSync(
    registryFile,
    JSON.stringify({
      agentTypes: [{ name: 'translator', description: 'Translates.', capabilities: ['translation'] }],
    }),
  );
  const port = await freePort();
  const env: OrchestratorEnv = {
    address: testAddress(),
    taskQueue: uniqueId('readiness'),
    port,
    extra: { AGENT_REGISTRY_FILE: registryFile },
  };
  await startApiProcess({ ...env, port });
  const base = `http://127.0.0.1:${port}`;
  const plan = (id: string) => ({
    id,
    tasks: [{ id: 't', description: 'translate', requiredCapabilities: ['translation'] }],
  });

  expect((await request(base, '/healthz')).status).toBe(200);
  const notReady = await request(base, '/readyz');
  expect(notReady.status).toBe(503);
  expect(notReady.body.error).toEqual({ code: 'NOT_READY', message: expect.stringMatching(/no worker has started/) });
  const earlyId = uniqueId('early');
  const early = await request(base, '/v1/plans', { body: plan(earlyId) });
  expect(early.status).toBe(503);
  expect(early.body.error.code).toBe('NOT_READY');
  expect((await request(base, `/v1/plans/${earlyId}`)).status).toBe(404); // nothing was started

  await startWorker(env);
  // Poll readiness the way `npm start` and compose do; the first 200 must already accept the registry's type.
  let ready = await request(base, '/readyz');
  for (let i = 0; ready.status !== 200 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    ready = await request(base, '/readyz');
  }
  expect(ready).toEqual({ status: 200, body: { status: 'ready' } });
  const id = uniqueId('first');
  const accepted = await request(base, '/v1/plans', { body: plan(id) });
  expect(accepted.status).toBe(202);
  const result = await request(base, `/v1/plans/${id}/result?wait=30`);
  expect(result.body.status).toBe('completed');
  expect(result.body.outputs.t).toMatchObject({
    task: 't',
    description: 'translate',
    summary: expect.stringMatching(/^t done by /),
  });

  // An operator removes the registry file's type: the API stays ready (it was applied; only then removed). A second API
  // process asks afresh (the first remembers its last answer for a second).
  expect((await request(base, '/v1/agent-types/translator', { method: 'DELETE' })).status).toBe(204);
  const port2 = await freePort();
  await startApiProcess({ ...env, port: port2 }, 'api-2');
  expect(await request(`http://127.0.0.1:${port2}`, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
});

test('with API keys, /readyz tells a stranger only ready or not; what is missing and where Temporal is, only to a key', async () => {
  // Nothing listens at this address: Temporal "down".
  const deadAddress = `127.0.0.1:${await freePort()}`;
  const downPort = await freePort();
  await startApiProcess({
    address: deadAddress,
    taskQueue: uniqueId('down'),
    port: downPort,
    extra: { API_KEYS: KEYS },
  });
  const down = `http://127.0.0.1:${downPort}`;
  const stranger = await readyz(down, false);
  expect(stranger).toMatchObject({ status: 503, body: { status: 'unavailable' } });
  expect(stranger.text).not.toContain(deadAddress);
  expect(stranger.text).not.toContain('127.0.0.1');
  const keyed = await readyz(down, true);
  expect(keyed).toMatchObject({
    status: 503,
    body: {
      status: 'unavailable',
      error: { code: 'TEMPORAL_UNAVAILABLE', message: expect.stringContaining(deadAddress) },
    },
  });

  // Temporal up, no worker: not ready, and why only to the key.
  const taskQueue = uniqueId('no-worker');
  const upPort = await freePort();
  await startApiProcess({ address: testAddress(), taskQueue, port: upPort, extra: { API_KEYS: KEYS } });
  const up = `http://127.0.0.1:${upPort}`;
  const notReady = await readyz(up, false);
  expect(notReady).toMatchObject({ status: 503, body: { status: 'not ready' } });
  expect(notReady.body).toEqual({ status: 'not ready' });
  expect(notReady.text).not.toContain(taskQueue);
  expect(await readyz(up, true)).toMatchObject({
    status: 503,
    body: { error: { code: 'NOT_READY', message: expect.stringContaining(taskQueue) } },
  });
});
