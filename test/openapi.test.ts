import { readdirSync, readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { ServiceError } from '@temporalio/client';
import { silentLogger } from '../src/observability/logger';
import { errorHandler } from '../src/api/errors';
import { renderApiDocs } from '../src/api/api-docs';
import { buildOpenApiDocument } from '../src/api/openapi';
import { openApiPathOf } from '../src/api/route-spec';
import { ROUTE_LIST, ROUTES, scopeOf, type OperationId } from '../src/api/routes';
import { startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const doc = buildOpenApiDocument() as Json;

/** Every `$ref` in the document, with where it is. */
function refs(node: unknown, at = '#'): { at: string; ref: string }[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : refs(v, `${at}/${k}`),
  );
}

function resolve(pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined;
  return pointer
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), doc);
}

describe('the OpenAPI document', () => {
  test('is a valid OpenAPI 3.1 document whose every reference resolves', async () => {
    const result = await validate(structuredClone(doc));
    expect(result).toMatchObject({ valid: true });
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(50);
    expect(all.filter(({ ref }) => resolve(ref) === undefined)).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/\$defs|__shared|__schema/);
  });

  test('covers every route with its scope, and every error it can answer', () => {
    const ops = Object.entries(doc.paths as Record<string, Record<string, Json>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => `${method.toUpperCase()} ${path} ${op['x-scope']}`),
    );
    expect(ops).toHaveLength(ROUTE_LIST.length);
    expect(ops.sort()).toEqual(
      ROUTE_LIST.map((r) => `${r.method.toUpperCase()} ${openApiPathOf(r.path)} ${r.scope}`).sort(),
    );
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const op of Object.values(methods)) {
        const statuses = Object.keys(op.responses);
        expect({ path, has429: statuses.includes('429') }).toEqual({ path, has429: true });
        if (op['x-scope'] !== 'public')
          expect({ path, statuses }).toMatchObject({ path, statuses: expect.arrayContaining(['401', '403']) });
      }
    }
    // The issue's findings: wait=61 is a documented 400, pause/resume of an unknown plan a documented 404.
    expect(Object.keys(doc.paths['/v1/plans/{planId}/result'].get.responses)).toContain('400');
    expect(Object.keys(doc.paths['/v1/plans/{planId}/pause'].post.responses)).toContain('404');
    expect(Object.keys(doc.paths['/v1/plans/{planId}/resume'].post.responses)).toContain('404');
  });

  test("a plan the document calls valid is one the API's own rules take: a task needs a description or an input", () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const plan = ajv.compile({ $ref: 'doc#/components/schemas/Plan' });
    const withTask = (task: object) => ({ tasks: [{ id: 't', ...task }] });
    expect(plan(withTask({ description: 'd' }))).toBe(true);
    expect(plan(withTask({ input: { x: 1 } }))).toBe(true);
    expect(plan(withTask({ capabilities: ['general'] }))).toBe(false); // the API answers 400: the document says so
    expect(plan({ tasks: [{ id: 'lead', description: 'd', subtasks: [{ id: 'sub' }] }] })).toBe(false);
    for (const file of readdirSync(join(__dirname, '..', 'examples')).filter((f) => f.endsWith('.json')))
      expect([file, plan(JSON.parse(readFileSync(join(__dirname, '..', 'examples', file), 'utf8')))]).toEqual([
        file,
        true,
      ]);
  });

  test('asks for a key exactly when the API has keys configured', () => {
    const open = buildOpenApiDocument({ keyed: false }) as Json;
    expect(open.security).toBeUndefined();
    expect(open.components.securitySchemes).toBeUndefined();
    const secured = Object.values(open.paths as Record<string, Record<string, Json>>).flatMap((methods) =>
      Object.values(methods).filter((op) => op.security !== undefined),
    );
    expect(secured).toEqual([]);
    expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    expect(doc.paths['/readyz'].get.security).toEqual([]);
  });

  test('the route table gives the scope of a request, for auth', () => {
    expect(scopeOf('GET', '/healthz')).toBe('public');
    expect(scopeOf('GET', '/v1/plans/p1/tasks/t1')).toBe('read');
    expect(scopeOf('HEAD', '/v1/plans')).toBe('read');
    expect(scopeOf('POST', '/v1/plans')).toBe('submit');
    expect(scopeOf('POST', '/v1/plans/p1/tasks/t1/input')).toBe('submit');
    expect(scopeOf('POST', '/v1/plans/p1/pause')).toBe('operate');
    // Schedules: starting plans (create, trigger) and deleting are submit; pause and unpause operate, as for a plan.
    expect(scopeOf('POST', '/v1/schedules')).toBe('submit');
    expect(scopeOf('GET', '/v1/schedules/s1')).toBe('read');
    expect(scopeOf('POST', '/v1/schedules/s1/trigger')).toBe('submit');
    expect(scopeOf('DELETE', '/v1/schedules/s1')).toBe('submit');
    expect(scopeOf('POST', '/v1/schedules/s1/pause')).toBe('operate');
    expect(scopeOf('POST', '/v1/schedules/s1/unpause')).toBe('operate');
    expect(scopeOf('PUT', '/v1/agent-types/x')).toBe('admin');
    expect(scopeOf('DELETE', '/v1/agents/a1')).toBe('admin');
    expect(scopeOf('PATCH', '/v1/plans')).toBeUndefined();
    expect(scopeOf('GET', '/v1/nothing')).toBeUndefined();
  });

  test('docs/api.md is generated from it (run `npm run docs:api` after changing a route)', () => {
    const file = readFileSync(join(__dirname, '..', 'docs', 'api.md'), 'utf8');
    expect(file).toBe(renderApiDocs(doc));
    for (const route of ROUTE_LIST)
      expect(file).toContain(`### ${route.method.toUpperCase()} ${openApiPathOf(route.path)}`);
  });
});

test('"no poller seen" is 503 NOT_READY, a query cut off by the deadline 503 TEMPORAL_UNAVAILABLE (both were 500)', () => {
  const cause = Object.assign(
    new Error('9 FAILED_PRECONDITION: no poller seen for task queue recently, worker may be down'),
    {
      code: 9,
    },
  );
  const err = new ServiceError('Failed to query Workflow', { cause });
  const sent: { status?: number; body?: Json } = {};
  const res = {
    status(s: number) {
      sent.status = s;
      return this;
    },
    json(b: Json) {
      sent.body = b;
      return this;
    },
  };
  errorHandler(silentLogger)(err, {} as never, res as never, () => undefined);
  expect(sent).toEqual({
    status: 503,
    body: { error: { code: 'NOT_READY', message: expect.stringMatching(/no worker/) } },
  });
  // A query cut off by the API's own deadline can end CANCELLED rather than DEADLINE_EXCEEDED (seen under load).
  const cancelled = Object.assign(new Error('1 CANCELLED: Call cancelled'), { code: 1 });
  errorHandler(silentLogger)(
    new ServiceError('Failed to query Workflow', { cause: cancelled }),
    {} as never,
    res as never,
    () => undefined,
  );
  expect(sent).toMatchObject({ status: 503, body: { error: { code: 'TEMPORAL_UNAVAILABLE' } } });
});

describe('the API answers as its document says', () => {
  let h: Harness;
  let api: { base: string; close(): Promise<void> };
  beforeAll(async () => {
    h = await startHarness();
    api = await startInProcessApi(h);
  });
  afterAll(async () => {
    await api?.close();
    await h?.close();
  });

  async function call(method: string, path: string, body?: unknown) {
    const res = await fetch(`${api.base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : undefined };
  }

  /** The answer is one the operation documents, its body as the schema of that status says. */
  function conforms(id: OperationId, reply: { status: number; body: Json }): void {
    const route = ROUTES[id];
    const path = openApiPathOf(route.path);
    const documented = doc.paths[path][route.method].responses[String(reply.status)];
    expect({ id, status: reply.status, documented: documented !== undefined }).toEqual({
      id,
      status: reply.status,
      documented: true,
    });
    const answer = (route.answers as Record<number, { schema?: import('zod').ZodType }>)[reply.status];
    if (answer && !answer.schema) {
      expect(reply.body).toBeUndefined();
    } else if (answer?.schema) {
      const parsed = answer.schema.safeParse(reply.body);
      expect(parsed.success ? 'ok' : JSON.stringify(parsed.error.issues).slice(0, 500)).toBe('ok');
    } else {
      const envelope = resolve(documented.content['application/json'].schema.$ref) as Json;
      expect(envelope.properties.error.properties.code.enum).toContain(reply.body.error.code);
      expect(Object.keys(reply.body)).toEqual(['error']);
    }
  }

  test('a plan no worker polls for answers 503, not 500', async () => {
    const planId = uniqueId('orphan');
    await h.client.workflow.start('planWorkflow', {
      workflowId: `plan-${planId}`,
      taskQueue: uniqueId('no-worker'),
      args: [{ plan: { id: planId, tasks: [] } }],
    });
    // Never polled: the query runs out of time (TEMPORAL_UNAVAILABLE); polled once, then no worker: Temporal says
    // "no poller seen" (NOT_READY, below). Both are the documented 503.
    const status = await call('GET', `/v1/plans/${planId}`);
    expect(status.status).toBe(503);
    conforms('getPlan', status);
    conforms('listMessages', await call('GET', `/v1/plans/${planId}/messages`));
    await h.client.workflow.getHandle(`plan-${planId}`).terminate('test over');
  });

  test('405 with Allow for a method a known path does not have; OPTIONS lists the methods; unknown paths 404', async () => {
    const del = await call('DELETE', '/v1/plans');
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('POST, GET, HEAD, OPTIONS');
    expect(del.body.error.code).toBe('METHOD_NOT_ALLOWED');
    const patch = await call('PATCH', '/v1/plans/any-id/pause');
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('POST, OPTIONS');
    const options = await call('OPTIONS', '/v1/agent-types/x');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, PUT, DELETE, HEAD, OPTIONS');
    expect((await call('GET', '/v1/plans/a/b/c/d')).status).toBe(404);
  });

  test('the answers the fuzzer found undocumented are documented, and every answer matches its schema', async () => {
    const planId = uniqueId('contract');
    conforms('pausePlan', await call('POST', `/v1/plans/${uniqueId('nope')}/pause`));
    conforms('resumePlan', await call('POST', `/v1/plans/${uniqueId('nope')}/resume`));
    conforms('getPlan', await call('GET', '/v1/plans/not%20an%20id'));
    const submitted = await call('POST', '/v1/plans', {
      id: planId,
      tasks: [
        { id: 'boss', description: 'lead', subtasks: [{ id: 'helper', description: 'help' }] },
        { id: 'ask', description: 'ask first', requiresApproval: true, dependsOn: ['boss'] },
      ],
    });
    expect(submitted.status).toBe(202);
    conforms('submitPlan', submitted);
    const tooLong = await call('GET', `/v1/plans/${planId}/result?wait=61`);
    expect(tooLong.status).toBe(400);
    conforms('getResult', tooLong);
    conforms('getResult', await call('GET', `/v1/plans/${planId}/result?wait=abc`));
    conforms('getResult', await call('GET', `/v1/plans/${planId}/result`));
    // Wait until the approval task waits, then answer it.
    let state = '';
    for (let i = 0; i < 200 && state !== 'waiting'; i++) {
      const plan = await call('GET', `/v1/plans/${planId}`);
      conforms('getPlan', plan);
      state = plan.body.tasks.find((t: Json) => t.id === 'ask')?.state;
      if (state !== 'waiting') await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe('waiting');
    conforms('getTask', await call('GET', `/v1/plans/${planId}/tasks/helper`));
    // A declared task at any depth: its description and input as the plan has them (the dashboard's rerun form).
    const spec = await call('GET', `/v1/plans/${planId}/tasks/helper/spec`);
    expect(spec.body).toEqual({ planId, taskId: 'helper', description: 'help' });
    conforms('getTaskSpec', spec);
    const undeclared = await call('GET', `/v1/plans/${planId}/tasks/nobody/spec`);
    expect(undeclared.status).toBe(404);
    conforms('getTaskSpec', undeclared);
    conforms('sendMessage', await call('POST', `/v1/plans/${planId}/messages`, { to: 'ask', body: { hi: 1 } }));
    conforms('listMessages', await call('GET', `/v1/plans/${planId}/messages`));
    conforms('taskInput', await call('POST', `/v1/plans/${planId}/tasks/nobody/input`, { approved: true }));
    conforms('taskInput', await call('POST', `/v1/plans/${planId}/tasks/ask/input`, { approved: true }));
    const result = await call('GET', `/v1/plans/${planId}/result?wait=30`);
    expect(result.status).toBe(200);
    conforms('getResult', result);
    // A JSON null is not an absent body (the fuzzer found `null` accepted as no reason).
    const nullBody = await call('POST', `/v1/plans/${planId}/cancel`, null);
    expect(nullBody.status).toBe(400);
    conforms('cancelPlan', nullBody);
    conforms('pausePlan', await call('POST', `/v1/plans/${planId}/pause`));
    conforms('cancelPlan', await call('POST', `/v1/plans/${planId}/cancel`, { reason: 'late' }));
    conforms('listPlans', await call('GET', '/v1/plans?limit=5'));
    conforms('listPlans', await call('GET', '/v1/plans?status=nope'));
    conforms('listAgentTypes', await call('GET', '/v1/agent-types'));
    conforms('getAgentType', await call('GET', '/v1/agent-types/generalist'));
    conforms('putAgentType', await call('PUT', '/v1/agent-types/contract-type', { capabilities: ['contract'] }));
    conforms('putAgentType', await call('PUT', '/v1/agent-types/contract-type', { capabilities: 7 }));
    conforms('deleteAgentType', await call('DELETE', '/v1/agent-types/contract-type'));
    const agents = await call('GET', '/v1/agents');
    conforms('listAgents', agents);
    conforms('getAgent', await call('GET', `/v1/agents/${agents.body.agents[0].id}`));
    conforms('terminateAgent', await call('DELETE', '/v1/agents/nobody'));
    conforms('health', await call('GET', '/healthz'));
    conforms('openapi', await call('GET', '/v1/openapi.json'));
    const metrics = await fetch(`${api.base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
  });
});
