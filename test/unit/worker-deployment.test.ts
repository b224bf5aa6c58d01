import { ConfigError, loadConfig } from '../../src/config';
import { deploymentOptions, shutdownOptions } from '../../src/worker/deployment';

describe('worker deployment settings', () => {
  test('unversioned unless WORKER_BUILD_ID is set; 30 s of grace by default', () => {
    const config = loadConfig({});
    expect(deploymentOptions(config)).toEqual({});
    expect(shutdownOptions(config)).toEqual({ shutdownGraceTime: 30_000, shutdownForceTime: 45_000 });
  });

  test('WORKER_BUILD_ID makes the worker a version of WORKER_DEPLOYMENT_NAME (AUTO_UPGRADE unless a workflow pins itself)', () => {
    const config = loadConfig({ WORKER_BUILD_ID: '2026-11-27.abc123', WORKER_SHUTDOWN_GRACE_SECONDS: '5' });
    expect(deploymentOptions(config)).toEqual({
      workerDeploymentOptions: {
        useWorkerVersioning: true,
        version: { deploymentName: 'agent-orchestrator', buildId: '2026-11-27.abc123' },
        defaultVersioningBehavior: 'AUTO_UPGRADE',
      },
    });
    expect(shutdownOptions(config)).toEqual({ shutdownGraceTime: 5_000, shutdownForceTime: 20_000 });
  });

  test.each([
    ['WORKER_BUILD_ID', 'has space'],
    ['WORKER_DEPLOYMENT_NAME', 'with.dot'],
    ['WORKER_SHUTDOWN_GRACE_SECONDS', '-1'],
  ])('a bad %s is named in the error', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=${JSON.stringify(value)}`));
  });
});
