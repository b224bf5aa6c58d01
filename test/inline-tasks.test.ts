/**
 * Short top-level tasks run inline in their plan's workflow (INLINE_SHORT_TASKS, on by default): one local activity, no
 * task workflow. What a task workflow gave them must still hold: their state, output and steps in the API and the CLI,
 * reassignment when an instance fails them, sub-agents when their reasoning asks for some, outputs across
 * continue-as-new (test/large-plan.test.ts), and plans started before the setting run as they did.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { PlanResult, PlanView } from '../src/shared/plan';
import type { TaskView } from '../src/shared/task';
import { taskStatusQuery } from '../src/workflows/messages';
import { startHarness, startInProcessApi, uniqueId, type Harness } from './support/harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('../scripts/temporal-cli.cjs') as { ensureTemporalCli: () => string };
const run = promisify(execFile);

let h: Harness;
let api: { base: string; close(): Promise<void> };
beforeAll(async () => {
  h = await startHarness();
  api = await startInProcessApi(h, { RETRY_INITIAL_INTERVAL_MS: '50', RETRY_MAX_INTERVAL_MS: '200' });
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

const getJson = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${api.base}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as T;
};

const submit = async (body: unknown): Promise<void> => {
  const res = await fetch(`${api.base}/v1/plans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
};

const taskWorkflowExists = async (planId: string, taskId: string): Promise<boolean> => {
  try {
    await h.client.workflow.getHandle(`plan-${planId}-task-${taskId}`).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
};

describe('short tasks inline in their plan', () => {
  test('a plan of short tasks: inline where nothing needs a workflow, handed over where something does', async () => {
    const id = uniqueId('inline');
    await submit({
      id,
      tasks: [
        { id: 'plain', description: 'nothing special' },
        { id: 'after', description: 'uses plain', dependsOn: ['plain'] },
        // Fails on its first instance (no retries): the next assignment runs in a task workflow of its own.
        { id: 'flaky', description: 'fails once', maxRetries: 0, input: { simulate: { failOnAgents: 1 } } },
        // Its reasoning asks for sub-agents: it goes on in a task workflow from that reasoning.
        {
          id: 'lead',
          description: 'splits the work',
          input: { simulate: { subtasks: [{ id: 'part', description: 'a part' }] } },
        },
        // Slow steps are not short: a task workflow from the start.
        { id: 'slow', description: 'takes a while', input: { simulate: { latencyMs: 200 } } },
      ],
    });
    const result = await getJson<PlanResult>(`/v1/plans/${id}/result?wait=60`);
    expect(result.status).toBe('completed');

    const view = await getJson<PlanView>(`/v1/plans/${id}`);
    const byId = Object.fromEntries(view.tasks.map((t) => [t.id, t]));
    expect(byId.plain?.inline).toBe(true);
    expect(byId.after?.inline).toBe(true);
    for (const other of ['flaky', 'lead', 'slow']) expect(byId[other]?.inline).toBeUndefined();

    // Inline: no task workflow; its state and output still come from the API.
    expect(await taskWorkflowExists(id, 'plain')).toBe(false);
    const plain = await getJson<TaskView & { output: unknown }>(`/v1/plans/${id}/tasks/plain`);
    expect(plain).toMatchObject({ state: 'completed', inline: true, attempts: 1, output: { task: 'plain' } });
    expect(plain.assignments).toEqual([{ agentId: plain.agentId, agentType: 'generalist', outcome: 'completed' }]);
    // Its lifecycle, as its one step lived it, with times.
    expect(plain.transitions?.map((t) => t.state)).toEqual([
      'assigned',
      'reasoning',
      'executing',
      'validating',
      'completed',
    ]);
    // The dependent got the inline task's output.
    expect(result.outputs.after).toMatchObject({ dependencies: { plain: expect.stringMatching(/^plain done by /) } });

    // Reassigned: the inline failure is its first assignment, the task workflow's the second.
    expect(await taskWorkflowExists(id, 'flaky')).toBe(true);
    const flaky = await getJson<TaskView>(`/v1/plans/${id}/tasks/flaky`);
    expect(flaky.assignments.map((a) => a.outcome)).toEqual(['failed', 'completed']);
    expect(flaky.assignments[0]?.agentId).not.toBe(flaky.assignments[1]?.agentId);

    // Handed over after reasoning: its sub-agent ran, and its reasoning was not done twice.
    expect(await taskWorkflowExists(id, 'lead')).toBe(true);
    const lead = await getJson<TaskView>(`/v1/plans/${id}/tasks/lead`);
    expect(lead.subtasks.map((s) => [s.id, s.state])).toEqual([['lead.part', 'completed']]);
    // Its task workflow went on from the reasoning done inline: no reasoning step of its own.
    const leadRun = h.client.workflow.getHandle(`plan-${id}-task-lead`);
    const states = (await leadRun.query(taskStatusQuery)).transitions?.map((t) => t.state) ?? [];
    expect(states.filter((s) => s === 'reasoning')).toHaveLength(1);
    expect(states).toEqual(expect.arrayContaining(['executing', 'validating', 'completed']));
    const steps = (await leadRun.fetchHistory()).events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    expect(steps.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)).not.toContain('reason');

    // An inline task's steps are an activity of the plan's workflow, named after the task: the CLI shows them.
    const { stdout } = await run(
      ensureTemporalCli(),
      ['workflow', 'show', '--workflow-id', `plan-${id}`, '--address', h.address, '--output', 'json'],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    type Event = { eventType: string; userMetadata?: { summary?: { data?: string } } };
    const summaries = (JSON.parse(stdout) as { events: Event[] }).events
      .filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')
      .map((e) => Buffer.from(e.userMetadata?.summary?.data ?? '', 'base64').toString('utf8'));
    expect(summaries).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^"reason → execute → validate · plain · generalist-\d+"$/),
        expect.stringMatching(/^"reason → execute → validate · after · generalist-\d+"$/),
      ]),
    );
  });

  test('a message reaching an inline task while it runs is undeliverable, with the reason', async () => {
    const id = uniqueId('inline-mail');
    // The task sends itself a message from its own step: it arrives while the task runs, and an inline task has no
    // workflow to signal.
    await submit({
      id,
      tasks: [
        { id: 'quick', description: 'talks to itself', input: { simulate: { send: [{ to: 'quick', body: 'hi' }] } } },
      ],
    });
    expect((await getJson<PlanResult>(`/v1/plans/${id}/result?wait=60`)).status).toBe('completed');
    const { messages } = await getJson<{ messages: { to: string; state: string; reason?: string }[] }>(
      `/v1/plans/${id}/messages`,
    );
    expect(messages).toEqual([
      expect.objectContaining({
        to: 'quick',
        state: 'undeliverable',
        reason: 'task "quick" ended before the message reached it',
      }),
    ]);
  });

  test('plans started without the setting (before it existed) run every task in a task workflow', async () => {
    const id = uniqueId('inline-off');
    const result = await h.run({ id, tasks: [{ id: 'one', description: 'x' }] });
    expect(result.status).toBe('completed');
    expect(await taskWorkflowExists(id, 'one')).toBe(true);
  });
});
