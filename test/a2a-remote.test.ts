/**
 * Remote A2A agents in the pool (docs/a2a.md): an agent type with runtime provider `a2a` hands its task to a remote
 * agent served by @a2a-js/sdk's own server. A worker SIGKILLed while the remote task runs: the retried step resumes the
 * same remote task (the task is sent once). A remote task that needs input is the task's human-input wait. A remote
 * agent that does not stream is polled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, defaultPayloadConverter } from '@temporalio/client';
import { checkPlan } from '../src/shared/plan-check';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { planWorkflowId, taskWorkflowId } from '../src/shared/ids';
import { DEFAULT_SETTINGS } from '../src/shared/settings';
import type { PlanResult } from '../src/shared/plan';
import type { planWorkflow } from '../src/workflows/plan';
import { eventually, startHarness, startInProcessApi, testAddress, uniqueId } from './support/harness';
import { killAll, poolIdFor, startWorker, withProcessLogs } from './support/processes';
import { startRemoteA2aAgent, type RemoteA2aAgent } from './support/remote-a2a-agent';

jest.setTimeout(120_000);

const registryWith = (cardUrl: string) =>
  Registry.parse({
    agentTypes: [
      ...DEFAULT_REGISTRY.agentTypes,
      { name: 'painter', capabilities: ['painting'], runtime: { provider: 'a2a', cardUrl } },
    ],
  });

let dir: string;
const remotes: RemoteA2aAgent[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'a2a-remote-'));
});
afterAll(async () => {
  await killAll();
  for (const r of remotes) await r.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The remote task id the step has heartbeated (what a retry resumes), once the server has it. */
async function heartbeatedRemoteTask(client: Client, workflowId: string): Promise<string | undefined> {
  const desc = await client.workflow
    .getHandle(workflowId)
    .describe()
    .catch(() => undefined); // the task workflow may not have started yet
  if (!desc) return undefined;
  for (const a of desc.raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    const details = defaultPayloadConverter.fromPayload<{ a2a?: { taskId?: string } }>(payload);
    if (details?.a2a?.taskId) return details.a2a.taskId;
  }
  return undefined;
}

test('a worker killed while the remote agent works: the step resumes the same remote task, sent once', async () => {
  const remote = await startRemoteA2aAgent({ streaming: true });
  remotes.push(remote);
  const registry = registryWith(remote.cardUrl);
  const registryFile = join(dir, 'registry-kill.json');
  writeFileSync(registryFile, JSON.stringify(registry));
  const taskQueue = uniqueId('a2a-kill');
  const env = { address: testAddress(), taskQueue, extra: { AGENT_REGISTRY_FILE: registryFile } };
  const connection = await Connection.connect({ address: testAddress() });
  const client = new Client({ connection, namespace: 'default' });
  let worker = await startWorker(env, 'worker-1');
  try {
    const checked = checkPlan(
      { tasks: [{ id: 'mural', description: 'paint a slow mural', capabilities: ['painting'] }] },
      registry,
      { maxTasks: 10 },
      () => uniqueId('a2a-kill'),
    );
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const handle = await client.workflow.start<typeof planWorkflow>('planWorkflow', {
      workflowId: planWorkflowId(checked.plan.id),
      taskQueue,
      args: [
        {
          plan: checked.plan,
          settings: {
            ...DEFAULT_SETTINGS,
            heartbeatTimeoutSeconds: 2,
            retryInitialIntervalMs: 100,
            retryMaxIntervalMs: 500,
            poolId: poolIdFor(taskQueue),
          },
        },
      ],
    });
    // The remote agent has the task, and the step has recorded which one: kill the worker mid-task.
    const remoteTask = await eventually(
      () => heartbeatedRemoteTask(client, taskWorkflowId(checked.plan.id, 'mural')),
      'the step to heartbeat the remote task id',
      60_000,
    );
    expect(remote.started).toEqual([remoteTask]);
    await worker.kill('SIGKILL');
    worker = await startWorker(env, 'worker-2');
    remote.release();

    const result: PlanResult = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.outputs.mural).toEqual({ painted: 'blue', task: remoteTask });
    // One remote task, one message: the retry resumed it instead of sending the task again.
    expect(remote.started).toEqual([remoteTask]);
    expect(remote.messages.get(remoteTask)).toHaveLength(1);
    // And it was a retry of the same step on the same assignment, not a second execute.
    const history = await client.workflow.getHandle(taskWorkflowId(checked.plan.id, 'mural')).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    expect(scheduled.filter((n) => n === 'execute')).toHaveLength(1);
    const attempts = events.flatMap((e) =>
      e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 0] : [],
    );
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  } catch (err) {
    throw withProcessLogs(err);
  } finally {
    await worker.kill('SIGKILL');
    await connection.close();
  }
});

describe.each([
  ['streams', true],
  ['does not stream (polled)', false],
])('a remote agent that %s', (_name, streaming) => {
  test('its input-required is the task waiting for a human; the answer goes back to the same remote task', async () => {
    const remote = await startRemoteA2aAgent({ streaming });
    remotes.push(remote);
    const registry = registryWith(remote.cardUrl);
    const h = await startHarness({ registry });
    const api = await startInProcessApi(h, {}, registry);
    try {
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${api.base}${path}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      if (streaming) {
        // Registered over HTTP without capabilities, an a2a type takes them from the remote card: one per skill.
        const put = await call('PUT', '/v1/agent-types/muralist', {
          runtime: { provider: 'a2a', cardUrl: remote.cardUrl },
        });
        expect(put.status).toBe(201);
        expect(put.body.capabilities).toEqual(['paint']);
        const bad = await call('PUT', '/v1/agent-types/nobody', { runtime: { provider: 'offline' } });
        expect(bad.status).toBe(400);
      }
      const planId = uniqueId('a2a-ask');
      const submitted = await call('POST', '/v1/plans', {
        id: planId,
        tasks: [{ id: 'door', description: 'ask, then paint the door', capabilities: ['painting'] }],
      });
      expect(submitted.status).toBe(202);
      const waiting = await eventually(async () => {
        const t = await call('GET', `/v1/plans/${planId}/tasks/door`);
        return t.body.state === 'waiting' ? t.body : undefined;
      }, 'the task to wait for a human');
      expect(waiting.input).toMatchObject({ kind: 'input', description: 'which colour?' });
      const answered = await call('POST', `/v1/plans/${planId}/tasks/door/input`, { approved: true, data: 'green' });
      expect(answered.status).toBe(200);
      const result = await call('GET', `/v1/plans/${planId}/result?wait=30`);
      expect(result.body).toMatchObject({ status: 'completed' });
      const [remoteTask] = remote.started;
      expect(remote.started).toHaveLength(1);
      expect((result.body.outputs as Record<string, unknown>).door).toEqual({ painted: 'green', task: remoteTask });
      expect(remote.messages.get(remoteTask as string)).toHaveLength(2);
    } finally {
      await api.close();
      await h.close();
    }
  });
});

test('a task cancelled while its remote agent works cancels the remote task too', async () => {
  const remote = await startRemoteA2aAgent({ streaming: true });
  remotes.push(remote);
  const registry = registryWith(remote.cardUrl);
  const h = await startHarness({ registry });
  const api = await startInProcessApi(h, { HEARTBEAT_TIMEOUT_SECONDS: '3' }, registry);
  try {
    const planId = uniqueId('a2a-cancel');
    const submitted = await fetch(`${api.base}/v1/plans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: planId,
        tasks: [{ id: 'wall', description: 'slow wall', capabilities: ['painting'] }],
      }),
    });
    expect(submitted.status).toBe(202);
    const [remoteTask] = await eventually(
      async () => (remote.started.length > 0 ? remote.started : undefined),
      'the remote agent to get the task',
    );
    const cancel = await fetch(`${api.base}/v1/plans/${planId}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    const result = await fetch(`${api.base}/v1/plans/${planId}/result?wait=30`);
    expect(await result.json()).toMatchObject({ status: 'cancelled' });
    expect(remote.cancelled).toEqual([remoteTask]);
  } finally {
    await api.close();
    await h.close();
  }
});
