import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanInput } from '../src/shared/plan';
import { taskInputUpdate, taskStatusQuery } from '../src/workflows/messages';
import { eventually, startHarness, uniqueId, type Harness } from './support/harness';

const dir = join(__dirname, '../examples');
const examples = readdirSync(dir).filter((f) => f.endsWith('.json'));

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Every plan in examples/ (what the README tells users to curl) must complete with an output for every task. */
describe('example plans', () => {
  test('there is one example per mode', () => {
    const modes = examples.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as PlanInput).mode);
    expect(new Set(modes)).toEqual(new Set(['dag', 'hierarchical', 'parallel', 'sequential']));
  });

  test.each(examples)('%s completes', async (file) => {
    const plan = JSON.parse(readFileSync(join(dir, file), 'utf8')) as PlanInput;
    const id = uniqueId(plan.id ?? 'example');
    const waiting = plan.tasks.filter((t) => t.requiresApproval || t.awaitInput).map((t) => t.id);
    const running = h.run({ ...plan, id });
    // Approve what waits for a human, as a user would with POST .../tasks/:taskId/input.
    for (const taskId of waiting) {
      const task = h.client.workflow.getHandle(`plan-${id}-task-${taskId}`);
      await eventually(
        async () =>
          (await task.query(taskStatusQuery).catch(() => undefined))?.state === 'waiting' ? true : undefined,
        `${taskId} waiting`,
      );
      await task.executeUpdate(taskInputUpdate, { args: [{ approved: true }] });
    }
    const result = await running;
    expect(result.errors).toEqual({});
    expect(result.status).toBe('completed');
    expect(Object.keys(result.outputs).sort()).toEqual(plan.tasks.map((t) => t.id).sort());
  });
});

test('in the messaging example, the writer hears from the scout and the watcher gets the broadcast', async () => {
  const plan = JSON.parse(readFileSync(join(dir, 'messaging.json'), 'utf8')) as PlanInput;
  const id = uniqueId('msg-example');
  const running = h.run({ ...plan, id, tasks: plan.tasks.map((t) => ({ ...t, requiresApproval: false })) });
  const result = await running;
  const inbox = (task: string) => (result.outputs[task] as { inbox: { body: unknown }[] }).inbox.map((m) => m.body);
  expect(inbox('writer')).toEqual([{ finding: 'the API is durable' }]);
  expect(inbox('watcher')).toEqual(['scout is done']);
});
