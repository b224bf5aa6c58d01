import { Role, TaskState, type Message, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  JsonRpcTransportFactory,
  RestTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import type { EventStreams } from '../src/api/events/event-streams';
import { eventually, startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';

/**
 * The orchestrator as an A2A agent, driven by @a2a-js/sdk's own client (docs/a2a.md): the card, a message sent and
 * waited for, a stream to completion, a human-input round trip, cancel, list, and the keys' scopes; over both bindings.
 */

const ADMIN = 'a2a-admin-key-0123456789abcdef';
const READER = 'a2a-reader-key-0123456789abcdef';
const ACME = 'a2a-acme-key-0123456789abcdef';
const OTHER = 'a2a-other-key-0123456789abcdef';

let h: Harness;
let api: Awaited<ReturnType<typeof startInProcessApi>>;

beforeAll(async () => {
  h = await startHarness();
  api = await startInProcessApi(h, {
    // Steps heartbeat every second, so a cancelled step hears of it within a second or so.
    HEARTBEAT_TIMEOUT_SECONDS: '3',
    API_KEYS: JSON.stringify([
      { name: 'a2a-admin', key: ADMIN, scopes: ['*'] },
      { name: 'a2a-reader', key: READER, scopes: ['read'] },
      { name: 'a2a-acme', key: ACME, scopes: ['read', 'submit', 'operate'], tenant: 'acme' },
      { name: 'a2a-other', key: OTHER, scopes: ['read', 'submit', 'operate'], tenant: 'other' },
    ]),
  });
});

afterAll(async () => {
  await api?.close();
  await h?.close();
});

/** A fetch that presents `key` the way the card says (Authorization: Bearer). */
const keyed =
  (key: string): typeof fetch =>
  (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  };

/** The SDK's client for the orchestrator's card, on the binding asked for. */
function clientFor(binding: 'JSONRPC' | 'HTTP+JSON', key = ADMIN): Promise<Client> {
  const fetchImpl = keyed(key);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
      preferredTransports: [binding],
    }),
  );
  return factory.createFromUrl(api.base);
}

function message(parts: Message['parts'], extra: Partial<Message> = {}): Message {
  return {
    messageId: uniqueId('msg'),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
    ...extra,
  };
}
const text = (value: string): Message['parts'][number] => ({
  content: { $case: 'text', value },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});
const data = (value: unknown): Message['parts'][number] => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});
const send = (m: Message, returnImmediately = false) => ({
  tenant: '',
  message: m,
  configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
  metadata: undefined,
});

function asTask(result: Message | Task): Task {
  expect('status' in result).toBe(true);
  return result as Task;
}

test('the card: fetched without a key, a skill per capability, the key schemes, streaming, both bindings', async () => {
  const res = await fetch(`${api.base}/.well-known/agent-card.json`);
  expect(res.status).toBe(200);
  const client = await clientFor('JSONRPC');
  const card = await client.getAgentCard();
  expect(card.capabilities?.streaming).toBe(true);
  expect(card.skills.map((s) => s.id)).toEqual(expect.arrayContaining(['research', 'writing', 'general']));
  expect(card.skills.find((s) => s.id === 'research')?.tags).toEqual(['researcher']);
  expect(Object.keys(card.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
  expect(card.supportedInterfaces.map((i) => [i.protocolBinding, i.url])).toEqual([
    ['JSONRPC', `${api.base}/a2a/jsonrpc`],
    ['HTTP+JSON', `${api.base}/a2a/rest`],
  ]);
});

test('SendMessage for a skill runs a plan of one task and answers with its output (JSON-RPC)', async () => {
  const client = await clientFor('JSONRPC');
  const task = asTask(
    await client.sendMessage(
      send(message([text('find three facts about otters')], { metadata: { skill: 'research' } })),
    ),
  );
  expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  expect(task.contextId).toBe(task.id);
  const output = task.artifacts[0]?.parts[0]?.content;
  expect(output?.$case).toBe('data');
  expect(output?.value).toMatchObject({ agentType: 'researcher', description: 'find three facts about otters' });
  // The plan is the task: the plans API shows it too, submitted under the key's name.
  const plan = await fetch(`${api.base}/v1/plans/${task.id}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(plan.status).toBe(200);
  expect(await plan.json()).toMatchObject({ planId: task.id, status: 'completed' });
  // The same message again names the same plan: no second one starts.
  const again = asTask(await client.getTask({ tenant: '', id: task.id, historyLength: undefined }));
  expect(again.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
});

test('SendStreamingMessage streams the task from submitted to completed, with its artifact (HTTP+JSON)', async () => {
  const client = await clientFor('HTTP+JSON');
  const plan = {
    mode: 'sequential',
    tasks: [
      { id: 'draft', capabilities: ['writing'], input: { simulate: { latencyMs: 300 } } },
      { id: 'check', capabilities: ['review'], input: { simulate: { latencyMs: 300 } } },
    ],
  };
  const events: StreamResponse[] = [];
  for await (const e of client.sendMessageStream(send(message([data(plan)])))) events.push(e);
  const kinds = events.map((e) => e.payload?.$case);
  expect(kinds[0]).toBe('task');
  expect(kinds.at(-1)).toBe('statusUpdate');
  const states = events.flatMap((e) =>
    e.payload?.$case === 'statusUpdate'
      ? [e.payload.value.status?.state]
      : e.payload?.$case === 'task'
        ? [e.payload.value.status?.state]
        : [],
  );
  expect(states).toContain(TaskState.TASK_STATE_WORKING);
  expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED);
  const artifacts = events.flatMap((e) => (e.payload?.$case === 'artifactUpdate' ? [e.payload.value.artifact] : []));
  expect(artifacts.map((a) => a?.artifactId).sort()).toEqual(['check', 'draft']);
});

test('a task waiting for a human is input-required; the next message answers it', async () => {
  const client = await clientFor('JSONRPC');
  const plan = {
    tasks: [{ id: 'approve', description: 'which colour?', capabilities: ['writing'], awaitInput: true }],
  };
  const waiting = asTask(await client.sendMessage(send(message([data(plan)]))));
  expect(waiting.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
  const question = waiting.status?.message?.parts[0]?.content;
  expect(question?.$case === 'text' && question.value).toMatch(/"approve" waits for input: which colour\?/);
  const answered = asTask(
    await client.sendMessage(send(message([data({ colour: 'teal' })], { taskId: waiting.id, contextId: waiting.id }))),
  );
  expect(answered.id).toBe(waiting.id);
  expect(answered.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  expect(answered.artifacts[0]?.parts[0]?.content?.value).toMatchObject({ humanInput: { colour: 'teal' } });
});

test('CancelTask cancels the plan; ListTasks lists plans as tasks', async () => {
  const client = await clientFor('HTTP+JSON');
  const plan = { tasks: [{ id: 'slow', capabilities: ['coding'], input: { simulate: { latencyMs: 60_000 } } }] };
  const started = asTask(await client.sendMessage(send(message([data(plan)]), true)));
  expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING]).toContain(started.status?.state);
  let cancelled = await client.cancelTask({ tenant: '', id: started.id, metadata: undefined });
  // CancelTask answers once the plan ended, or after a while as it is then: follow it to its end in that case.
  if (cancelled.status?.state !== TaskState.TASK_STATE_CANCELED)
    for await (const e of client.resubscribeTask({ tenant: '', id: started.id }))
      if (e.payload?.$case === 'statusUpdate') cancelled = { ...cancelled, status: e.payload.value.status };
  expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  await expect(client.cancelTask({ tenant: '', id: started.id, metadata: undefined })).rejects.toThrow(/closed/);

  const listed = await client.listTasks({
    tenant: '',
    contextId: '',
    status: TaskState.TASK_STATE_CANCELED,
    pageSize: 100,
    pageToken: '',
    historyLength: undefined,
    statusTimestampAfter: undefined,
    includeArtifacts: false,
  });
  expect(listed.tasks.map((t) => t.id)).toContain(started.id);
  expect(listed.tasks.every((t) => t.status?.state === TaskState.TASK_STATE_CANCELED)).toBe(true);
  await expect(client.getTask({ tenant: '', id: 'a2a-no-such-plan', historyLength: undefined })).rejects.toThrow(
    /no plan/,
  );
});

test('the keys and scopes of the API: no key, 401; a read-only key may read but not send or cancel', async () => {
  const noKey = await fetch(`${api.base}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ListTasks', params: {} }),
  });
  expect(noKey.status).toBe(401);
  for (const binding of ['JSONRPC', 'HTTP+JSON'] as const) {
    const reader = await clientFor(binding, READER);
    await expect(reader.sendMessage(send(message([text('hi')], { metadata: { skill: 'general' } })))).rejects.toThrow(
      /403|lacks the "submit" scope/,
    );
    const listed = await reader.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 5,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    });
    expect(listed.tasks.length).toBeGreaterThan(0);
  }
  // Paths of the SDK's router the API does not serve (tenant-prefixed, push notifications) are the API's 404.
  const tenantPath = await fetch(`${api.base}/a2a/rest/acme/tasks`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(tenantPath.status).toBe(404);
});

test('a client that drops its stream stops following the plan', async () => {
  const client = await clientFor('HTTP+JSON');
  const streams = api.app.locals.eventStreams as EventStreams;
  const plan = { tasks: [{ id: 'long', capabilities: ['coding'], input: { simulate: { latencyMs: 60_000 } } }] };
  const dropped = new AbortController();
  let taskId = '';
  await expect(
    (async () => {
      for await (const e of client.sendMessageStream(send(message([data(plan)])), { signal: dropped.signal })) {
        if (e.payload?.$case === 'task') taskId = e.payload.value.id;
        expect(streams.stats().subscribers).toBeGreaterThan(0);
        dropped.abort();
      }
    })(),
  ).rejects.toThrow();
  expect(taskId).not.toBe('');
  await eventually(async () => (streams.stats().subscribers === 0 ? true : undefined), 'the follower to stop');
  await client.cancelTask({ tenant: '', id: taskId, metadata: undefined });
});

test('bodies up to the API’s limit (a plan bigger than the SDK’s 100 kB), and JSON-RPC’s parse error', async () => {
  const client = await clientFor('HTTP+JSON');
  const plan = { tasks: [{ id: 'big', capabilities: ['general'], input: { blob: 'x'.repeat(150_000) } }] };
  const task = asTask(await client.sendMessage(send(message([data(plan)]))));
  expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  const res = await fetch(`${api.base}/a2a/jsonrpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
    body: '{"jsonrpc": "2.0", "method": ',
  });
  expect(await res.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
});

test('tenants: another tenant’s task is no task, and its list leaves it out', async () => {
  const acme = await clientFor('JSONRPC', ACME);
  const other = await clientFor('HTTP+JSON', OTHER);
  const plan = { tasks: [{ id: 'secret', capabilities: ['coding'], input: { simulate: { latencyMs: 60_000 } } }] };
  const task = asTask(await acme.sendMessage(send(message([data(plan)]), true)));
  const get = (c: Client) => c.getTask({ tenant: '', id: task.id, historyLength: undefined });
  expect((await get(acme)).id).toBe(task.id);
  await expect(get(other)).rejects.toThrow(/no plan/);
  await expect(other.cancelTask({ tenant: '', id: task.id, metadata: undefined })).rejects.toThrow(/no plan/);
  await expect(
    other.sendMessage(send(message([text('hello')], { taskId: task.id, contextId: task.id }))),
  ).rejects.toThrow(/no plan/);
  const list = (c: Client) =>
    c.listTasks({
      tenant: '',
      contextId: '',
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 100,
      pageToken: '',
      historyLength: undefined,
      statusTimestampAfter: undefined,
      includeArtifacts: false,
    });
  expect((await list(acme)).tasks.map((t) => t.id)).toContain(task.id);
  expect((await list(other)).tasks.map((t) => t.id)).not.toContain(task.id);
  const cancelled = await acme.cancelTask({ tenant: '', id: task.id, metadata: undefined });
  expect(cancelled.id).toBe(task.id);
});
