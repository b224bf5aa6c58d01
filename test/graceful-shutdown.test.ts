/**
 * Graceful shutdown of a real worker process (docs/operations-deploy.md): SIGTERM while a slow step runs on it; the worker
 * stops taking work, lets the step finish (one attempt, completed by this worker: not retried, not lost) and exits 0;
 * a second worker runs the rest of the plan.
 */
import { hostname } from 'node:os';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { PlanResult } from '../src/shared/plan';
import { historyOf, startPlan, useTestClient } from './support/deploy';
import { eventually, testAddress, uniqueId } from './support/harness';
import { withProcessLogs, startWorker, type OrchestratorEnv } from './support/processes';

const { PendingActivityState } = temporal.api.enums.v1;

let client: Client;
useTestClient((c) => (client = c));

test('SIGTERM lets the running step finish on the worker, which exits 0; another worker completes the plan', async () => {
  const env: OrchestratorEnv = {
    address: testAddress(),
    taskQueue: uniqueId('tq-shutdown'),
    extra: {
      WORKER_SHUTDOWN_GRACE_SECONDS: '120',
      WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE as string,
    },
  };
  try {
    const first = await startWorker(env, 'worker-1');
    const plan = await startPlan(client, env.taskQueue, {
      id: uniqueId('shutdown'),
      mode: 'sequential',
      tasks: [
        // Each of its three steps takes 3 s, heartbeating every second.
        { id: 'slow', description: 'slow step', capabilities: ['writing'], input: { simulate: { latencyMs: 3_000 } } },
        { id: 'next', description: 'runs after', capabilities: ['writing'] },
      ],
    });
    const slowTask = client.workflow.getHandle(`${plan}-task-slow`);
    const inFlight = await eventually(async () => {
      const desc = await slowTask.describe().catch(() => undefined);
      return desc?.raw.pendingActivities?.find((a) => a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    }, 'a step of the slow task to run on worker-1');
    const firstIdentity = `${first.pid}@${hostname()}`;
    expect(inFlight.lastWorkerIdentity).toBe(firstIdentity);

    const exit = first.kill('SIGTERM');
    const second = await startWorker(env, 'worker-2');
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(first.output()).toMatch(/worker stopped/);

    const result = await client.workflow.getHandle<() => Promise<PlanResult>>(plan).result();
    expect(result.status).toBe('completed');
    expect(Object.keys(result.outputs).sort()).toEqual(['next', 'slow']);

    // The step in flight at SIGTERM: one attempt, started and completed by worker-1.
    const events = await historyOf(client, `${plan}-task-slow`);
    const scheduled = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityId === inFlight.activityId,
    )?.eventId;
    expect(String(scheduled)).toMatch(/^[1-9]\d*$/); // the scheduling event's id
    const started = events.filter(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled),
    );
    const completed = events.filter(
      (e) =>
        e.activityTaskCompletedEventAttributes &&
        String(e.activityTaskCompletedEventAttributes.scheduledEventId) === String(scheduled),
    );
    expect(
      started.map((e) => [
        e.activityTaskStartedEventAttributes?.attempt,
        e.activityTaskStartedEventAttributes?.identity,
      ]),
    ).toEqual([[1, firstIdentity]]);
    expect(completed.map((e) => e.activityTaskCompletedEventAttributes?.identity)).toEqual([firstIdentity]);
    // No step of the task failed or timed out, and worker-2 ran what came after.
    expect(events.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes)).toEqual(
      [],
    );
    const nextEvents = await historyOf(client, `${plan}-task-next`);
    expect(
      nextEvents.some((e) => e.workflowTaskCompletedEventAttributes?.identity === `${second.pid}@${hostname()}`),
    ).toBe(true);
  } catch (err) {
    throw withProcessLogs(err);
  }
}, 120_000);
