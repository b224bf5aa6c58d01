/**
 * Validation that means something (docs/plans.md, "Validation"): output contracts checked at submission and on every
 * output, reviewers drawn from the pool, and revisions instead of failures. Model agents answer from a scripted
 * OpenAI-compatible fake; the offline example runs as a user would submit it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import type { AgentType } from '../src/shared/agent-type';
import type { PlanResult, PlanView } from '../src/shared/plan';
import type { TaskView } from '../src/shared/task';
import { taskStatusQuery } from '../src/workflows/messages';
import { openStream } from './support/sse-client';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI, type FakeReply } from './support/fake-openai';
import { startHarness, startInProcessApi, uniqueId, type Harness } from './support/harness';

jest.setTimeout(90_000);

const KEY_ENV = 'FAKE_OPENAI_KEY';
const isReason = (req: ChatRequest) => JSON.stringify(req.messages).includes('how will you approach this task');
const isReview = (req: ChatRequest) => JSON.stringify(req.messages).includes('You are its reviewer');

let fake: FakeOpenAI;
let reply: (req: ChatRequest, i: number) => FakeReply;
let h: Harness;
let api: { base: string; close(): Promise<void> };

function modelType(name: string, capabilities: string[], runtime: Record<string, unknown> = {}): Partial<AgentType> {
  return {
    name,
    capabilities,
    runtime: {
      provider: 'openai',
      model: 'gpt-test',
      baseUrl: fake.baseUrl,
      apiKeyEnv: KEY_ENV,
      ...runtime,
    } as AgentType['runtime'],
  };
}

beforeAll(async () => {
  fake = await startFakeOpenAI((req, i) => reply(req, i));
  const registry = Registry.parse({
    agentTypes: [
      ...DEFAULT_REGISTRY.agentTypes,
      // One model call per turn and no tool calls: its answer is asked for in JSON mode when it has a contract.
      modelType('drafter', ['drafting'], { maxSteps: 1 }),
      modelType('senior-drafter', ['senior-drafting']),
      modelType('critic', ['critique']),
      modelType('manager', ['managing'], { delegate: 'required' }),
    ],
  });
  h = await startHarness({ registry, env: { [KEY_ENV]: 'sk-test' } });
  // The API configures the pool with the same registry (it does when it first needs the pool).
  api = await startInProcessApi(h, {}, registry);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
  await fake?.close();
});

const post = (body: unknown) =>
  fetch(`${api.base}/v1/plans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const SCHEMA = {
  type: 'object',
  required: ['city', 'population'],
  properties: { city: { type: 'string' }, population: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
};

describe('output contracts', () => {
  test('a bad schema is a 400 naming where, and nothing starts', async () => {
    const id = uniqueId('bad-schema');
    const res = await post({
      id,
      tasks: [
        { id: 'a', description: 'x', output: { schema: { type: 'object', properties: { n: { type: 'numbr' } } } } },
      ],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { issues: { path: string; message: string }[] } };
    expect(body.error.issues).toContainEqual({
      path: 'tasks[0].output.schema.properties.n.type',
      message: expect.stringMatching(/^must be equal to one of the allowed values/),
    });
    const reviewer = await post({ id, tasks: [{ id: 'a', description: 'x', review: { capabilities: ['juggling'] } }] });
    expect(reviewer.status).toBe(400);
    expect(JSON.stringify(await reviewer.json())).toMatch(/tasks\[0\]\.review\.capabilities.*its reviewer/);
    expect((await fetch(`${api.base}/v1/plans/${id}`)).status).toBe(404);
  });

  test('an answer that breaks the contract goes back to the agent with the reasons; the next one is parsed JSON', async () => {
    const start = fake.requests.length;
    reply = (req) => {
      if (isReason(req)) return { content: 'I will look it up.', usage: { prompt: 10, completion: 2 } };
      const revising = JSON.stringify(req.messages).includes('Your answer was rejected');
      return revising
        ? { content: '```json\n{"city": "Lyon", "population": 522250}\n```', usage: { prompt: 30, completion: 8 } }
        : { content: '{"city": "Lyon", "population": "about half a million"}', usage: { prompt: 20, completion: 6 } };
    };
    const r = await h.run({
      tasks: [
        { id: 'lyon', description: 'Population of Lyon', capabilities: ['drafting'], output: { schema: SCHEMA } },
      ],
    });
    expect(r.status).toBe('completed');
    // Parsed, not a string that happens to contain JSON.
    expect(r.outputs.lyon).toEqual({ city: 'Lyon', population: 522250 });
    const requests = fake.requests.slice(start);
    expect(requests).toHaveLength(3);
    // The provider was asked for JSON of the schema (the turn offers no tools: the type's maxSteps is 1).
    expect(JSON.stringify(requests[1]?.response_format)).toContain('"population"');
    // The validator's message is in the second request's conversation, after the rejected answer.
    const second = JSON.stringify(requests[2]?.messages);
    expect(second).toContain('about half a million');
    expect(second).toContain('/population: must be integer');
    // Every call counted once.
    expect(r.usage?.total).toMatchObject({ modelCalls: 3, inputTokens: 60, outputTokens: 16 });
    const view = await h.client.workflow.getHandle(`plan-${r.planId}-task-lyon`).query(taskStatusQuery);
    expect(view.revisions?.map((v) => [v.round, v.by, v.accepted])).toEqual([
      [1, 'schema', false],
      [2, 'schema', true],
    ]);
    expect(view.revisions?.[0]?.reasons).toEqual(['/population: must be integer']);
    const states = view.transitions?.map((t) => t.state) ?? [];
    expect(states.join(' ')).toMatch(/executing validating executing validating completed/);
  });
});

describe('reviewers', () => {
  test('a reviewer rejecting every round: reassigned after maxRevisions, then completed by the fallback type', async () => {
    const start = fake.requests.length;
    let drafts = 0;
    reply = (req) => {
      if (isReason(req)) return { content: 'Draft it.' };
      if (isReview(req)) {
        const fromSenior = JSON.stringify(req.messages).includes('senior draft');
        return {
          content: JSON.stringify(
            fromSenior ? { accepted: true, reasons: [] } : { accepted: false, reasons: ['too vague'] },
          ),
          usage: { prompt: 7, completion: 3 },
        };
      }
      const senior = JSON.stringify(req.messages).includes('senior-drafter');
      drafts++;
      return { content: senior ? 'senior draft' : `draft ${drafts}` };
    };
    const r = await h.run({
      tasks: [
        {
          id: 'pitch',
          description: 'Write the pitch',
          capabilities: ['drafting'],
          acceptance: 'Specific, one paragraph',
          review: { capabilities: ['critique'], maxRevisions: 1 },
          fallbackAgentType: 'senior-drafter',
        },
      ],
    });
    expect(r.errors).toEqual({});
    expect(r.status).toBe('completed');
    expect(r.outputs.pitch).toBe('senior draft');
    const view = await h.client.workflow.getHandle(`plan-${r.planId}-task-pitch`).query(taskStatusQuery);
    // Two rejections on the first instance (the output and its one revision), then the fallback type's accepted.
    expect(view.revisions?.map((v) => v.accepted)).toEqual([false, false, true]);
    expect(view.revisions?.[0]?.reasons).toEqual(['too vague']);
    expect(view.revisions?.every((v) => v.by.startsWith('critic-'))).toBe(true);
    expect(view.assignments.map((a) => [a.agentType, a.outcome])).toEqual([
      ['drafter', 'failed'],
      ['senior-drafter', 'completed'],
    ]);
    expect(view.assignments[0]?.error).toMatch(/output rejected 2 time\(s\) \(1 revision\(s\) allowed\): too vague/);
    // The reviewer saw the acceptance criteria; the second draft was asked with the reviewer's reasons.
    const requests = fake.requests.slice(start);
    expect(JSON.stringify(requests.find(isReview)?.messages)).toContain('Specific, one paragraph');
    expect(requests.some((q) => JSON.stringify(q.messages).includes('too vague') && !isReview(q))).toBe(true);
    // Reviews are model calls of the plan, counted once each under the reviewer's type.
    expect(r.usage?.byAgentType.critic).toMatchObject({ modelCalls: 3, inputTokens: 21, outputTokens: 9 });
    expect(r.usage?.total.modelCalls).toBe(requests.length);
  });

  test('the offline example: a contract and a reviewer, accepted after two revisions, visible in the API', async () => {
    const plan = JSON.parse(readFileSync(join(__dirname, '../examples/reviewed.json'), 'utf8')) as { id: string };
    const id = uniqueId('reviewed');
    expect((await post({ ...plan, id })).status).toBe(202);
    const stream = await openStream(`${api.base}/v1/plans/${id}/events`);
    const result = (await (await fetch(`${api.base}/v1/plans/${id}/result?wait=60`)).json()) as PlanResult;
    expect(result.status).toBe('completed');
    expect(result.outputs.facts).toEqual(['inline tasks', 'output contracts', 'reviewers']);
    expect(result.outputs.note).toMatchObject({
      title: 'Release 2',
      points: expect.arrayContaining([expect.any(String)]),
    });
    const view = (await (await fetch(`${api.base}/v1/plans/${id}`)).json()) as PlanView;
    const note = view.tasks.find((t) => t.id === 'note') as TaskView;
    expect(note.revisions?.map((v) => [v.round, v.by === 'schema' ? 'schema' : 'reviewer', v.accepted])).toEqual([
      [1, 'schema', false],
      [2, 'reviewer', false],
      [3, 'reviewer', true],
    ]);
    expect(note.revisions?.[0]?.reasons.join()).toMatch(/must have required property 'points'/);
    expect(note.revisions?.[1]?.reasons).toEqual(['each point must be a full sentence']);
    // The reviewer, an instance of the pool like any agent, remembers what it judged.
    const reviewer = (await (await fetch(`${api.base}/v1/agents/${note.revisions?.[2]?.by}`)).json()) as {
      type: string;
      recentMemory: { note: string }[];
    };
    expect(reviewer.type).toBe('reviewer');
    expect(reviewer.recentMemory.map((m) => m.note)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/review of "Write the release note from the facts".*accepted round 3/),
      ]),
    );
    // The plan's event stream told each verdict once, the snapshot included.
    await stream.ended;
    const snapshot = stream.events.find((e) => e.event === 'snapshot')?.data as PlanView;
    const inSnapshot = snapshot.tasks.find((t) => t.id === 'note')?.revisions?.length ?? 0;
    const told = stream.events
      .filter((e) => e.event === 'revision' && (e.data as { taskId: string }).taskId === 'note')
      .map((e) => e.data as { round: number; accepted: boolean });
    const expected: [number, boolean][] = [
      [1, false],
      [2, false],
      [3, true],
    ];
    expect(told.map((r) => [r.round, r.accepted])).toEqual(expected.slice(inSnapshot));
  });
});

describe('coordinators that must delegate', () => {
  test('an answer without subtasks, then subtasks that do not check: both go back to the model, then it delegates', async () => {
    const start = fake.requests.length;
    let reasons = 0;
    const count = {
      id: 'count',
      description: 'Count the items',
      capabilities: ['drafting'],
      output: { schema: { type: 'integer' } },
    };
    reply = (req) => {
      const text = JSON.stringify(req.messages);
      if (text.includes('split it among other agents')) {
        reasons++;
        if (reasons === 1) return { content: 'I will just do it myself: 42.' };
        const subtasks = reasons === 2 ? [{ id: 'a', description: 'x', capabilities: ['juggling'] }] : [count];
        return { toolCalls: [{ name: 'delegate_subtasks', args: { subtasks } }] };
      }
      if (isReason(req)) return { content: 'count them' };
      // The sub-agent answers its contract (an integer); the manager combines.
      return text.includes('Task: Count the items') ? { content: '3' } : { content: 'There are 3 items.' };
    };
    const r = await h.run({ tasks: [{ id: 'inventory', description: 'How many items?', capabilities: ['managing'] }] });
    expect(r.errors).toEqual({});
    expect(r.status).toBe('completed');
    const requests = fake.requests.slice(start);
    const reasonCalls = requests.filter((q) => JSON.stringify(q.messages).includes('split it among other agents'));
    // One reasoning step: three calls, each made to use the delegation tool; the refusals went back with the reasons.
    expect(reasonCalls).toHaveLength(3);
    for (const q of reasonCalls)
      expect(q.tool_choice).toEqual({ type: 'function', function: { name: 'delegate_subtasks' } });
    expect(JSON.stringify(reasonCalls[1]?.messages)).toContain('your type must delegate');
    expect(JSON.stringify(reasonCalls[2]?.messages)).toContain('juggling');
    const view = await h.client.workflow.getHandle(`plan-${r.planId}-task-inventory`).query(taskStatusQuery);
    expect(view.subtasks.map((s) => [s.id, s.state])).toEqual([['inventory.count', 'completed']]);
    // The proposed subtask's contract held: its output is the parsed integer.
    const sub = (await h.client.workflow.getHandle(`plan-${r.planId}-task-inventory.count`).result()) as {
      output: unknown;
    };
    expect(sub.output).toBe(3);
    // Every model call counted once: the manager's three reasoning calls and its answer, the sub-agent's two.
    expect(r.usage?.byAgentType.manager?.modelCalls).toBe(4);
    expect(r.usage?.byAgentType.drafter?.modelCalls).toBe(2);
    expect(r.usage?.total.modelCalls).toBe(requests.length);
  });
});
