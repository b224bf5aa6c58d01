import { ConfigError, loadConfig } from '../../src/config';
import { DEFAULT_SIZING, workerSizing } from '../../src/worker/sizing';

describe('worker sizing (WORKER_* variables)', () => {
  test('by default a worker holds 2,000 activities, 200 local activities and 40 workflow tasks; polls autoscale', () => {
    expect(DEFAULT_SIZING).toEqual({
      maxConcurrentActivityTaskExecutions: 2_000,
      maxConcurrentLocalActivityExecutions: 200,
      maxConcurrentWorkflowTaskExecutions: 40,
      activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 5, maximum: 20 },
    });
  });

  test('the variables set each budget; a cache size of 0 leaves the SDK its own', () => {
    const config = loadConfig(
      {
        WORKER_MAX_ACTIVITIES: '5000',
        WORKER_MAX_LOCAL_ACTIVITIES: '50',
        WORKER_MAX_WORKFLOW_TASKS: '8',
        WORKER_MAX_CACHED_WORKFLOWS: '6000',
        WORKER_ACTIVITY_POLLERS: '3',
      },
      'worker',
    );
    expect(workerSizing(config)).toEqual({
      maxConcurrentActivityTaskExecutions: 5_000,
      maxConcurrentLocalActivityExecutions: 50,
      maxConcurrentWorkflowTaskExecutions: 8,
      maxCachedWorkflows: 6_000,
      activityTaskPollerBehavior: { type: 'autoscaling', minimum: 1, initial: 3, maximum: 3 },
    });
  });

  test('WORKER_TUNER=resource hands the budgets to the resource-based tuner as its maximums', () => {
    const sizing = workerSizing(loadConfig({ WORKER_TUNER: 'resource', WORKER_MAX_ACTIVITIES: '3000' }, 'worker'));
    expect(sizing.maxConcurrentActivityTaskExecutions).toBeUndefined();
    expect(sizing.tuner).toEqual({
      tunerOptions: { targetCpuUsage: 0.9, targetMemoryUsage: 0.8 },
      activityTaskSlotOptions: { maximumSlots: 3_000 },
      localActivityTaskSlotOptions: { maximumSlots: 200 },
      workflowTaskSlotOptions: { maximumSlots: 40 },
    });
  });

  test('a bad value stops the worker with a message naming the variable', () => {
    expect(() => loadConfig({ WORKER_MAX_ACTIVITIES: '0' }, 'worker')).toThrow(ConfigError);
    expect(() => loadConfig({ WORKER_MAX_ACTIVITIES: '0' }, 'worker')).toThrow(/WORKER_MAX_ACTIVITIES="0"/);
    expect(() => loadConfig({ WORKER_TUNER: 'auto' }, 'worker')).toThrow(/WORKER_TUNER="auto"/);
  });
});
