import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/api/app';
import { ConfigError, loadConfig } from '../src/config';
import { DEFAULT_REGISTRY } from '../src/shared/registry';
import { SubmitterKey } from '../src/shared/search-attributes';
import { startHarness, uniqueId, type Harness } from './support/harness';
import { freePort, killAll, startApiProcess } from './support/processes';

// Response bodies are arbitrary JSON; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const KEY = {
  reader: 'reader-key-0123456789abcdefghij',
  submitter: 'submitter-key-0123456789abcdefgh',
  operator: 'operator-key-0123456789abcdefghi',
  admin: 'admin-key-0123456789abcdefghijklm',
  chatty: 'chatty-key-0123456789abcdefghijkl',
  capped: 'capped-key-0123456789abcdefghijkl',
};
const dir = mkdtempSync(join(tmpdir(), 'auth-'));
const keysFile = join(dir, 'keys.json');
writeFileSync(
  keysFile,
  JSON.stringify({
    keys: [
      { name: 'reader', key: KEY.reader, scopes: ['read'] },
      // Stored as its digest: the file holds no secret.
      {
        name: 'submitter',
        key: `sha256:${createHash('sha256').update(KEY.submitter).digest('hex')}`,
        scopes: ['read', 'submit'],
      },
      { name: 'operator', key: KEY.operator, scopes: ['read', 'operate'] },
      { name: 'chatty', key: KEY.chatty, scopes: ['read'], requestsPerMinute: 3 },
    ],
  }),
);
const inlineKeys = JSON.stringify([
  { name: 'admin', key: KEY.admin, scopes: ['*'] },
  { name: 'capped', key: KEY.capped, scopes: ['read', 'submit'], maxPlansInFlight: 2 },
]);

let h: Harness;
let server: Server;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  const config = loadConfig({
    TEMPORAL_ADDRESS: h.address,
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    AGENT_POOL_ID: h.poolId,
    API_KEYS_FILE: keysFile,
    API_KEYS: inlineKeys,
    ALLOW_SIMULATE: 'true',
  });
  expect(config.AGENT_ORCHESTRATOR_HOST).toBe('0.0.0.0'); // keyed: may listen everywhere
  const app = createApp({ client: h.client, config, registry: DEFAULT_REGISTRY });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await h?.close();
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: Json;
  headers: Headers;
}
async function call(
  path: string,
  opts: { key?: string; header?: 'bearer' | 'x-api-key'; method?: string; body?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.key) {
    if (opts.header === 'x-api-key') headers['x-api-key'] = opts.key;
    else headers.authorization = `Bearer ${opts.key}`;
  }
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json');
  return { status: res.status, body: json ? JSON.parse(text) : text, headers: res.headers };
}
const plan = (id: string, latencyMs = 0) => ({
  id,
  tasks: [{ id: 'a', description: 'x', ...(latencyMs ? { input: { simulate: { latencyMs } } } : {}) }],
});
async function expectNoWorkflow(planId: string): Promise<void> {
  await expect(h.client.workflow.getHandle(`plan-${planId}`).describe()).rejects.toHaveProperty(
    'name',
    'WorkflowNotFoundError',
  );
}

describe('API keys and scopes', () => {
  test('no key: 401 in the error envelope with WWW-Authenticate; health and readiness stay open', async () => {
    const r = await call('/v1/plans');
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Bearer') } });
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await call('/healthz')).status).toBe(200);
    expect((await call('/metrics')).status).toBe(401);
    const wrong = await call('/v1/plans', { key: 'not-a-key-at-all-0123456789' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('the API key is not valid');
  });

  test('read can read, not submit (403 naming the scope, nothing started)', async () => {
    expect((await call('/v1/plans', { key: KEY.reader })).status).toBe(200);
    expect((await call('/metrics', { key: KEY.reader })).status).toBe(200);
    const id = uniqueId('forbidden');
    const r = await call('/v1/plans', { key: KEY.reader, body: plan(id) });
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({
      code: 'FORBIDDEN',
      message: 'the key "reader" lacks the "submit" scope needed for POST /v1/plans',
    });
    await expectNoWorkflow(id);
  });

  test('submit starts plans stamped with the key name; cancel needs operate; X-API-Key works too', async () => {
    const id = uniqueId('submitted');
    const r = await call('/v1/plans', { key: KEY.submitter, header: 'x-api-key', body: plan(id, 3_000) });
    expect(r.status).toBe(202);
    const desc = await h.client.workflow.getHandle(`plan-${id}`).describe();
    expect(desc.typedSearchAttributes.get(SubmitterKey)).toBe('submitter');
    const denied = await call(`/v1/plans/${id}/cancel`, { key: KEY.submitter, body: {} });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('"operate"');
    expect((await call(`/v1/plans/${id}/cancel`, { key: KEY.operator, body: {} })).status).toBe(202);
  });

  test('agent types are changed with admin only', async () => {
    const type = { description: 'Translates.', capabilities: [`tr-${uniqueId('c')}`] };
    const name = uniqueId('translator');
    expect((await call(`/v1/agent-types/${name}`, { key: KEY.operator, method: 'PUT', body: type })).status).toBe(403);
    expect((await call(`/v1/agent-types/${name}`, { key: KEY.admin, method: 'PUT', body: type })).status).toBe(201);
    expect((await call(`/v1/agent-types/${name}`, { key: KEY.admin, method: 'DELETE' })).status).toBe(204);
  });
});

describe('rate limits and quotas', () => {
  test('requests a minute per key: 429 RATE_LIMITED with Retry-After once over', async () => {
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await call('/v1/plans', { key: KEY.chatty }));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    const over = replies[3] as Reply;
    expect(over.body.error.code).toBe('RATE_LIMITED');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other keys have their own budget.
    expect((await call('/v1/plans', { key: KEY.reader })).status).toBe(200);
  });

  test('401s count per client address: past the per-minute default its refused requests get 429; valid keys are never counted or refused', async () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: h.address,
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      AGENT_POOL_ID: h.poolId,
      API_KEYS: JSON.stringify([{ name: 'unlimited', key: KEY.reader, scopes: ['read'], requestsPerMinute: 0 }]),
      API_RATE_LIMIT_PER_MINUTE: '3',
    });
    const other = createApp({ client: h.client, config, registry: DEFAULT_REGISTRY }).listen(0, '127.0.0.1');
    await once(other, 'listening');
    const at = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const get = async (path: string, key?: string) =>
      (await fetch(`${at}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} })).status;
    try {
      for (let i = 0; i < 5; i++) expect(await get('/v1/plans', KEY.reader)).toBe(200);
      const bad = [];
      for (let i = 0; i < 4; i++) bad.push(await get('/v1/plans', 'not-a-key-0123456789abcdefghij'));
      expect(bad).toEqual([401, 401, 401, 429]);
      // A valid key from the same address (another client behind the same proxy) is not locked out.
      expect(await get('/v1/plans', KEY.reader)).toBe(200);
      expect(await get('/healthz')).toBe(200); // public paths stay open
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  test('plans in flight per key: a burst gets exactly the cap, the rest 429 and start nothing; a resubmission at the cap is not refused; accepted plans finish', async () => {
    const ids = Array.from({ length: 6 }, () => uniqueId('burst'));
    const replies = await Promise.all(ids.map((id) => call('/v1/plans', { key: KEY.capped, body: plan(id, 1_500) })));
    const accepted = ids.filter((_, i) => replies[i]?.status === 202);
    const refused = ids.filter((_, i) => replies[i]?.status === 429);
    expect(accepted).toHaveLength(2);
    expect(refused).toHaveLength(4);
    for (const r of replies.filter((x) => x.status === 429)) {
      expect(r.body.error.message).toMatch(/"capped" has 2 plans running; its limit is 2/);
      expect(r.headers.get('retry-after')).toBe('5');
    }
    for (const id of refused) await expectNoWorkflow(id);
    // At the cap: resubmitting a running plan starts nothing, so it answers as before; a changed body is a conflict,
    // and a bad plan is a 400 whatever the key's room.
    const [first] = accepted as [string];
    const resubmitted = await call('/v1/plans', { key: KEY.capped, body: plan(first, 1_500) });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body).toMatchObject({ planId: first, status: 'running' });
    const changed = await call('/v1/plans', { key: KEY.capped, body: plan(first, 1_000) });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('CONFLICT');
    const bad = await call('/v1/plans', { key: KEY.capped, body: { tasks: [] } });
    expect(bad.status).toBe(400);
    expect((await call('/v1/plans', { key: KEY.capped, body: plan(uniqueId('still-over')) })).status).toBe(429);
    for (const id of accepted) {
      const result = await call(`/v1/plans/${id}/result?wait=30`, { key: KEY.capped });
      expect(result.body.status).toBe('completed');
    }
    // Room again once they are done (visibility may take a moment to show them closed).
    let again: Reply | undefined;
    for (let i = 0; i < 50 && again?.status !== 202; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      again = await call('/v1/plans', { key: KEY.capped, body: plan(uniqueId('after')) });
    }
    expect(again?.status).toBe(202);
  });
});

describe('where the API listens', () => {
  test('without keys: 127.0.0.1 by default; anything wider takes API_ALLOW_UNAUTHENTICATED (the API only, not a worker)', () => {
    expect(loadConfig({}).AGENT_ORCHESTRATOR_HOST).toBe('127.0.0.1');
    expect(() => loadConfig({ AGENT_ORCHESTRATOR_HOST: '0.0.0.0' })).toThrow(ConfigError);
    expect(() => loadConfig({ AGENT_ORCHESTRATOR_HOST: '0.0.0.0' })).toThrow(/API_ALLOW_UNAUTHENTICATED/);
    expect(
      loadConfig({ AGENT_ORCHESTRATOR_HOST: '0.0.0.0', API_ALLOW_UNAUTHENTICATED: 'true' }).AGENT_ORCHESTRATOR_HOST,
    ).toBe('0.0.0.0');
    // A worker does not listen there: it starts with the API's environment.
    expect(loadConfig({ AGENT_ORCHESTRATOR_HOST: '0.0.0.0' }, 'worker').AGENT_ORCHESTRATOR_HOST).toBe('0.0.0.0');
  });

  test('bad key lists are refused at start-up, naming the entry and never echoing a key', () => {
    const bad = JSON.stringify([{ name: 'x', key: 'short-secret', scopes: ['read'] }]);
    const config = loadConfig({ API_KEYS: bad });
    expect(() => createApp({ client: h.client, config, registry: DEFAULT_REGISTRY })).toThrow(/API_KEYS: 0\.key: /);
    expect(() => createApp({ client: h.client, config, registry: DEFAULT_REGISTRY })).not.toThrow(/short-secret/);
  });

  test('a keyed API process says so at start and never prints a key, good or bad', async () => {
    const port = await freePort();
    const api = await startApiProcess({
      address: h.address,
      taskQueue: h.taskQueue,
      port,
      extra: { API_KEYS_FILE: keysFile, API_KEYS: inlineKeys, AGENT_POOL_ID: h.poolId },
    });
    await api.waitFor(/API keys: 6 configured/);
    const at = `http://127.0.0.1:${port}`;
    await fetch(`${at}/v1/plans`, { headers: { authorization: `Bearer ${KEY.reader}` } });
    await fetch(`${at}/v1/plans`, { headers: { authorization: 'Bearer wrong-key-zzzzzzzzzzzzzzzzzzzzzz' } });
    await fetch(`${at}/v1/plans`, { method: 'POST', headers: { authorization: `Bearer ${KEY.reader}` } });
    const out = api.output();
    for (const k of [...Object.values(KEY), 'wrong-key-zzzzzzzzzzzzzzzzzzzzzz']) expect(out).not.toContain(k);
  });
});
