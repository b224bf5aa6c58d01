import { checkPlan, findCycle } from '../../src/shared/plan-check';
import { type PlanInput } from '../../src/shared/plan';
import { join } from 'node:path';
import { loadRegistry } from '../../src/storage/registry-file';
import { DEFAULT_REGISTRY, matchAgentType, Registry } from '../../src/shared/registry';
import { parseStoredAgentType } from '../../src/shared/agent-type';

const check = (body: unknown, maxTasks = 100) =>
  checkPlan(body, DEFAULT_REGISTRY, { maxTasks, allowSimulate: true }, () => 'generated');
const messages = (body: unknown): string[] => {
  const r = check(body);
  if (r.ok) throw new Error('expected the plan to be rejected');
  return r.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('plan validation', () => {
  test('a minimal plan gets documented defaults and a generated id', () => {
    const r = check({ tasks: [{ id: 'a', description: 'do a' }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.plan).toMatchObject({ id: 'generated', mode: 'dag', failurePolicy: 'fail-fast', maxConcurrency: 10 });
    expect(r.plan.tasks[0]).toMatchObject({
      id: 'a',
      agentType: 'generalist',
      dependsOn: [],
      optional: false,
      maxReassignments: 2,
    });
  });

  test('rejects an empty plan, missing tasks and wrong types', () => {
    expect(messages({ tasks: [] }).join()).toMatch(/at least one task/);
    expect(messages({}).join()).toMatch(/^tasks:/);
    expect(messages({ tasks: [{ id: 'a', description: 'x', priority: 'high' }] }).join()).toMatch(
      /tasks\[0\]\.priority/,
    );
    expect(messages({ mode: 'random', tasks: [{ id: 'a', description: 'x' }] }).join()).toMatch(/^mode:/);
  });

  test('simulate directives are checked at submission, at any depth, naming the field', () => {
    expect(messages({ tasks: [{ id: 'a', input: { simulate: { latencyMS: 10 } } }] })).toEqual([
      expect.stringMatching(/^tasks\[0\]\.input\.simulate: .*latencyMS/),
    ]);
    expect(
      messages({
        mode: 'hierarchical',
        tasks: [{ id: 'boss', description: 'x', subtasks: [{ id: 'w', input: { simulate: { failAttempts: -1 } } }] }],
      }),
    ).toEqual([expect.stringMatching(/^tasks\[0\]\.subtasks\[0\]\.input\.simulate\.failAttempts: /)]);
    expect(
      check({ tasks: [{ id: 'a', input: { simulate: { latencyMs: 5, send: [{ to: 'b', body: 1 }] } } }] }).ok,
    ).toBe(true);
  });

  test('rejects duplicate ids, including in subtasks', () => {
    const m = messages({
      tasks: [
        { id: 'a', description: 'x' },
        { id: 'b', description: 'y', subtasks: [{ id: 'a', description: 'z' }] },
      ],
    });
    expect(m.join()).toMatch(/duplicate task id "a"/);
  });

  test('rejects unknown dependsOn, naming the task and the id', () => {
    expect(messages({ tasks: [{ id: 'a', description: 'x', dependsOn: ['ghost'] }] }).join()).toMatch(
      /"a" depends on unknown task "ghost"/,
    );
  });

  test('rejects a cycle and names the tasks on it', () => {
    const m = messages({
      tasks: [
        { id: 'a', description: 'x', dependsOn: ['c'] },
        { id: 'b', description: 'y', dependsOn: ['a'] },
        { id: 'c', description: 'z', dependsOn: ['b'] },
        { id: 'd', description: 'free' },
      ],
    });
    expect(m.join()).toMatch(/dependency cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)/);
    expect(findCycle([{ id: 'x', dependsOn: [] }])).toBeNull();
  });

  test('rejects a capability no registered type offers, and an unknown agent type', () => {
    expect(messages({ tasks: [{ id: 'a', description: 'x', capabilities: ['time-travel'] }] }).join()).toMatch(
      /no registered agent type offers "time-travel"/,
    );
    expect(messages({ tasks: [{ id: 'a', description: 'x', agentType: 'wizard' }] }).join()).toMatch(
      /unknown agent type "wizard"/,
    );
    expect(
      messages({ tasks: [{ id: 'a', description: 'x', agentType: 'writer', capabilities: ['coding'] }] }).join(),
    ).toMatch(/"writer" does not offer "coding"/);
  });

  test('rejects a task with neither description nor input', () => {
    expect(messages({ tasks: [{ id: 'a' }] }).join()).toMatch(/needs a description or an input/);
  });

  test('parallel mode takes no dependsOn; the task limit is enforced', () => {
    expect(
      messages({
        mode: 'parallel',
        tasks: [
          { id: 'a', description: 'x' },
          { id: 'b', description: 'y', dependsOn: ['a'] },
        ],
      }).join(),
    ).toMatch(/mode "parallel" takes no dependsOn/);
    const many = { tasks: Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, description: 'x' })) };
    const r = check(many, 3);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0]?.message).toMatch(/at most 3 tasks \(this one has 5\)/);
  });

  test('sequential mode chains tasks in order', () => {
    const r = check({
      mode: 'sequential',
      tasks: [
        { id: 'a', description: 'x' },
        { id: 'b', description: 'y' },
        { id: 'c', description: 'z' },
      ],
    } satisfies PlanInput);
    expect(r.ok && r.plan.tasks.map((t) => t.dependsOn)).toEqual([[], ['a'], ['b']]);
  });

  test('tasks with subtasks default to a coordinator', () => {
    const r = check({
      mode: 'hierarchical',
      tasks: [{ id: 'lead', description: 'x', subtasks: [{ id: 's1', description: 'y', capabilities: ['research'] }] }],
    });
    expect(r.ok && r.plan.tasks[0]?.agentType).toBe('coordinator');
    expect(r.ok && r.plan.tasks[0]?.subtasks[0]?.agentType).toBe('researcher');
  });

  test('matching prefers the tightest fit', () => {
    // "summarize" is offered by researcher (3 capabilities) and writer (3); ties break by name.
    expect(matchAgentType(DEFAULT_REGISTRY, ['summarize'])).toEqual({ ok: true, agentType: 'researcher' });
    expect(matchAgentType(DEFAULT_REGISTRY, [])).toEqual({ ok: true, agentType: 'generalist' });
    expect(matchAgentType(DEFAULT_REGISTRY, ['coding', 'writing'])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no single registered agent type/),
    });
  });
});

describe('agent registry: model runtimes', () => {
  test('the example registry (OpenAI, Anthropic, Ollama, MCP over stdio and HTTP) is valid', () => {
    const registry = loadRegistry(join(__dirname, '..', '..', 'examples', 'registries', 'models.json'));
    const provider = (name: string) => registry.agentTypes.find((t) => t.name === name)?.runtime.provider;
    expect(['researcher', 'writer', 'coder', 'generalist'].map(provider)).toEqual([
      'openai',
      'anthropic',
      'openai-compatible',
      'offline',
    ]);
    expect(registry.agentTypes.find((t) => t.name === 'researcher')?.runtime.maxSteps).toBe(8);
  });

  test.each([
    [{ provider: 'openai' }, 'runtime.model: provider "openai" needs a model'],
    [{ provider: 'openai-compatible', model: 'm' }, 'runtime.baseUrl: provider "openai-compatible" needs a baseUrl'],
    [{ provider: 'openai', model: 'm', tools: ['browse'] }, 'runtime.tools.0: unknown built-in tool "browse"'],
    [
      { provider: 'openai', model: 'm', tools: ['fs/read'] },
      'runtime.tools.0: tool "fs/read" names no declared MCP server',
    ],
    [{ provider: 'openai', model: 'm', apiKeyEnv: 'sk-123' }, 'runtime.apiKeyEnv: an environment variable name'],
    [{ provider: 'gemini', model: 'm' }, 'runtime.provider'],
  ])('a bad runtime %j is rejected: %s', (runtime, message) => {
    const parsed = Registry.safeParse({ agentTypes: [{ name: 'x', capabilities: ['c'], runtime }] });
    expect(parsed.success).toBe(false);
    const issues = parsed.error?.issues.map((i) => `${i.path.slice(2).join('.')}: ${i.message}`) ?? [];
    expect(issues.some((i) => i.startsWith(message))).toBe(true);
  });
});

describe('matching tasks that ask for no capability', () => {
  test('a type offering "general" comes first, even when a narrower specialist sorts before it by name', () => {
    const registry = Registry.parse({
      agentTypes: [...DEFAULT_REGISTRY.agentTypes, { name: 'analyst', capabilities: ['analysis'] }],
    });
    expect(matchAgentType(registry, [])).toEqual({ ok: true, agentType: 'generalist' });
    expect(matchAgentType(registry, ['analysis'])).toEqual({ ok: true, agentType: 'analyst' });
  });
});

describe('agent types recorded before model runtimes', () => {
  test('parse in the pool as offline types, so old pool histories still replay', () => {
    // Accepted before model runtimes existed; today's schema rejects "search" (no such built-in or MCP server).
    const old = { name: 'searcher', capabilities: ['search'], runtime: { provider: 'offline', tools: ['search'] } };
    expect(Registry.safeParse({ agentTypes: [old] }).success).toBe(false);
    expect(parseStoredAgentType(old)).toMatchObject({
      name: 'searcher',
      runtime: { provider: 'offline', tools: ['search'], mcpServers: [], maxSteps: 8, delegate: false },
    });
  });
});
