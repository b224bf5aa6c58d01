/**
 * Worker Versioning with real worker processes (docs/operations-deploy.md): version A is current, a plan starts on it and waits
 * for a human; version B is deployed and made current with the `temporal` CLI; a new plan runs on B while the old one
 * (and the task it starts after the switch) finishes on A; the pool moves to B; A drains.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { taskInputUpdate, taskStatusQuery } from '../src/workflows/messages';
import type { PlanResult } from '../src/shared/plan';
import { historyOf, startPlan, temporalCli, workflowTaskBuildIds, useTestClient } from './support/deploy';
import { eventually, testAddress, uniqueId } from './support/harness';
import { withProcessLogs, poolIdFor, startWorker } from './support/processes';

const { VersioningBehavior } = temporal.api.enums.v1;

let client: Client;
useTestClient((c) => (client = c));

const taskQueue = uniqueId('tq-versions');
const deployment = uniqueId('deploy');

function versionedWorker(buildId: string) {
  return startWorker(
    {
      address: testAddress(),
      taskQueue,
      extra: {
        WORKER_DEPLOYMENT_NAME: deployment,
        WORKER_BUILD_ID: buildId,
        WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE as string,
      },
    },
    `worker-${buildId}`,
  );
}

/** `set-current-version`, retried until the server has seen the version's pollers. */
const makeCurrent = (buildId: string) =>
  eventually(
    () =>
      temporalCli(
        'worker',
        'deployment',
        'set-current-version',
        '--deployment-name',
        deployment,
        '--build-id',
        buildId,
        '--yes',
      ).catch(() => undefined),
    `version ${buildId} to become current`,
  );

const drainage = async (buildId: string): Promise<string | undefined> => {
  const out = await temporalCli(
    'worker',
    'deployment',
    'describe-version',
    '--deployment-name',
    deployment,
    '--build-id',
    buildId,
    '--output',
    'json',
  );
  return (JSON.parse(out) as { drainageInfo?: { drainageStatus?: string } }).drainageInfo?.drainageStatus;
};

const versioningOf = async (workflowId: string) =>
  (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.versioningInfo;

test('an old plan finishes on the build it started on while new plans take the new current build', async () => {
  try {
    await versionedWorker('A');
    await makeCurrent('A');
    const oldPlan = await startPlan(client, taskQueue, {
      id: uniqueId('old'),
      mode: 'sequential',
      tasks: [
        { id: 'ask', description: 'wait for a human', capabilities: ['writing'], awaitInput: true },
        { id: 'after', description: 'runs once the human answered', capabilities: ['writing'] },
      ],
    });
    const ask = client.workflow.getHandle(`${oldPlan}-task-ask`);
    await eventually(
      async () => ((await ask.query(taskStatusQuery).catch(() => undefined))?.state === 'waiting' ? true : undefined),
      'the old plan to wait for a human',
    );

    await versionedWorker('B');
    await makeCurrent('B');
    expect(await drainage('A')).toBe('draining'); // the old plan is still open on A

    const newPlan = await startPlan(client, taskQueue, {
      id: uniqueId('new'),
      mode: 'sequential',
      tasks: [{ id: 'write', description: 'write', capabilities: ['writing'] }],
    });
    expect((await client.workflow.getHandle<() => Promise<PlanResult>>(newPlan).result()).status).toBe('completed');

    await ask.executeUpdate(taskInputUpdate, { args: [{ approved: true }] });
    const old = await client.workflow.getHandle<() => Promise<PlanResult>>(oldPlan).result();
    expect(old.status).toBe('completed');
    expect(Object.keys(old.outputs).sort()).toEqual(['after', 'ask']);

    // Every workflow task of the old plan and its tasks ran on A ('after' started once B was current: it inherits A).
    for (const id of [oldPlan, `${oldPlan}-task-ask`, `${oldPlan}-task-after`]) {
      const builds = workflowTaskBuildIds(await historyOf(client, id));
      expect({ id, builds: [...new Set(builds)] }).toEqual({ id, builds: ['A'] });
    }
    for (const id of [newPlan, `${newPlan}-task-write`]) {
      const builds = workflowTaskBuildIds(await historyOf(client, id));
      expect({ id, builds: [...new Set(builds)] }).toEqual({ id, builds: ['B'] });
    }
    const oldInfo = await versioningOf(oldPlan);
    expect(oldInfo?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_PINNED);
    expect(oldInfo?.deploymentVersion?.buildId).toBe('A');

    // The pool is AUTO_UPGRADE: it ran on A, then moved to B once B was current.
    const pool = poolIdFor(taskQueue);
    const poolInfo = await versioningOf(pool);
    expect(poolInfo?.behavior).toBe(VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE);
    expect(poolInfo?.deploymentVersion?.buildId).toBe('B');
    const poolBuilds = workflowTaskBuildIds(await historyOf(client, pool));
    expect(poolBuilds[0]).toBe('A');
    expect(poolBuilds[poolBuilds.length - 1]).toBe('B');

    // Nothing is pinned to A any more: it drains (global setup shortens the server's drainage checks).
    await eventually(
      async () => ((await drainage('A')) === 'drained' ? true : undefined),
      'version A to drain',
      45_000,
    );
  } catch (err) {
    throw withProcessLogs(err);
  }
}, 150_000);
