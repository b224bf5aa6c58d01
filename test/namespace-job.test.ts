import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import definitions from '../src/shared/custom-search-attributes.json';
import { ROOT } from './support/compose-file';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('../scripts/temporal-cli.cjs') as { ensureTemporalCli: () => string };

/**
 * docker/temporal-namespace.sh, the compose job that creates the namespace and registers the search attributes, run
 * for real with the `temporal` CLI against the test run's Temporal server (in Docker it runs in temporalio/admin-tools).
 */
const address = process.env.TEST_TEMPORAL_ADDRESS!;
const SA_FILE = join(ROOT, 'src/shared/custom-search-attributes.json');

function runJob(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn('sh', [join(ROOT, 'docker/temporal-namespace.sh')], {
      env: {
        PATH: `${dirname(ensureTemporalCli())}:${process.env.PATH}`,
        TEMPORAL_ADDRESS: address,
        SEARCH_ATTRIBUTES_FILE: SA_FILE,
        SLEEP_SECONDS: '1',
        MAX_ATTEMPTS: '20',
        ...env,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => done({ code, out }));
  });
}

let connection: Connection;
beforeAll(async () => {
  connection = await Connection.connect({ address });
});
afterAll(() => connection.close());

const customAttributes = async (namespace: string) =>
  (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};

test('creates a missing namespace and registers every attribute of the list as Keyword; a second run changes nothing', async () => {
  const namespace = `compose-job-${Date.now()}`;
  const first = await runJob({ TEMPORAL_NAMESPACE: namespace, NAMESPACE_RETENTION: '24h' });
  expect([first.code, first.out]).toEqual([0, expect.stringContaining(`namespace '${namespace}': created`)]);
  const registered = await customAttributes(namespace);
  for (const name of Object.keys(definitions)) expect([name, registered[name]]).toEqual([name, 2]); // KEYWORD
  const described = await connection.workflowService.describeNamespace({ namespace });
  expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(24 * 3600);

  const second = await runJob({ TEMPORAL_NAMESPACE: namespace });
  expect(second.code).toBe(0);
  expect(second.out).toContain(`namespace '${namespace}': present`);
  expect(second.out.match(/: Keyword \(present\)/g)).toHaveLength(Object.keys(definitions).length);
});

test('an attribute registered with another type stops the job, naming it', async () => {
  const namespace = `compose-job-conflict-${Date.now()}`;
  await new Promise<void>((done, fail) =>
    spawn(ensureTemporalCli(), ['operator', 'namespace', 'create', '--address', address, '--namespace', namespace])
      .on('close', (code) => (code === 0 ? done() : fail(new Error(`namespace create exited ${code}`))))
      .on('error', fail),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { PlanId: 1 } }); // TEXT
  const run = await runJob({ TEMPORAL_NAMESPACE: namespace });
  expect(run.code).toBe(1);
  expect(run.out).toMatch(/PlanId exists with type \S+, expected Keyword/);
});

test('a list it cannot read stops the job before it connects, naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-list-'));
  const bad = join(dir, 'attrs.json');
  writeFileSync(bad, '{ "PlanId": "Keyword", "Count": 3 }');
  const run = await runJob({ TEMPORAL_NAMESPACE: 'never-created', SEARCH_ATTRIBUTES_FILE: bad });
  expect(run.code).toBe(2);
  expect(run.out).toContain(`${bad}: could not read every entry`);
  const missing = await runJob({ SEARCH_ATTRIBUTES_FILE: join(dir, 'absent.json') });
  expect([missing.code, missing.out]).toEqual([2, expect.stringContaining('cannot read the search attribute list')]);
});
