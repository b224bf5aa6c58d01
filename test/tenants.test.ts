import { ApplicationFailure } from '@temporalio/common';
import { DEFAULT_REGISTRY, type Registry } from '../src/shared/registry';
import { planWorkflowId, taskWorkflowId } from '../src/shared/ids';
import { TenantKey } from '../src/shared/search-attributes';
import { taskResultReader } from '../src/storage/output-refs';
import { openStream } from './support/sse-client';
import { eventually, startHarness, startInProcessApi, uniqueId, type Harness } from './support/harness';

/*
 * Tenants (docs/security.md, "Tenants" and "Limits"): each test here is an attack that worked before tenants existed.
 * A second tenant's key probes the first's plan; a plan points a reference at another tenant's task; a key floods
 * streams, messages, tasks; `simulate` asks for 100 MB. Against a real Temporal server and an in-process API.
 */

// Response bodies are arbitrary JSON; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const KEY = {
  a: 'team-a-key-0123456789abcdefghijk',
  b: 'team-b-key-0123456789abcdefghijk',
  admin: 'admin-key-0123456789abcdefghijklm',
};
const KEYS = JSON.stringify([
  { name: 'alice', key: KEY.a, scopes: ['read', 'submit', 'operate'], tenant: 'team-a' },
  { name: 'bob', key: KEY.b, scopes: ['read', 'submit', 'operate'], tenant: 'team-b' },
  { name: 'root', key: KEY.admin, scopes: ['*'] },
]);
// One writer instance: every task of these tests is served by the same agent, whoever submitted it.
const registry: Registry = {
  agentTypes: DEFAULT_REGISTRY.agentTypes.map((t) => (t.name === 'writer' ? { ...t, maxInstances: 1 } : t)),
};

let h: Harness;
let api: { base: string; close(): Promise<void> };

const call = async (key: string, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${api.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Json };
};
const submit = async (key: string, plan: Json): Promise<string> => {
  const r = await call(key, 'POST', '/v1/plans', plan);
  if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.planId as string;
};
const result = async (key: string, planId: string): Promise<Json> => {
  const r = await call(key, 'GET', `/v1/plans/${planId}/result?wait=30`);
  if (r.status !== 200) throw new Error(`result: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};
/** A plan that keeps running until cancelled: one task that waits for a human. */
const waiting = (id: string) => ({ id, tasks: [{ id: 'ask', description: 'wait for a human', awaitInput: true }] });

beforeAll(async () => {
  h = await startHarness({ registry });
  api = await startInProcessApi(
    h,
    { API_KEYS: KEYS, TENANT_MAX_EVENT_STREAMS: '2', TENANT_MAX_TASKS_IN_FLIGHT: '40' },
    registry,
  );
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

describe('tenants: a key sees and touches only its tenant’s plans', () => {
  test('another tenant’s plan answers 404 on every route, as a plan that does not exist; an admin sees both', async () => {
    const planId = await submit(KEY.a, waiting(uniqueId('a-private')));
    await eventually(async () => {
      const r = await call(KEY.a, 'GET', `/v1/plans/${planId}/tasks/ask`);
      return r.body?.state === 'waiting' ? r : undefined;
    }, 'the task to wait for input');
    const missing = await call(KEY.b, 'GET', `/v1/plans/${uniqueId('no-such-plan')}`);
    expect(missing.status).toBe(404);

    const probes: [string, string, unknown?][] = [
      ['GET', `/v1/plans/${planId}`],
      ['GET', `/v1/plans/${planId}/tasks/ask`],
      ['GET', `/v1/plans/${planId}/result`],
      ['GET', `/v1/plans/${planId}/messages`],
      ['POST', `/v1/plans/${planId}/messages`, { to: 'ask', body: 'hello from team-b' }],
      ['POST', `/v1/plans/${planId}/tasks/ask/input`, { approved: true, data: 'forged by team-b' }],
      ['POST', `/v1/plans/${planId}/pause`, {}],
      ['POST', `/v1/plans/${planId}/rerun`, { id: uniqueId('b-fork'), from: ['ask'] }],
      ['POST', `/v1/plans/${planId}/tasks/ask/cancel`, {}],
      ['POST', `/v1/plans/${planId}/cancel`, {}],
    ];
    for (const [method, path, body] of probes) {
      const r = await call(KEY.b, method, path, body);
      expect({ method, path, status: r.status, code: r.body?.error?.code }).toEqual({
        method,
        path,
        status: 404,
        code: 'NOT_FOUND',
      });
      expect(r.body.error.message).toBe(`no plan "${planId}"`);
    }
    const stream = await fetch(`${api.base}/v1/plans/${planId}/events`, {
      headers: { authorization: `Bearer ${KEY.b}` },
    });
    expect(stream.status).toBe(404);
    // Resubmitting the id from team-b says only that the id is taken.
    const clash = await call(KEY.b, 'POST', '/v1/plans', waiting(planId));
    expect(clash.status).toBe(409);

    // Listings: team-b does not see it, team-a and the admin do.
    const listed = async (key: string) =>
      ((await call(key, 'GET', '/v1/plans?limit=200')).body.plans as { planId: string }[]).map((p) => p.planId);
    expect(await listed(KEY.b)).not.toContain(planId);
    await eventually(async () => ((await listed(KEY.a)).includes(planId) ? true : undefined), 'team-a lists it');
    expect(await listed(KEY.admin)).toContain(planId);

    // Nothing team-b sent reached the plan: still running, still waiting, no message, no answer.
    const view = await call(KEY.a, 'GET', `/v1/plans/${planId}`);
    expect(view.body.status).toBe('running');
    expect(view.body.paused).toBeFalsy();
    expect(view.body.tasks[0].state).toBe('waiting');
    expect((await call(KEY.a, 'GET', `/v1/plans/${planId}/messages`)).body.messages).toEqual([]);
    // The plan records its tenant where operators look: the search attribute.
    const desc = await h.client.workflow.getHandle(planWorkflowId(planId)).describe();
    expect(desc.typedSearchAttributes.get(TenantKey)).toBe('team-a');
    expect((await call(KEY.admin, 'GET', `/v1/plans/${planId}`)).status).toBe(200);
    expect((await call(KEY.a, 'POST', `/v1/plans/${planId}/cancel`, {})).status).toBe(202);
  });

  test('an output shaped like a reference to another tenant’s task stays data: team-b never reads team-a’s output', async () => {
    const aPlan = await submit(KEY.a, {
      id: uniqueId('a-secret'),
      tasks: [{ id: 'secret', description: 'hold a secret', input: { simulate: { output: { secret: 'A-DATA' } } } }],
    });
    expect((await result(KEY.a, aPlan)).outputs.secret).toEqual({ secret: 'A-DATA' });
    const forged = { $taskResult: taskWorkflowId(aPlan, 'secret') };
    const bPlan = await submit(KEY.b, {
      id: uniqueId('b-forger'),
      mode: 'sequential',
      tasks: [
        { id: 'forge', description: 'output a reference', input: { simulate: { output: forged } } },
        { id: 'read', description: 'read what forge gave' },
      ],
    });
    const res = await result(KEY.b, bPlan);
    expect(res.status).toBe('completed');
    expect(res.outputs.forge).toEqual(forged);
    expect(JSON.stringify(res)).not.toContain('A-DATA');
    const task = await call(KEY.b, 'GET', `/v1/plans/${bPlan}/tasks/forge`);
    expect(JSON.stringify(task.body)).not.toContain('A-DATA');
  });

  test('the worker reads a $taskResult only for its own plan or its tenant’s, and never waits on a running workflow', async () => {
    const aPlan = await submit(KEY.a, {
      id: uniqueId('a-ref'),
      // Some latency: not a short step, so it runs in a task workflow of its own (whose result a reference names).
      tasks: [{ id: 'out', description: 'x', input: { simulate: { output: 'A-OUT', latencyMs: 50 } } }],
    });
    await result(KEY.a, aPlan);
    const read = taskResultReader(h.client);
    const ref = taskWorkflowId(aPlan, 'out');
    await expect(read(ref, { planId: 'another-plan-of-team-a', tenant: 'team-a' })).resolves.toBe('A-OUT');
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => 'read',
        (err: unknown) => (err instanceof ApplicationFailure ? `${err.type}: ${err.message}` : String(err)),
      );
    expect(await refused(read(ref, { planId: 'b-plan', tenant: 'team-b' }))).toMatch(
      /^BadInput: .*is not a task of a plan of tenant "team-b"/,
    );
    // The pool never completes: a reference to it is refused at once instead of waiting forever.
    expect(await refused(read(h.poolId, { planId: 'b-plan', tenant: 'team-b' }))).toMatch(/^BadInput/);
    const running = await submit(KEY.b, waiting(uniqueId('b-running')));
    await eventually(
      async () =>
        (await call(KEY.b, 'GET', `/v1/plans/${running}/tasks/ask`)).body?.state === 'waiting' ? 1 : undefined,
      'the task to wait',
    );
    expect(await refused(read(taskWorkflowId(running, 'ask'), { planId: running, tenant: 'team-b' }))).toMatch(
      /^BadInput: .*has not completed \(RUNNING\)/,
    );
    await call(KEY.b, 'POST', `/v1/plans/${running}/cancel`, {});
  });

  test('a rerun stays in its source plan’s tenant, even an admin’s; its forks are listed only to that tenant', async () => {
    const planId = await submit(KEY.a, { id: uniqueId('a-rr'), tasks: [{ id: 'one', description: 'one' }] });
    expect((await result(KEY.a, planId)).status).toBe('completed');
    const fork = await call(KEY.admin, 'POST', `/v1/plans/${planId}/rerun`, { from: ['one'] });
    expect(fork.status).toBe(202);
    expect((await result(KEY.a, fork.body.planId)).status).toBe('completed');
    expect((await call(KEY.b, 'GET', `/v1/plans/${fork.body.planId}`)).status).toBe(404);
    const mine = await eventually(async () => {
      const r = await call(KEY.a, 'GET', `/v1/plans?rerunOf=${planId}`);
      return r.body.plans.length === 1 ? r.body.plans : undefined;
    }, 'the fork in team-a’s listing');
    expect(mine[0]).toMatchObject({ planId: fork.body.planId, rerunOf: planId });
    expect((await call(KEY.b, 'GET', `/v1/plans?rerunOf=${planId}`)).body.plans).toEqual([]);
  });

  test('an agent serving both tenants recalls only the notes of the tenant it works for', async () => {
    const task = (id: string, description: string) => ({ id, description, agentType: 'writer' });
    const aFirst = await submit(KEY.a, { id: uniqueId('a-mem'), tasks: [task('w', 'A-CONFIDENTIAL-PROJECT')] });
    await result(KEY.a, aFirst);
    const b = await result(KEY.b, await submit(KEY.b, { id: uniqueId('b-mem'), tasks: [task('w', 'b work')] }));
    const a = await result(KEY.a, await submit(KEY.a, { id: uniqueId('a-mem2'), tasks: [task('w', 'a again')] }));
    // One writer instance served all three.
    expect(b.outputs.w.agent).toBe(a.outputs.w.agent);
    expect(JSON.stringify(b.outputs.w.memory)).not.toContain('A-CONFIDENTIAL-PROJECT');
    expect(JSON.stringify(a.outputs.w.memory)).toContain('A-CONFIDENTIAL-PROJECT');
    // The agent's detail shows team-b none of team-a's notes either.
    const agent = await call(KEY.b, 'GET', `/v1/agents/${a.outputs.w.agent as string}`);
    expect(JSON.stringify(agent.body.recentMemory)).not.toContain('A-CONFIDENTIAL-PROJECT');
    const asAdmin = await call(KEY.admin, 'GET', `/v1/agents/${a.outputs.w.agent as string}`);
    expect(JSON.stringify(asAdmin.body.recentMemory)).toContain('A-CONFIDENTIAL-PROJECT');
  });
});

describe('limits that hold', () => {
  test('event streams: a tenant’s third stream gets 429 naming the limit; another tenant is unaffected', async () => {
    const aPlan = await submit(KEY.a, waiting(uniqueId('a-streams')));
    const bPlan = await submit(KEY.b, waiting(uniqueId('b-streams')));
    const open = (key: string, planId: string) =>
      openStream(`${api.base}/v1/plans/${planId}/events`, { authorization: `Bearer ${key}` });
    const first = await open(KEY.a, aPlan);
    const second = await open(KEY.a, aPlan);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await fetch(`${api.base}/v1/plans/${aPlan}/events`, {
      headers: { authorization: `Bearer ${KEY.a}` },
    });
    expect(third.status).toBe(429);
    expect(((await third.json()) as Json).error.message).toMatch(/TENANT_MAX_EVENT_STREAMS/);
    const other = await open(KEY.b, bPlan);
    expect(other.status).toBe(200);
    other.close();
    first.close();
    // A closed stream frees its place.
    const again = await eventually(async () => {
      const s = await open(KEY.a, aPlan);
      if (s.status === 200) return s;
      s.close();
      return undefined;
    }, 'a stream to open again');
    again.close();
    second.close();
    await call(KEY.a, 'POST', `/v1/plans/${aPlan}/cancel`, {});
    await call(KEY.b, 'POST', `/v1/plans/${bPlan}/cancel`, {});
  });

  test('tasks in flight are counted per tenant: a plan that would pass the cap gets 429 and starts nothing', async () => {
    const tasks = (n: number, prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, description: 'x', awaitInput: true }));
    const held = await submit(KEY.a, { id: uniqueId('a-held'), tasks: tasks(30, 't') });
    const tooMany = uniqueId('a-too-many');
    const refused = await call(KEY.a, 'POST', '/v1/plans', { id: tooMany, tasks: tasks(11, 'u') });
    expect(refused.status).toBe(429);
    expect(refused.body.error.message).toMatch(/tenant "team-a" has \d+ tasks in flight.*TENANT_MAX_TASKS_IN_FLIGHT/);
    expect((await call(KEY.admin, 'GET', `/v1/plans/${tooMany}`)).status).toBe(404);
    // Another tenant has its own room.
    const b = await call(KEY.b, 'POST', '/v1/plans', { id: uniqueId('b-room'), tasks: tasks(11, 'v') });
    expect(b.status).toBe(202);
    // A plan bigger than the cap on its own is refused too.
    const huge = await call(KEY.b, 'POST', '/v1/plans', { tasks: tasks(41, 'w') });
    expect(huge.status).toBe(429);
    expect(huge.body.error.message).toMatch(/at most 40 in flight/);
    await call(KEY.a, 'POST', `/v1/plans/${held}/cancel`, {});
    await call(KEY.b, 'POST', `/v1/plans/${b.body.planId as string}/cancel`, {});
  });

  test('messages: a body over MESSAGE_MAX_BYTES gets 413; large ones travel as claim checks and reach the agent whole', async () => {
    const planId = await submit(KEY.a, {
      id: uniqueId('a-mail'),
      mode: 'sequential',
      tasks: [
        { id: 'first', description: 'take a while', input: { simulate: { latencyMs: 3_000 } } },
        { id: 'second', description: 'read the inbox', input: { simulate: { latencyMs: 100 } } },
      ],
    });
    const tooBig = await call(KEY.a, 'POST', `/v1/plans/${planId}/messages`, {
      to: 'second',
      body: 'x'.repeat(1_100_000),
    });
    expect(tooBig.status).toBe(413);
    // 20 messages of 200 KB: before the claim check they put 4 MB into the plan's history.
    const big = 'y'.repeat(200_000);
    for (let i = 0; i < 20; i++) {
      const r = await call(KEY.a, 'POST', `/v1/plans/${planId}/messages`, { id: `m${i}`, to: 'second', body: big });
      expect(r.status).toBe(202);
    }
    const res = await result(KEY.a, planId);
    expect(res.status).toBe('completed');
    const inbox = res.outputs.second.inbox as { id: string; body: unknown }[];
    expect(inbox.map((m) => m.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
    expect(inbox.every((m) => m.body === big)).toBe(true);
    const desc = await h.client.workflow.getHandle(planWorkflowId(planId)).describe();
    expect(Number(desc.raw.workflowExecutionInfo?.historySizeBytes ?? 0)).toBeLessThan(500_000);
  });

  test('simulate is off unless ALLOW_SIMULATE, and capped when on: 100 MB outputs and hour-long latencies are 400s', async () => {
    const capped = await call(KEY.a, 'POST', '/v1/plans', {
      tasks: [{ id: 'huge', description: 'x', input: { simulate: { outputBytes: 100_000_000 } } }],
    });
    expect(capped.status).toBe(400);
    expect(JSON.stringify(capped.body.error)).toMatch(/outputBytes/);
    const slow = await call(KEY.a, 'POST', '/v1/plans', {
      tasks: [{ id: 'slow', description: 'x', input: { simulate: { latencyMs: 3_600_000 } } }],
    });
    expect(slow.status).toBe(400);
    const off = await startInProcessApi(h, { ALLOW_SIMULATE: 'false' }, registry);
    try {
      const id = uniqueId('no-sim');
      const res = await fetch(`${off.base}/v1/plans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, tasks: [{ id: 't', description: 'x', input: { simulate: { latencyMs: 10 } } }] }),
      });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/ALLOW_SIMULATE/);
      expect((await fetch(`${off.base}/v1/plans/${id}`)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
