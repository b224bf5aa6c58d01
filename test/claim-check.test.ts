import type { PlanView } from '../src/shared/plan';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startInProcessApi, startHarness, type Harness } from './support/harness';

jest.setTimeout(60_000);

const FIVE_MB = 5_000_000;

/** Every file under a directory, recursively. */
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );

describe('claim check: large outputs stay out of workflow history', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a 5 MB output passes through the blob store to its dependent and back out of the API', async () => {
    const api = await startInProcessApi(h);
    try {
      const res = await fetch(`${api.base}/v1/plans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          tasks: [
            { id: 'big', description: 'produce a lot', input: { simulate: { outputBytes: FIVE_MB } } },
            { id: 'use', description: 'read it', dependsOn: ['big'] },
          ],
        }),
      });
      expect(res.status).toBe(202);
      const { planId } = (await res.json()) as { planId: string };
      const result = await fetch(`${api.base}/v1/plans/${planId}/result?wait=30`);
      expect(result.status).toBe(200);
      const body = (await result.json()) as {
        status: string;
        outputs: { big: string; use: { dependencies: { big: string } } };
      };
      expect(body.status).toBe('completed');
      // The API resolved the claim check: the whole value, not a reference.
      expect(body.outputs.big).toHaveLength(FIVE_MB);
      expect(body.outputs.big.startsWith('big:xxxx')).toBe(true);
      // The dependent's activity was handed the value itself (the offline runtime echoes a 200-character summary).
      expect(body.outputs.use.dependencies.big).toMatch(/^big:x{196}…$/);

      // The plan's history does not hold the 5 MB (the task ran inline in it, so there is no task workflow): only a
      // reference went through Temporal.
      const view = (await (await fetch(`${api.base}/v1/plans/${planId}`)).json()) as PlanView;
      expect(view.tasks.find((t) => t.id === 'big')?.inline).toBe(true);
      const desc = await h.client.workflow.getHandle(`plan-${planId}`).describe();
      expect(Number(desc.raw.workflowExecutionInfo?.historySizeBytes)).toBeLessThan(100_000);
      const blobs = files(process.env.TEST_BLOB_DIR as string);
      expect(blobs.some((f) => f.endsWith('.json'))).toBe(true);
    } finally {
      await api.close();
    }
  });

  test('twenty outputs just under the threshold (2.4 MB together) reach their dependent and the API by reference', async () => {
    const api = await startInProcessApi(h);
    try {
      const parts = Array.from({ length: 20 }, (_, i) => ({
        id: `part${i}`,
        description: 'produce',
        input: { simulate: { outputBytes: 120_000 } },
      }));
      const res = await fetch(`${api.base}/v1/plans`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          maxConcurrency: 20,
          tasks: [...parts, { id: 'all', description: 'combine', dependsOn: parts.map((p) => p.id) }],
        }),
      });
      const { planId } = (await res.json()) as { planId: string };
      const body = (await (await fetch(`${api.base}/v1/plans/${planId}/result?wait=60`)).json()) as {
        status: string;
        outputs: Record<string, unknown>;
      };
      expect(body.status).toBe('completed');
      for (const p of parts) expect(body.outputs[p.id]).toHaveLength(120_000);
      const all = body.outputs.all as { dependencies: Record<string, string> };
      expect(Object.keys(all.dependencies)).toHaveLength(20);
      expect(all.dependencies.part7).toMatch(/^part7:x+…$/);
      // The parts ran inline: the plan kept references to their outputs, not 2.4 MB.
      const desc = await h.client.workflow.getHandle(`plan-${planId}`).describe();
      expect(Number(desc.raw.workflowExecutionInfo?.historySizeBytes)).toBeLessThan(200_000);
    } finally {
      await api.close();
    }
  });
});
