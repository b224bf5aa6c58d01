import type { AiRuntime, ToolRunner } from '../src/activities/types';
import { OfflineRuntime } from '../src/activities/offline-runtime';
import { ApplicationFailure } from '@temporalio/common';
import { poolStatusQuery, planStatusQuery } from '../src/workflows/messages';
import type { PoolView } from '../src/shared/pool';
import { startHarness, uniqueId } from './support/harness';

describe('failure handling', () => {
  test('a hung agent is detected by its heartbeat timeout, not the step timeout', async () => {
    const h = await startHarness();
    try {
      const r = await h.run(
        {
          tasks: [
            {
              id: 'stuck',
              description: 'x',
              maxRetries: 0,
              maxReassignments: 0,
              timeoutSeconds: 300,
              input: { simulate: { hang: true } },
            },
          ],
        },
        { heartbeatTimeoutSeconds: 2 },
      );
      expect(r.status).toBe('failed');
      expect(r.errors.stuck?.message).toMatch(/heartbeat/i);
      expect(r.errors.stuck?.type).toBe('TimeoutFailure');
    } finally {
      await h.close();
    }
  });

  test('a retried execute step hands the tool runner the same idempotency key, so the side effect happens once', async () => {
    const effects = new Map<string, number>();
    const keys: string[] = [];
    const tools: ToolRunner = {
      async list() {
        return [{ name: 'charge-card', inputSchema: { type: 'object' } }];
      },
      async call(_name, _args, { idempotencyKey }) {
        keys.push(idempotencyKey);
        if (!effects.has(idempotencyKey)) effects.set(idempotencyKey, 1); // the tool de-duplicates by key
        return { charged: true };
      },
    };
    const offline = new OfflineRuntime();
    const runtime: AiRuntime = {
      reason: (ctx, c) => offline.reason(ctx, c),
      validate: (ctx, c) => offline.validate(ctx, c),
      review: (ctx, c) => offline.review(ctx, c),
      async act(_ctx, control, env) {
        const receipt = await env.tools.call(
          'charge-card',
          { amount: 5 },
          { idempotencyKey: control.idempotencyKey, agentId: _ctx.agentId },
        );
        if (control.attempt === 1)
          throw ApplicationFailure.create({ type: 'NetworkBlip', message: 'connection reset after the charge' });
        return receipt;
      },
    };
    const h = await startHarness({ deps: { runtime: () => runtime, tools } });
    try {
      const r = await h.run({ id: uniqueId('idem'), tasks: [{ id: 'pay', description: 'charge the card' }] });
      expect(r.status).toBe('completed');
      expect(keys).toHaveLength(2);
      expect(keys[0]).toBe(keys[1]);
      expect(keys[0]).toMatch(new RegExp(`^plan-${r.planId}-task-pay/`));
      expect([...effects.values()]).toEqual([1]);
    } finally {
      await h.close();
    }
  });

  test('an instance that keeps failing is quarantined and the pool stops handing it out', async () => {
    const h = await startHarness({ pool: { maxAgents: 1, quarantineAfter: 2 } });
    try {
      const failing = (id: string) => ({
        id,
        description: 'x',
        maxRetries: 0,
        maxReassignments: 0,
        input: { simulate: { alwaysFail: true } },
      });
      // One agent, one task at a time, so the same instance meets both failures.
      const r = await h.run({
        maxConcurrency: 1,
        failurePolicy: 'continue',
        tasks: [failing('f1'), failing('f2'), { id: 'ok', description: 'fine' }],
      });
      expect(r.errors.f1?.state).toBe('failed');
      expect(r.errors.f2?.state).toBe('failed');
      const view: PoolView = await h.client.workflow.getHandle(h.poolId).query(poolStatusQuery);
      const quarantined = view.recentlyTerminated.find((a) => a.id === 'generalist-1');
      expect(quarantined?.transitions.map((t) => t.state).slice(-4)).toEqual([
        'idle',
        'assigned',
        'failed',
        'terminated',
      ]);
      expect(quarantined?.failures).toBe(2);
      const ok = (await h.client.workflow.getHandle(`plan-${r.planId}`).query(planStatusQuery)).tasks.find(
        (t) => t.id === 'ok',
      );
      expect(ok?.agentId).toBe('generalist-2');
    } finally {
      await h.close();
    }
  });
});
