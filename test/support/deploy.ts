/** Helpers for the deploy tests (worker versioning, graceful shutdown, pre-built bundle) over spawned worker processes. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { checkPlan } from '../../src/shared/plan-check';
import { type PlanInput } from '../../src/shared/plan';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import { planWorkflowId } from '../../src/shared/ids';
import { PlanIdKey } from '../../src/shared/search-attributes';
import { DEFAULT_SETTINGS } from '../../src/shared/settings';
import type { planWorkflow } from '../../src/workflows/plan';
import { killAll, poolIdFor } from './processes';
import { testAddress, uniqueId } from './harness';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('../../scripts/temporal-cli.cjs') as { ensureTemporalCli: () => string };

const run = promisify(execFile);

/** Runs the `temporal` CLI against the test server; resolves with stdout, rejects with its stderr. */
export async function temporalCli(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(ensureTemporalCli(), [...args, '--address', testAddress()], { timeout: 30_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`temporal ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

/**
 * For tests over spawned processes: connects a client to the run's dev server before the file's (or block's) tests
 * and hands it to `set`, kills the processes each test spawned after it, and closes the connection at the end.
 */
export function useTestClient(set: (client: Client) => void): void {
  let connection: Connection | undefined;
  beforeAll(async () => {
    connection = await Connection.connect({ address: testAddress() });
    set(new Client({ connection, namespace: 'default' }));
  });
  afterEach(() => killAll());
  afterAll(() => connection?.close());
}

/** Starts a plan workflow directly, stamped as the API of a spawned process (support/processes.ts) would stamp it. */
export async function startPlan(client: Client, taskQueue: string, body: PlanInput): Promise<string> {
  const checked = checkPlan(body, DEFAULT_REGISTRY, { maxTasks: 10_000, allowSimulate: true }, () => uniqueId('plan'));
  if (!checked.ok) throw new Error(`test plan is invalid: ${JSON.stringify(checked.issues)}`);
  const workflowId = planWorkflowId(checked.plan.id);
  await client.workflow.start<typeof planWorkflow>('planWorkflow', {
    workflowId,
    taskQueue,
    args: [
      {
        plan: checked.plan,
        settings: {
          ...DEFAULT_SETTINGS,
          agentTimeoutSeconds: 60,
          heartbeatTimeoutSeconds: 2,
          retryInitialIntervalMs: 100,
          retryMaxIntervalMs: 500,
          poolId: poolIdFor(taskQueue),
        },
      },
    ],
    typedSearchAttributes: [{ key: PlanIdKey, value: checked.plan.id }],
  });
  return workflowId;
}

export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export async function historyOf(client: Client, workflowId: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

/** The build id stamped on each completed workflow task of a history (which worker version ran it). */
export const workflowTaskBuildIds = (events: HistoryEvent[]): string[] =>
  events
    .filter((e) => e.workflowTaskCompletedEventAttributes)
    .map((e) => e.workflowTaskCompletedEventAttributes?.deploymentVersion?.buildId ?? '(unversioned)');
