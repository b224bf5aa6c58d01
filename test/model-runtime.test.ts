import { claimCheckOf } from '../src/storage/blob-store';
import type { ChildProcess } from 'node:child_process';
import { freePort } from '../scripts/dev-server';
import type { WorkflowHandle } from '@temporalio/client';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { type AgentType } from '../src/shared/agent-type';
import type { PoolView } from '../src/shared/pool';
import { agentMessageSignal, planMessagesQuery, planStatusQuery, poolStatusQuery } from '../src/workflows/messages';
import { MCP_EVERYTHING, startMcpHttpServer } from './support/mcp-everything';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI, type FakeReply } from './support/fake-openai';
import { startInProcessApi, startHarness, type Harness } from './support/harness';

jest.setTimeout(90_000);

const KEY_ENV = 'FAKE_OPENAI_KEY';

function registryWith(...types: Partial<AgentType>[]): Registry {
  return Registry.parse({ agentTypes: [...DEFAULT_REGISTRY.agentTypes, ...types] });
}

function modelType(fake: FakeOpenAI, name: string, runtime: Record<string, unknown> = {}): Partial<AgentType> {
  return {
    name,
    capabilities: [`${name}-work`],
    runtime: {
      provider: 'openai',
      model: 'gpt-test',
      baseUrl: fake.baseUrl,
      apiKeyEnv: KEY_ENV,
      pricing: { inputPerMillion: 1_000, outputPerMillion: 2_000 },
      ...runtime,
    } as AgentType['runtime'],
  };
}

/** The reason step sends no tools and asks for an approach; the loop's turns carry the tools. */
const isReason = (req: ChatRequest) => JSON.stringify(req.messages).includes('how will you approach this task');
const hasToolResult = (req: ChatRequest) => req.messages.some((m) => m.role === 'tool');

async function activityTypes(handle: WorkflowHandle): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((n): n is string => typeof n === 'string' && n !== 'signalPool');
}

describe('model runtime (Vercel AI SDK against a local OpenAI-compatible server)', () => {
  /** What the worker's deps logged as warnings (a provider limit that binds). */
  const warnings: string[] = [];
  let fake: FakeOpenAI;
  let reply: (req: ChatRequest, i: number) => FakeReply | Promise<FakeReply>;
  let h: Harness;

  beforeAll(async () => {
    fake = await startFakeOpenAI((req, i) => reply(req, i));
    h = await startHarness({
      registry: registryWith(
        modelType(fake, 'analyst', { tools: ['current_time'] }),
        modelType(fake, 'talker', { tools: ['send_message'], maxSteps: 3 }),
        modelType(fake, 'lead', { delegate: true, tools: [] }),
        // Ollama-style: no key at all.
        modelType(fake, 'local', { provider: 'openai-compatible', apiKeyEnv: undefined, model: 'llama3.2' }),
        modelType(fake, 'limited', { baseUrl: fake.baseUrl.replace('127.0.0.1', 'localhost') }),
      ),
      env: { [KEY_ENV]: 'sk-test' },
      // Limits are counted per provider and host: only the "limited" type's endpoint is held to one call at a time.
      config: {
        MODEL_PROVIDER_LIMITS: { [`openai@localhost:${new URL(fake.baseUrl).port}`]: { maxConcurrency: 1 } },
        log: { warn: (_details: unknown, message?: string) => void warnings.push(String(message)) },
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  test('the agent loop: one activity per model call and per tool call, usage counted per task, type and plan', async () => {
    const start = fake.requests.length;
    reply = (req) => {
      if (isReason(req))
        return { content: 'I will check the time, then answer.', usage: { prompt: 20, completion: 5 } };
      if (!hasToolResult(req))
        return { toolCalls: [{ name: 'current_time', args: {} }], usage: { prompt: 30, completion: 3 } };
      return { content: 'It is now.', usage: { prompt: 40, completion: 4 } };
    };
    const r = await h.run({
      tasks: [{ id: 'clock', description: 'What time is it?', capabilities: ['analyst-work'] }],
    });
    expect(r.status).toBe('completed');
    expect(r.outputs.clock).toBe('It is now.');
    const requests = fake.requests.slice(start);
    expect(requests).toHaveLength(3);
    // Tools are offered on the loop's turns only, and just the ones the type lists.
    expect(requests[0]?.tools).toBeUndefined();
    expect(requests[1]?.tools?.map((t) => t.function.name)).toEqual(['current_time']);
    expect(requests[1]?.model).toBe('gpt-test');
    // The tool's result went back to the model with the call's id.
    const toolMessage = requests[2]?.messages.find((m) => m.role === 'tool');
    expect(String(toolMessage?.content)).toMatch(/"now":"\d{4}-\d\d-\d\dT/);
    expect(toolMessage?.tool_call_id).toBe(
      (requests[2]?.messages.find((m) => m.role === 'assistant') as { tool_calls: { id: string }[] }).tool_calls[0]?.id,
    );

    const task = h.client.workflow.getHandle(`plan-${r.planId}-task-clock`);
    // A model agent's validate step makes no model call: a local activity (a marker), not an activity of its own.
    expect(await activityTypes(task)).toEqual(['reason', 'execute', 'callTool', 'execute']);
    const events = (await task.fetchHistory()).events ?? [];
    expect(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity')).toHaveLength(1);
    // Without a budget the usage travels with the outcome: no signal to the plan per model call.
    expect(events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes)).toHaveLength(0);

    const expected = { inputTokens: 90, outputTokens: 12, totalTokens: 102, modelCalls: 3 };
    // 90 in × $1,000/M + 12 out × $2,000/M
    const cost = (90 * 1_000 + 12 * 2_000) / 1e6;
    expect(r.usage?.total).toEqual({ ...expected, costUsd: cost });
    expect(r.usage?.byAgentType.analyst).toEqual({ ...expected, costUsd: cost });
    expect(r.usage?.byTask.clock?.totalTokens).toBe(102);
    const view = await h.client.workflow.getHandle(`plan-${r.planId}`).query(planStatusQuery);
    expect(view.tasks[0]?.usage?.totalTokens).toBe(102);
    const pool: PoolView = await h.client.workflow.getHandle(h.poolId).query(poolStatusQuery);
    expect(pool.usageByType.analyst?.modelCalls).toBeGreaterThanOrEqual(3);
    // The instance remembers a summary of its answer for its next task.
    const agent = pool.agents.find((a) => a.id === view.tasks[0]?.agentId);
    // The pool holds a claim check of it; the entries are in the blob store.
    const memory = (await claimCheckOf({ BLOB_STORE_DIR: process.env.TEST_BLOB_DIR }).resolve(agent?.memory)) as {
      note: string;
    }[];
    expect(memory.at(-1)?.note).toContain('It is now.');

    // Reused for the next task, the instance brings that memory into its system prompt.
    const before = fake.requests.length;
    const again = await h.run({ tasks: [{ id: 'again', description: 'And now?', capabilities: ['analyst-work'] }] });
    const prompt = fake.requests[before]?.messages.find((m) => m.role === 'system');
    expect(String(prompt?.content)).toMatch(/What you remember from earlier tasks:[\s\S]*It is now\./);
    const againView = await h.client.workflow.getHandle(`plan-${again.planId}`).query(planStatusQuery);
    expect(againView.tasks[0]?.agentId).toBe(agent?.id);
  });

  test('a task that fails still counts its model calls in the plan (its usage travels with the failure)', async () => {
    // An empty answer is rejected by validation (not retried): two calls made, the task failed.
    reply = (req) => (isReason(req) ? { content: 'plan', usage: { prompt: 6, completion: 2 } } : { content: ' ' });
    const r = await h.run({
      failurePolicy: 'continue',
      tasks: [{ id: 'empty', description: 'say nothing', capabilities: ['analyst-work'], maxReassignments: 0 }],
    });
    expect(r.errors.empty).toMatchObject({ type: 'ValidationRejected' });
    // The reason call's 8 tokens and the execute call's (the fake's default usage: 10 + 5).
    expect(r.usage?.byTask.empty).toMatchObject({ totalTokens: 8 + 15, modelCalls: 2 });
    expect(r.usage?.byAgentType.analyst?.modelCalls).toBeGreaterThanOrEqual(2);
  });

  test('the send_message tool puts a message on the plan’s bus, de-duplicated by the call’s idempotency key', async () => {
    reply = (req) => {
      if (isReason(req)) return { content: 'tell the listener' };
      if (!hasToolResult(req))
        return { toolCalls: [{ name: 'send_message', args: { to: 'listener', body: { hello: 1 } } }] };
      return { content: 'sent' };
    };
    const r = await h.run({
      tasks: [
        { id: 'talker', description: 'talk', capabilities: ['talker-work'] },
        // Offline: shows its inbox in its output. It starts after the talker, so the message is held for it.
        { id: 'listener', description: 'listen', dependsOn: ['talker'] },
      ],
    });
    expect(r.status).toBe('completed');
    const inbox = (r.outputs.listener as { inbox: { id: string; from: string; body: unknown }[] }).inbox;
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ body: { hello: 1 }, from: expect.stringMatching(/^talker-\d+$/) });
    expect(inbox[0]?.id).toMatch(new RegExp(`^plan-${r.planId}-task-talker/`));
  });

  test('usage is in the plan status over HTTP and in /metrics by agent type', async () => {
    reply = (req) => (isReason(req) ? { content: 'plan' } : { content: 'answer', usage: { prompt: 7, completion: 3 } });
    const api = await startInProcessApi(h);
    try {
      const r = await h.run({ tasks: [{ id: 'm', description: 'x', capabilities: ['analyst-work'] }] });
      const status = (await (await fetch(`${api.base}/v1/plans/${r.planId}`)).json()) as {
        usage: { total: { totalTokens: number } };
        tasks: { id: string; usage?: { totalTokens: number } }[];
      };
      expect(status.usage.total.totalTokens).toBe(15 + 10);
      expect(status.tasks[0]?.usage?.totalTokens).toBe(25);
      const res = await fetch(`${api.base}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      const value = (line: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${line} `))
            ?.split(' ')[1],
        );
      expect(value('agent_orchestrator_model_calls_total{type="analyst"}')).toBeGreaterThanOrEqual(2);
      expect(value('agent_orchestrator_model_tokens_total{type="analyst",direction="output"}')).toBeGreaterThanOrEqual(
        8,
      );
      expect(value('agent_orchestrator_agents{type="analyst",state="idle"}')).toBeGreaterThanOrEqual(1);
      expect(value('agent_orchestrator_plans{status="completed"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await api.close();
    }
  });

  test('a coordinator with a model splits its task among sub-agents (delegate_subtasks) and combines their results', async () => {
    reply = (req) => {
      if (req.tools?.some((t) => t.function.name === 'delegate_subtasks')) {
        return {
          toolCalls: [
            {
              name: 'delegate_subtasks',
              args: {
                subtasks: [
                  { id: 'numbers', description: 'count', capabilities: ['analyst-work'] },
                  { id: 'words', description: 'write', capabilities: ['general'], dependsOn: ['numbers'] },
                ],
              },
            },
          ],
        };
      }
      if (isReason(req)) return { content: 'plan' };
      const text = JSON.stringify(req.messages);
      if (text.includes('Result of sub-agent'))
        return { content: `combined ${text.includes('lead.words') ? 'both' : ''}` };
      return { content: 'part done' };
    };
    const r = await h.run({ tasks: [{ id: 'lead', description: 'a report', capabilities: ['lead-work'] }] });
    expect(r.status).toBe('completed');
    expect(r.outputs.lead).toBe('combined both');
    const view = await h.client.workflow.getHandle(`plan-${r.planId}`).query(planStatusQuery);
    expect(view.tasks[0]?.subtasks.map((t) => [t.id, t.agentType, t.state])).toEqual([
      ['lead.numbers', 'analyst', 'completed'],
      ['lead.words', 'generalist', 'completed'],
    ]);
    // The sub-agents' model calls count toward the plan, under their own task ids, and show in the status tree.
    expect(r.usage?.byTask['lead.numbers']?.modelCalls).toBe(2);
    expect(view.tasks[0]?.subtasks[0]?.usage?.modelCalls).toBe(2);
    expect(view.tasks[0]?.subtasks[1]?.usage).toBeUndefined(); // offline: no model calls
  });

  test('a message that arrives while a model agent works joins its conversation at the next turn', async () => {
    let unblock: () => void = () => undefined;
    const blocked = new Promise<void>((r) => (unblock = r));
    reply = (req) => {
      if (isReason(req)) return { content: 'plan' };
      if (!hasToolResult(req)) return { hold: blocked, then: { toolCalls: [{ name: 'current_time', args: {} }] } };
      return { content: 'done' };
    };
    const start = fake.requests.length;
    const planWorkflow = await h.start({ tasks: [{ id: 'worker', description: 'x', capabilities: ['analyst-work'] }] });
    const plan = h.client.workflow.getHandle(planWorkflow);
    // The first turn is in flight: send a message and wait until the task has it, then let the turn finish.
    for (let i = 0; fake.requests.length - start < 2; i++) {
      if (i > 200) throw new Error('the first turn never started');
      await new Promise((res) => setTimeout(res, 50));
    }
    await plan.signal(agentMessageSignal, {
      id: 'm1',
      from: 'ops',
      to: 'worker',
      body: 'use UTC',
      sentAt: new Date().toISOString(),
    });
    for (let i = 0; ; i++) {
      const log = await plan.query(planMessagesQuery);
      if (log[0]?.state === 'delivered') break;
      if (i > 200) throw new Error('the message was never delivered');
      await new Promise((res) => setTimeout(res, 50));
    }
    unblock();
    await plan.result();
    const second = fake.requests.slice(start).find(hasToolResult);
    expect(JSON.stringify(second?.messages)).toContain('New messages from other agents:\\n- from ops: use UTC');
  });

  test('an OpenAI-compatible endpoint (Ollama, vLLM, LM Studio) works without an API key', async () => {
    const start = fake.requests.length;
    reply = (req) => (isReason(req) ? { content: 'plan' } : { content: 'local answer' });
    const r = await h.run({ tasks: [{ id: 'local', description: 'x', capabilities: ['local-work'] }] });
    expect(r.outputs.local).toBe('local answer');
    expect(fake.requests.slice(start).map((q) => q.model)).toEqual(['llama3.2', 'llama3.2']);
    expect(r.usage?.byAgentType.local?.modelCalls).toBe(2);
  });

  test('a 429 is retried after the provider’s retry-after; a 500 is retried', async () => {
    const start = fake.requests.length;
    let n = 0;
    reply = (req) => {
      n++;
      if (n === 1) return { status: 429, retryAfterSeconds: 1, error: 'slow down' };
      if (n === 2) return { status: 500, error: 'boom' };
      return isReason(req) ? { content: 'plan' } : { content: 'done' };
    };
    const r = await h.run({ tasks: [{ id: 'retry', description: 'x', capabilities: ['analyst-work'] }] });
    expect(r.status).toBe('completed');
    const times = fake.requests.slice(start).map((q) => q.receivedAt as number);
    // The retry policy's own interval is 50 ms in tests: the second call waited for the retry-after instead.
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(950);
    const view = await h.client.workflow.getHandle(`plan-${r.planId}`).query(planStatusQuery);
    expect(view.tasks[0]?.attempts).toBe(3);
  });

  test.each([
    [401, 'ModelAuthFailed'],
    [400, 'ModelBadRequest'],
  ])('a %i fails the task at once (%s), without retries or reassignment', async (status, type) => {
    const start = fake.requests.length;
    reply = () => ({ status, error: 'no' });
    const r = await h.run({ tasks: [{ id: 'bad', description: 'x', capabilities: ['analyst-work'] }] });
    expect(r.status).toBe('failed');
    expect(r.errors.bad?.type).toBe(type);
    expect(fake.requests.length - start).toBe(1);
  });

  test('a missing API key fails at once, naming the variable', async () => {
    const other = await startHarness({
      registry: registryWith(modelType(fake, 'analyst', { apiKeyEnv: 'NOT_SET_ANYWHERE_KEY' })),
    });
    try {
      const r = await other.run({ tasks: [{ id: 'k', description: 'x', capabilities: ['analyst-work'] }] });
      expect(r.errors.k?.type).toBe('ModelAuthFailed');
      expect(r.errors.k?.message).toContain('NOT_SET_ANYWHERE_KEY');
    } finally {
      await other.close();
    }
  });

  test('a budget stops dispatching: the plan ends partial with reason budget_exhausted, keeping finished outputs', async () => {
    reply = (req) => (isReason(req) ? { content: 'plan' } : { content: 'answer' }); // 15 tokens a call
    const r = await h.run({
      mode: 'sequential',
      budget: { maxTokens: 40 },
      tasks: ['a', 'b', 'c', 'd'].map((id) => ({ id, description: id, capabilities: ['analyst-work'] })),
    });
    expect(r.status).toBe('partial');
    expect(r.reason).toBe('budget_exhausted');
    expect(r.outputs).toEqual({ a: 'answer' });
    // b's reasoning crossed the budget (45 tokens): it stopped before its next call; c and d never started.
    expect(r.errors.b).toMatchObject({ state: 'skipped', reason: 'budget_exhausted' });
    expect(r.errors.c).toMatchObject({ state: 'skipped', reason: 'budget_exhausted' });
    expect(r.errors.d).toMatchObject({ state: 'skipped', reason: 'budget_exhausted' });
    expect(r.usage?.total.totalTokens).toBe(45);
  });

  test('a cost budget works the same way', async () => {
    reply = () => ({ content: 'ok', usage: { prompt: 1_000, completion: 0 } }); // $1 a call at $1,000/M
    const r = await h.run({
      mode: 'sequential',
      budget: { maxCostUsd: 2.5 },
      tasks: ['a', 'b', 'c'].map((id) => ({ id, description: id, capabilities: ['analyst-work'] })),
    });
    expect(r).toMatchObject({ status: 'partial', reason: 'budget_exhausted', outputs: { a: 'ok' } });
    expect(r.usage?.total.costUsd).toBe(3);
  });

  test('per-provider concurrency: a wide fan-out queues in the worker instead of flooding the provider', async () => {
    let inFlight = 0;
    let peak = 0;
    reply = async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 100));
      inFlight--;
      return { content: 'ok' };
    };
    const r = await h.run({
      tasks: Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, description: 'x', capabilities: ['limited-work'] })),
    });
    expect(r.status).toBe('completed');
    expect(peak).toBe(1);
    // The limit bound, and the worker said so once (the metrics count each queued call).
    const port = new URL(fake.baseUrl).port;
    const told = warnings.filter((w) => w.startsWith(`model calls to openai@localhost:${port} are queued`));
    expect(told).toEqual([expect.stringContaining("this worker's maxConcurrency limit (1 in flight)")]);
  });
});

describe('tools from a real MCP server (@modelcontextprotocol/server-everything, stdio and streamable HTTP)', () => {
  let fake: FakeOpenAI;
  let h: Harness;
  let httpServer: ChildProcess | undefined;
  const stdio = { name: 'everything', transport: 'stdio', command: process.execPath, args: [MCP_EVERYTHING] };

  let port = 0;
  const startHttpServer = async (): Promise<void> => {
    httpServer = await startMcpHttpServer(port);
  };

  beforeAll(async () => {
    port = await freePort();
    await startHttpServer();
    fake = await startFakeOpenAI((req) => {
      if (isReason(req)) return { content: 'use the tool' };
      const results = req.messages.filter((m) => m.role === 'tool');
      const offered = (req.tools ?? []).map((t) => t.function.name);
      if (results.length === 0 && offered.includes('remote__echo')) {
        return { toolCalls: [{ name: 'remote__echo', args: { message: 'over http' } }] };
      }
      if (results.length === 0) {
        return {
          toolCalls: [
            { name: 'everything__get-sum', args: { a: 2, b: 3 } },
            { name: 'everything__get-sum', args: { a: 'two' } },
          ],
        };
      }
      return { content: `tool said: ${results.map((m) => String(m.content)).join(' | ')}` };
    });
    h = await startHarness({
      registry: registryWith(
        modelType(fake, 'mathematician', { mcpServers: [stdio], tools: ['everything/get-sum', 'everything/echo'] }),
        modelType(fake, 'echoer', {
          mcpServers: [{ name: 'remote', transport: 'http', url: `http://127.0.0.1:${port}/mcp` }],
          tools: ['remote/*'],
        }),
      ),
      env: { [KEY_ENV]: 'sk-test' },
    });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
    httpServer?.kill('SIGKILL');
  });

  test('stdio: the model is offered the listed tools; calls run as activities; a bad call is reported back', async () => {
    const r = await h.run({ tasks: [{ id: 'sum', description: 'add 2 and 3', capabilities: ['mathematician-work'] }] });
    expect(r.status).toBe('completed');
    const turn = fake.requests.find((q) => q.tools?.some((t) => t.function.name.startsWith('everything__')));
    expect(turn?.tools?.map((t) => t.function.name).sort()).toEqual(['everything__echo', 'everything__get-sum']);
    expect(r.outputs.sum).toContain('The sum of 2 and 3 is 5');
    // The second call had bad arguments: the model was told, the task went on.
    expect(r.outputs.sum).toMatch(/everything__get-sum: .*(invalid|expected)/i);
    const task = h.client.workflow.getHandle(`plan-${r.planId}-task-sum`);
    expect(await activityTypes(task)).toEqual(['reason', 'execute', 'callTool', 'callTool', 'execute']);
  });

  test('streamable HTTP: "<server>/*" offers every tool of the server', async () => {
    const r = await h.run({ tasks: [{ id: 'echo', description: 'echo something', capabilities: ['echoer-work'] }] });
    expect(r.status).toBe('completed');
    expect(r.outputs.echo).toContain('Echo: over http');
    const turn = fake.requests.find((q) => q.tools?.some((t) => t.function.name === 'remote__echo'));
    const names = turn?.tools?.map((t) => t.function.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['remote__echo', 'remote__get-sum', 'remote__get-env']));
    // A non-empty tools list offers just what it names: no built-ins here.
    expect(names).not.toContain('send_message');
  });

  test('after the MCP server restarts (its sessions gone), the next tool call reconnects', async () => {
    const old = httpServer as ChildProcess;
    const gone = new Promise((r) => old.once('exit', r));
    old.kill('SIGKILL');
    await gone;
    await startHttpServer();
    const r = await h.run({ tasks: [{ id: 'echo2', description: 'echo again', capabilities: ['echoer-work'] }] });
    expect(r.status).toBe('completed');
    expect(r.outputs.echo2).toContain('Echo: over http');
  });
});
