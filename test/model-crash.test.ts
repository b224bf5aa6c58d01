/**
 * A worker process running a model agent is SIGKILLed between two model calls of its agent loop. The finished calls
 * (reasoning, the first turn, the tool call) must not be paid for again: only the call that was in flight is repeated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { checkPlan } from '../src/shared/plan-check';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { planWorkflowId } from '../src/shared/ids';
import { DEFAULT_SETTINGS } from '../src/shared/settings';
import { type PlanResult } from '../src/shared/plan';
import type { planWorkflow } from '../src/workflows/plan';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI } from './support/fake-openai';
import { testAddress, uniqueId } from './support/harness';
import { killAll, liveProcesses, poolIdFor, startWorker } from './support/processes';

jest.setTimeout(120_000);

const isReason = (req: ChatRequest) => JSON.stringify(req.messages).includes('how will you approach this task');
const hasToolResult = (req: ChatRequest) => req.messages.some((m) => m.role === 'tool');
const kind = (req: ChatRequest) => (isReason(req) ? 'reason' : hasToolResult(req) ? 'turn2' : 'turn1');

let client: Client;
let connection: Connection;
let fake: FakeOpenAI;
let dir: string;
let release: () => void = () => undefined;
beforeAll(async () => {
  connection = await Connection.connect({ address: testAddress() });
  client = new Client({ connection, namespace: 'default' });
  dir = mkdtempSync(join(tmpdir(), 'model-crash-'));
  const held = new Promise<void>((r) => (release = r));
  let turn2 = 0;
  fake = await startFakeOpenAI((req) => {
    const k = kind(req);
    if (k === 'reason') return { content: 'look at the clock, then answer' };
    if (k === 'turn1') return { toolCalls: [{ name: 'current_time', args: {} }] };
    // The first time the second turn is asked for, hold it: the worker gets killed while it waits.
    return turn2++ === 0 ? { hold: held, then: { content: 'too late' } } : { content: 'final answer' };
  });
});
afterAll(async () => {
  release();
  await killAll();
  await fake?.close();
  await connection?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL between two model calls: the finished calls are not repeated', async () => {
  const taskQueue = uniqueId('crash');
  const registry = Registry.parse({
    agentTypes: [
      ...DEFAULT_REGISTRY.agentTypes,
      {
        name: 'analyst',
        capabilities: ['analysis'],
        runtime: {
          provider: 'openai-compatible',
          model: 'local-model',
          baseUrl: fake.baseUrl,
          tools: ['current_time'],
        },
      },
    ],
  });
  const registryFile = join(dir, 'registry.json');
  writeFileSync(registryFile, JSON.stringify(registry));
  const env = {
    address: testAddress(),
    taskQueue,
    extra: { AGENT_REGISTRY_FILE: registryFile, BLOB_STORE_DIR: join(dir, 'blobs') },
  };
  let worker = await startWorker(env, 'worker-1');
  try {
    const checked = checkPlan(
      { tasks: [{ id: 'clock', description: 'what time is it?', capabilities: ['analysis'] }] },
      registry,
      { maxTasks: 10 },
      () => uniqueId('crash'),
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
    // Wait until the second turn is in flight, then kill the worker mid-call.
    for (let i = 0; !fake.requests.some((q) => kind(q) === 'turn2'); i++) {
      if (i > 300) throw new Error('the second model turn never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    await worker.kill('SIGKILL');
    release();
    worker = await startWorker(env, 'worker-2');

    const result: PlanResult = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.outputs.clock).toBe('final answer');
    const calls = fake.requests.map(kind);
    expect(calls.filter((k) => k === 'reason')).toHaveLength(1);
    expect(calls.filter((k) => k === 'turn1')).toHaveLength(1);
    expect(calls.filter((k) => k === 'turn2')).toHaveLength(2); // the call that was in flight, and its retry
    // The tool call between the two model calls ran once too.
    const history = await client.workflow.getHandle(`${planWorkflowId(checked.plan.id)}-task-clock`).fetchHistory();
    const scheduled = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    expect(scheduled.filter((n) => n === 'callTool')).toHaveLength(1);
    expect(scheduled.filter((n) => n === 'execute')).toHaveLength(2);
  } catch (err) {
    const logs = liveProcesses()
      .map((p) => `--- ${p.name} ---\n${p.output().slice(-3_000)}`)
      .join('\n');
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  } finally {
    await worker.kill('SIGKILL');
  }
});
