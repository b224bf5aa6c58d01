/**
 * Records workflow histories that the replay test (test/replay.test.ts) replays against the current workflow code, so a
 * change that would break running workflows fails CI. Run after an intended, versioned change to workflow logic:
 *   npx ts-node --transpile-only scripts/record-histories.ts            every plan, and the pool
 *   npx ts-node --transpile-only scripts/record-histories.ts model      just the named plans (keeps the other fixtures)
 * The `model` plan runs a model agent against the tests' local OpenAI-compatible server (agent loop, tool call, usage
 * reports, budget).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection } from '@temporalio/worker';
import { checkPlan } from '../src/shared/plan-check';
import { type PlanInput, type PlanSpec } from '../src/shared/plan';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { startFakeOpenAI, type ChatRequest } from '../test/support/fake-openai';
import { DEFAULT_SETTINGS } from '../src/shared/settings';
import { buildDeps, createWorker } from '../src/worker';
import { cancelTaskSignal, upsertAgentTypeUpdate } from '../src/workflows/messages';
import { signalPool } from '../src/activities/pool';
import { startDevServer } from './dev-server';

const out = resolve(__dirname, '../test/fixtures/histories');
const settings = {
  ...DEFAULT_SETTINGS,
  retryInitialIntervalMs: 50,
  retryMaxIntervalMs: 100,
  heartbeatTimeoutSeconds: 2,
};

const plans: Record<string, PlanInput> = {
  dag: {
    id: 'replay-dag',
    failurePolicy: 'continue',
    tasks: [
      { id: 'research', description: 'facts', capabilities: ['research'], input: { simulate: { failAttempts: 1 } } },
      {
        id: 'code',
        description: 'code',
        capabilities: ['coding'],
        input: { simulate: { send: [{ to: 'report', body: 'hi' }] } },
      },
      {
        id: 'ask',
        description: 'waits for input',
        awaitInput: true,
        inputTimeoutSeconds: 1,
        onInputTimeout: 'default',
        defaultInput: 1,
      },
      { id: 'report', description: 'report', dependsOn: ['research', 'code'] },
      {
        id: 'broken',
        description: 'fails',
        maxRetries: 0,
        maxReassignments: 1,
        input: { simulate: { alwaysFail: true } },
      },
      { id: 'after-broken', description: 'skipped', dependsOn: ['broken'] },
      { id: 'cancel-me', description: 'cancelled', input: { simulate: { latencyMs: 20_000 } } },
    ],
  },
  hierarchical: {
    id: 'replay-hier',
    mode: 'hierarchical',
    tasks: [
      {
        id: 'lead',
        description: 'coordinate',
        subtasks: [
          { id: 'a', description: 'a' },
          { id: 'b', description: 'b', dependsOn: ['a'] },
        ],
      },
      {
        id: 'dyn',
        description: 'decompose',
        agentType: 'coordinator',
        input: { simulate: { subtasks: [{ id: 'x', description: 'x' }] } },
      },
    ],
  },
};

plans.model = {
  id: 'replay-model',
  mode: 'sequential',
  budget: { maxTokens: 60 },
  tasks: [
    { id: 'clock', description: 'what time is it?', capabilities: ['analysis'] },
    { id: 'second', description: 'runs out of budget', capabilities: ['analysis'] },
    { id: 'third', description: 'never starts', capabilities: ['analysis'] },
  ],
};

// Short tasks inline in the plan (one of them handed over to a task workflow after failing inline), and a task with an
// output contract and a reviewer, revised twice (a schema rejection, then a reviewer's).
plans.reviewed = {
  id: 'replay-reviewed',
  tasks: [
    { id: 'quick', description: 'runs inline' },
    { id: 'flaky', description: 'fails inline once', maxRetries: 0, input: { simulate: { failOnAgents: 1 } } },
    {
      id: 'note',
      description: 'a reviewed note',
      capabilities: ['writing'],
      acceptance: 'a title and two points',
      output: { schema: { type: 'object', required: ['title', 'points'] } },
      review: { capabilities: ['review'] },
      input: {
        simulate: {
          outputs: [{ title: 't' }, { title: 't', points: ['a'] }, { title: 't', points: ['a', 'b'] }],
          verdicts: [{ accepted: true }, { accepted: false, reasons: ['two points'] }],
        },
      },
    },
  ],
};

// A plan a Temporal Schedule starts (docs/schedules.md): its id comes from its workflow id, it sets its own PlanId.
plans.scheduled = {
  id: 'replay-scheduled',
  tasks: [
    { id: 'one', description: 'one' },
    { id: 'two', description: 'two', dependsOn: ['one'] },
  ],
};
const isReason = (req: ChatRequest) => JSON.stringify(req.messages).includes('how will you approach this task');

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !(n in plans));
  if (unknown.length > 0)
    throw new Error(`unknown plan(s) ${unknown.join(', ')}; known: ${Object.keys(plans).join(', ')}`);
  const fake = await startFakeOpenAI((req) => {
    if (isReason(req)) return { content: 'plan' }; // 15 tokens
    if (!req.messages.some((m) => m.role === 'tool')) return { toolCalls: [{ name: 'current_time', args: {} }] };
    return { content: 'now' };
  });
  const registry = Registry.parse({
    agentTypes: [
      ...DEFAULT_REGISTRY.agentTypes,
      {
        name: 'analyst',
        capabilities: ['analysis'],
        runtime: { provider: 'openai-compatible', model: 'm', baseUrl: fake.baseUrl, tools: ['current_time'] },
      },
    ],
  });
  const server = await startDevServer({ port: 7299 });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const deps = buildDeps(
    { AGENT_REGISTRY_FILE: undefined, OFFLINE_RUNTIME_OUTAGE_FILE: undefined, AGENT_POOL_ID: 'agent-pool', registry },
    client,
  );
  const pool = {
    policy: deps.policy,
    client,
    taskQueue: 'record',
    poolInput: () => ({
      settings: { maxAgents: 100, quarantineAfter: 3, sweepIntervalSeconds: 30, historyLimit: 10_000 },
      types: registry.agentTypes,
    }),
  };
  const worker = await createWorker({
    connection: native,
    namespace: 'default',
    taskQueue: 'record',
    deps,
    pool,
  });
  mkdirSync(out, { recursive: true });
  await worker.runUntil(async () => {
    if (only.length === 0) {
      // What the pool hears besides plans: a worker's start (its registry file), and a type the worker refuses.
      await signalPool(pool, 'agent-pool', { kind: 'configure', input: pool.poolInput() });
      await client.workflow
        .getHandle('agent-pool')
        .executeUpdate(upsertAgentTypeUpdate, {
          args: [
            {
              name: 'refused',
              capabilities: ['x'],
              runtime: { provider: 'openai', model: 'm', baseUrl: 'http://169.254.169.254/' },
            },
          ],
        })
        .catch(() => undefined);
    }
    for (const [name, body] of Object.entries(plans)) {
      if (only.length > 0 && !only.includes(name)) continue;
      const checked = checkPlan(body, registry, { maxTasks: 100, allowSimulate: true }, () => name);
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      if (name === 'scheduled') {
        await recordScheduled(client, checked.plan);
        continue;
      }
      const handle = await client.workflow.start('planWorkflow', {
        workflowId: `plan-${checked.plan.id}`,
        taskQueue: 'record',
        args: [{ plan: checked.plan, settings: { ...settings, inlineShortTasks: name === 'reviewed' } }],
      });
      if (name === 'dag') {
        await new Promise((r) => setTimeout(r, 1_500));
        await handle.signal(cancelTaskSignal, { taskId: 'cancel-me' });
      }
      console.log(name, JSON.stringify(await handle.result()).slice(0, 200));
      const ids = [handle.workflowId, ...checked.plan.tasks.map((t) => `plan-${checked.plan.id}-task-${t.id}`)];
      for (const id of ids) {
        const history = await client.workflow
          .getHandle(id)
          .fetchHistory()
          .catch(() => undefined); // tasks that were skipped never had a workflow
        if (history) writeFileSync(resolve(out, `${id}.json`), historyToJSON(history));
      }
    }
    // The pool that served the plans (it keeps running; its history so far is replayable too).
    if (only.length === 0) {
      const poolHistory = await client.workflow.getHandle('agent-pool').fetchHistory();
      writeFileSync(resolve(out, 'agent-pool.json'), historyToJSON(poolHistory));
    }
  });
  await fake.close();
  await connection.close();
  await native.close();
  await server.stop();
}

/** Starts the plan from a paused schedule triggered once, and records the run's history as plan-<plan id>.json. */
async function recordScheduled(client: Client, plan: PlanSpec): Promise<void> {
  const scheduleId = 'replay-scheduled';
  const schedule = await client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: '1h' }] },
    state: { paused: true, triggerImmediately: true },
    action: {
      type: 'startWorkflow',
      workflowType: 'planWorkflow',
      workflowId: `plan-${plan.id}`,
      taskQueue: 'record',
      args: [{ plan, settings, schedule: scheduleId }],
    },
  });
  let workflowId: string | undefined;
  while (!workflowId) {
    workflowId = (await schedule.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (!workflowId) await new Promise((r) => setTimeout(r, 200));
  }
  const handle = client.workflow.getHandle(workflowId);
  console.log('scheduled', workflowId, JSON.stringify(await handle.result()).slice(0, 200));
  await schedule.delete();
  writeFileSync(resolve(out, `plan-${plan.id}.json`), historyToJSON(await handle.fetchHistory()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
