import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlanInput } from '../src/shared/plan';
import { startHarness, uniqueId, type Harness } from './support/harness';

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
    const modes = examples.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as PlanInput).mode).sort();
    expect(modes).toEqual(['dag', 'hierarchical', 'parallel', 'sequential']);
  });

  test.each(examples)('%s completes', async (file) => {
    const plan = JSON.parse(readFileSync(join(dir, file), 'utf8')) as PlanInput;
    const result = await h.run({ ...plan, id: uniqueId(plan.id ?? 'example') });
    expect(result.errors).toEqual({});
    expect(result.status).toBe('completed');
    expect(Object.keys(result.outputs).sort()).toEqual(plan.tasks.map((t) => t.id).sort());
  });
});
