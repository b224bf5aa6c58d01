import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testAddress, uniqueId } from './support/harness';
import { freePort, killAll, request, startApiProcess, startWorker, type OrchestratorEnv } from './support/processes';

const dir = mkdtempSync(join(tmpdir(), 'readiness-'));
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
});
