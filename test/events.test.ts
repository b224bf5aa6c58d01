import type { Client } from '@temporalio/client';
import { planWorkflowId, taskWorkflowId } from '../src/shared/ids';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { startFakeOpenAI, type FakeOpenAI, type FakeReply } from './support/fake-openai';
import { startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';
import { openStream, type SseConnection, type SseEvent } from './support/sse-client';

jest.setTimeout(120_000);

const KEY_ENV = 'FAKE_OPENAI_KEY';
const READER = 'reader-key-0123456789abcdefghij';
/** Quick polls and keep-alives so the tests do not wait; the behaviour is the same at the defaults. */
const EVENTS_ENV = { EVENTS_POLL_MS: '100', EVENTS_KEEPALIVE_SECONDS: '1' };
const slow = (ms: number) => ({ simulate: { latencyMs: ms } });

let fake: FakeOpenAI;
let reply: () => FakeReply = () => ({ content: 'ok' });
let h: Harness;
let api: { base: string; close(): Promise<void> };

beforeAll(async () => {
  fake = await startFakeOpenAI(() => reply());
  h = await startHarness({
    registry: Registry.parse({
      agentTypes: [
        ...DEFAULT_REGISTRY.agentTypes,
        {
          name: 'writer',
          capabilities: ['writing'],
          runtime: {
            provider: 'openai',
            model: 'gpt-test',
            baseUrl: fake.baseUrl,
            apiKeyEnv: KEY_ENV,
            pricing: { inputPerMillion: 1_000, outputPerMillion: 2_000 },
          },
        },
      ],
    }),
    env: { [KEY_ENV]: 'sk-test' },
    // Streamed text reaches the server (and the stream) every 200 ms.
    config: { MODEL_STREAM_INTERVAL_MS: 200 },
  });
  api = await startInProcessApi(h, EVENTS_ENV);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
  await fake?.close();
});

const planEvents = (planId: string, headers: Record<string, string> = {}, query = '') =>
  openStream(`${api.base}/v1/plans/${planId}/events${query}`, headers);
const ofTask = (events: SseEvent[], taskId: string) =>
  events.filter((e) => e.event === 'task' && e.data.taskId === taskId).map((e) => e.data.state as string);

/** `want` appears in `seen` in this order (other states may come between). */
function inOrder(seen: string[], want: string[]): boolean {
  let i = 0;
  for (const s of seen) if (s === want[i]) i++;
  return i === want.length;
}

/**
 * The events a workflow's commands and the outside world wrote, by type: its history without the workflow tasks'
 * own bookkeeping (scheduled, started, completed, timed out, failed), whose number depends on how events happened to
 * be batched into workflow tasks on a loaded machine, not on who watched.
 */
async function historyEvents(client: Client, workflowId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []) {
    const type = Object.keys(e).find((k) => k.endsWith('EventAttributes') && e[k as keyof typeof e]) ?? '?';
    if (!type.startsWith('workflowTask')) out[type] = (out[type] ?? 0) + 1;
  }
  return out;
}

describe('GET /v1/plans/:planId/events', () => {
  test('a snapshot, every task through its lifecycle in order, plan progress and usage-free end; keep-alive comments; ids increase', async () => {
    const id = uniqueId('ev-life');
    await h.start({
      id,
      mode: 'sequential',
      tasks: [
        { id: 'a', description: 'first', input: slow(700) },
        { id: 'b', description: 'second', input: slow(700) },
      ],
    });
    const s = await planEvents(id);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    await s.waitFor((e) => e.event === 'end', 'end');
    await s.ended; // the server closes the stream after `end`
    const { events } = s;
    expect(events[0]?.event).toBe('snapshot');
    expect(events[0]?.data).toMatchObject({ planId: id, tasks: [{ id: 'a' }, { id: 'b' }] });
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed' } });
    const lifecycle = ['assigned', 'reasoning', 'executing', 'validating', 'completed'];
    for (const t of ['a', 'b']) {
      // Every state after the one the snapshot showed (a busy machine may open the stream after `a` began).
      const shown = (events[0]?.data.tasks as { id: string; state: string }[]).find((x) => x.id === t)?.state ?? '';
      const want = lifecycle.slice(lifecycle.indexOf(shown) + 1);
      expect(want).toContain('completed');
      expect(inOrder(ofTask(events, t), want)).toBe(true);
    }
    // b starts after a completed.
    const aDone = events.findIndex((e) => e.event === 'task' && e.data.taskId === 'a' && e.data.state === 'completed');
    const bStart = events.findIndex((e) => e.event === 'task' && e.data.taskId === 'b' && e.data.state === 'reasoning');
    expect(aDone).toBeGreaterThan(0);
    expect(bStart).toBeGreaterThan(aDone);
    const step = events.find((e) => e.event === 'task' && e.data.state === 'executing');
    expect(step?.data).toMatchObject({
      taskId: expect.any(String),
      previousState: 'reasoning',
      agentType: 'generalist',
    });
    expect(step?.data.agentId).toEqual(expect.any(String));
    const plan = events.filter((e) => e.event === 'plan');
    expect(plan.at(-1)?.data).toMatchObject({ status: 'completed', progress: { total: 2, completed: 2 } });
    const ids = events.map((e) => Number(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1] as number);
    expect(s.comments).toContain('keep-alive');
  });

  test('an agent message shows as `message`; a human-input task as `input`, opened then answered', async () => {
    const id = uniqueId('ev-msg');
    await h.start({
      id,
      mode: 'dag',
      tasks: [
        // The message goes out once the stream is open: after `first`.
        { id: 'first', description: 'x', input: slow(1_000) },
        {
          id: 'talker',
          description: 'says hello',
          dependsOn: ['first'],
          input: { simulate: { send: [{ to: 'gate', body: { hello: 'there' } }] } },
        },
        { id: 'gate', description: 'ship it?', dependsOn: ['talker'], requiresApproval: true },
      ],
    });
    const s = await planEvents(id);
    expect((await s.waitFor(() => true, 'snapshot')).data.messages).toEqual([]);
    const message = await s.waitFor((e) => e.event === 'message', 'message');
    expect(message.data).toMatchObject({ from: expect.any(String), to: 'gate', body: { hello: 'there' } });
    expect(message.data.deliveries).toEqual(expect.any(Array));
    const input = await s.waitFor((e) => e.event === 'input', 'input request');
    expect(input.data).toMatchObject({ taskId: 'gate', kind: 'approval', description: 'ship it?', onTimeout: 'fail' });
    const res = await fetch(`${api.base}/v1/plans/${id}/tasks/gate/input`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approved: true }),
    });
    expect(res.status).toBe(200);
    const answered = await s.waitFor((e) => e.event === 'input' && e.data.answered === true, 'input answered');
    expect(answered.data.taskId).toBe('gate');
    await s.waitFor((e) => e.event === 'end', 'end');
    expect(ofTask(s.events, 'gate')).toContain('completed');
  });

  test('Last-Event-ID resumes after that event without repeating any; an unknown id gets a fresh snapshot; after the end, 204', async () => {
    const id = uniqueId('ev-resume');
    // `a` waits for a human: nothing after it can be in the first stream's snapshot.
    await h.start({
      id,
      mode: 'sequential',
      tasks: [
        { id: 'a', description: 'x', requiresApproval: true },
        { id: 'b', description: 'y', input: slow(600) },
      ],
    });
    const first = await planEvents(id);
    await first.waitFor(
      (e) => e.event === 'input' || (e.event === 'snapshot' && e.data.tasks[0].state === 'waiting'),
      'a waiting',
    );
    const approve = await fetch(`${api.base}/v1/plans/${id}/tasks/a/input`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approved: true }),
    });
    expect(approve.status).toBe(200);
    const cut = await first.waitFor(
      (e) => e.event === 'task' && e.data.taskId === 'a' && e.data.state === 'completed',
      'a completed',
    );
    first.close();
    const seen = first.events.filter((e) => Number(e.id) <= Number(cut.id));
    const again = await planEvents(id, { 'Last-Event-ID': cut.id });
    await again.waitFor((e) => e.event === 'end', 'end');
    expect(again.events[0]?.event).not.toBe('snapshot');
    for (const e of again.events) expect(Number(e.id)).toBeGreaterThan(Number(cut.id));
    // Together they tell every step once: all of b's, after a completed.
    const all = [...seen, ...again.events];
    expect(inOrder(ofTask(all, 'b'), ['assigned', 'reasoning', 'executing', 'validating', 'completed'])).toBe(true);
    for (const t of ['a', 'b']) expect(ofTask(all, t).filter((x) => x === 'completed')).toHaveLength(1);
    const end = again.events.at(-1) as SseEvent;
    // An id this API never gave out: a snapshot first (then the end, the plan being closed).
    const fresh = await planEvents(id, {}, '?lastEventId=1');
    await fresh.ended;
    expect(fresh.events.map((e) => e.event)).toEqual(['snapshot', 'end']);
    // The client saw the end: 204, so EventSource stops reconnecting.
    const over = await planEvents(id, { 'Last-Event-ID': end.id });
    expect(over.status).toBe(204);
  });

  test('a streamed model reply arrives as `text` events with growing text; usage follows', async () => {
    const words = Array.from({ length: 24 }, (_, i) => `word${i}`);
    reply = () => ({ content: words.join(' '), chunkDelayMs: 100, usage: { prompt: 50, completion: 24 } });
    const before = fake.requests.length;
    const id = uniqueId('ev-text');
    await h.start({ id, tasks: [{ id: 'essay', description: 'write', agentType: 'writer' }] });
    const s = await planEvents(id);
    await s.waitFor((e) => e.event === 'end', 'end', 60_000);
    const texts = s.events.filter((e) => e.event === 'text' && e.data.taskId === 'essay');
    expect(texts.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < texts.length; i++) {
      const prev = texts[i - 1]?.data;
      const next = texts[i]?.data;
      if (prev.step === next.step) {
        expect(next.text.length).toBeGreaterThan(prev.text.length);
        expect(next.text.startsWith(prev.text)).toBe(true);
      }
    }
    expect(texts.some((t) => t.data.step === 'reason' || t.data.step === 'execute')).toBe(true);
    expect(words.join(' ').startsWith(texts[0]?.data.text)).toBe(true);
    const usage = s.events.filter((e) => e.event === 'usage').at(-1);
    expect(usage?.data.total).toMatchObject({ inputTokens: 100, outputTokens: 48, modelCalls: 2 });
    expect(usage?.data.byTask.essay).toMatchObject({ modelCalls: 2 });
    // The worker streamed: the provider was asked with stream: true.
    expect(fake.requests.slice(before).every((r) => r.stream === true)).toBe(true);
  });

  test('an unknown plan is a 404 in the JSON envelope, not a stream', async () => {
    const res = await fetch(`${api.base}/v1/plans/${uniqueId('nope')}/events`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  test('20 subscribers add no history events: equal plans have equal histories with 0 and with 20 watching', async () => {
    const run = async (subscribers: number) => {
      const id = uniqueId(`ev-hist${subscribers}`);
      await h.start({ id, mode: 'sequential', tasks: [{ id: 'only', description: 'x', input: slow(1_500) }] });
      const streams: SseConnection[] = await Promise.all(Array.from({ length: subscribers }, () => planEvents(id)));
      await h.client.workflow.getHandle(planWorkflowId(id)).result();
      await Promise.all(streams.map((s) => s.waitFor((e) => e.event === 'end', 'end')));
      if (subscribers > 0) expect(streams.every((s) => s.events.some((e) => e.event === 'task'))).toBe(true);
      return {
        plan: await historyEvents(h.client, planWorkflowId(id)),
        task: await historyEvents(h.client, taskWorkflowId(id, 'only')),
      };
    };
    const quiet = await run(0);
    const watched = await run(20);
    for (const events of [quiet.plan, quiet.task])
      expect(events).toMatchObject({
        workflowExecutionStartedEventAttributes: 1,
        workflowExecutionCompletedEventAttributes: 1,
      });
    expect(Object.keys(quiet.plan)).not.toContain('?');
    expect(watched.task).toEqual(quiet.task);
    expect(watched.plan).toEqual(quiet.plan);
  });
});

describe('GET /v1/agents/events', () => {
  test('a pool snapshot, then instances changing state and the counts', async () => {
    const s = await openStream(`${api.base}/v1/agents/events`);
    expect(s.status).toBe(200);
    const snap = await s.waitFor(() => true, 'snapshot');
    expect(snap.event).toBe('snapshot');
    expect(snap.data).toMatchObject({ maxAgents: 100, agents: expect.any(Array) });
    const id = uniqueId('ev-pool');
    await h.start({ id, tasks: [{ id: 'p', description: 'x', input: slow(1_500) }] });
    const busy = await s.waitFor((e) => e.event === 'agent' && e.data.planId === id, 'an agent of the plan');
    expect(busy.data).toMatchObject({ agentId: expect.any(String), type: 'generalist', taskId: 'p' });
    await s.waitFor((e) => e.event === 'pool' && e.data.busy >= 1, 'pool busy');
    await h.client.workflow.getHandle(planWorkflowId(id)).result();
    await s.waitFor(
      (e) => e.event === 'agent' && e.data.agentId === busy.data.agentId && e.data.state === 'idle',
      'the agent idle again',
    );
    s.close();
  });
});

describe('event streams behind API keys', () => {
  test('?access_token= is accepted on an event stream, not on other routes; the read scope is enough', async () => {
    const keyed = await startInProcessApi(h, {
      ...EVENTS_ENV,
      API_KEYS: JSON.stringify([{ name: 'reader', key: READER, scopes: ['read'] }]),
    });
    try {
      const s = await openStream(`${keyed.base}/v1/agents/events?access_token=${READER}`);
      expect(s.status).toBe(200);
      expect((await s.waitFor(() => true, 'snapshot')).event).toBe('snapshot');
      s.close();
      expect((await fetch(`${keyed.base}/v1/agents/events`)).status).toBe(401);
      expect((await fetch(`${keyed.base}/v1/agents/events?access_token=wrong-key-0123456789abcdef`)).status).toBe(401);
      expect((await fetch(`${keyed.base}/v1/agents?access_token=${READER}`)).status).toBe(401);
      const header = await openStream(`${keyed.base}/v1/agents/events`, { authorization: `Bearer ${READER}` });
      expect(header.status).toBe(200);
      header.close();
    } finally {
      await keyed.close();
    }
  });
});
