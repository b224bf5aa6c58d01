import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { AgentTypePolicy } from '../../src/activities/agent-type-policy';
import { McpConnections } from '../../src/activities/tools';
import { AgentType } from '../../src/shared/agent-type';
import { DEFAULT_REGISTRY } from '../../src/shared/registry';
import { loadConfig } from '../../src/config';
import { workerPolicy } from '../../src/worker';

/** The worker's own checks (docs/security.md): what its registry file and WORKER_ALLOW_* let agent types do. */

const type = (runtime: Record<string, unknown>, name = 't'): AgentType =>
  AgentType.parse({ name, capabilities: ['x'], runtime: { provider: 'openai', model: 'm', ...runtime } });

const fileType = type(
  {
    baseUrl: 'https://models.internal.example/v1',
    apiKeyEnv: 'INTERNAL_KEY',
    mcpServers: [
      { name: 'fs', transport: 'stdio', command: 'npx', args: ['-y', 'server-filesystem', '/data'] },
      { name: 'gh', transport: 'http', url: 'https://mcp.example.com/mcp', headers: { auth: 'Bearer ${GH_TOKEN}' } },
    ],
  },
  'from-file',
);
const policy = new AgentTypePolicy({ mcpCommands: ['node'], hosts: ['localhost', '*.corp.test'], envVars: [] }, [
  fileType,
]);

test("the registry file's own entries are allowed as written", () => {
  expect(policy.problems(fileType)).toEqual([]);
});

test('a stdio command runs only as the file declares it, or when WORKER_ALLOW_MCP_COMMANDS lists it', () => {
  const stdio = (command: string, args: string[]) =>
    type({ mcpServers: [{ name: 's', transport: 'stdio', command, args }] });
  expect(policy.problems(stdio('npx', ['-y', 'evil-package']))).toEqual([
    expect.stringMatching(/the stdio command "npx" is not one this worker runs/),
  ]);
  expect(policy.problems(stdio('sh', ['-c', 'id']))).toHaveLength(1);
  expect(policy.problems(stdio('node', ['anything.js']))).toEqual([]);
});

test('model and MCP URLs reach only allowed hosts: the configured ones and the registry file’s', () => {
  expect(policy.problems(type({ baseUrl: 'http://localhost:11434/v1' }))).toEqual([]);
  expect(policy.problems(type({ baseUrl: 'https://models.internal.example/v2' }))).toEqual([]);
  expect(policy.problems(type({ baseUrl: 'https://a.corp.test/v1' }))).toEqual([]);
  expect(policy.problems(type({ baseUrl: 'https://corp.test.evil.example/v1' }))).toHaveLength(1);
  expect(policy.problems(type({ baseUrl: 'http://169.254.169.254/' }))).toEqual([
    expect.stringMatching(/host "169\.254\.169\.254" is not one this worker allows/),
  ]);
  // Another spelling of loopback is still not "localhost".
  expect(policy.problems(type({ baseUrl: 'http://2130706433/' }))).toEqual([expect.stringMatching(/127\.0\.0\.1/)]);
  const mcp = (url: string) => type({ mcpServers: [{ name: 'h', transport: 'http', url }] });
  expect(policy.problems(mcp('https://mcp.example.com/other'))).toEqual([]);
  expect(policy.problems(mcp('https://elsewhere.example/mcp'))).toHaveLength(1);
});

test('a remote A2A agent’s card URL reaches only allowed hosts too', () => {
  const remote = (cardUrl: string) =>
    AgentType.parse({ name: 'r', capabilities: ['x'], runtime: { provider: 'a2a', cardUrl } });
  expect(policy.problems(remote('http://localhost:9999/.well-known/agent-card.json'))).toEqual([]);
  expect(policy.problems(remote('http://169.254.169.254/latest/meta-data/'))).toEqual([
    expect.stringMatching(/runtime\.cardUrl: host "169\.254\.169\.254" is not one this worker allows/),
  ]);
});

test('${VAR} and apiKeyEnv read only allowed variables; the others are never expanded', () => {
  const headers = (h: Record<string, string>) =>
    type({ mcpServers: [{ name: 'h', transport: 'http', url: 'http://localhost/mcp', headers: h }] });
  expect(policy.problems(headers({ a: '${GH_TOKEN}' }))).toEqual([]);
  expect(policy.problems(headers({ a: '${AWS_SECRET_ACCESS_KEY}' }))).toEqual([
    expect.stringMatching(/\$\{AWS_SECRET_ACCESS_KEY\} is not a variable this worker allows/),
  ]);
  expect(policy.problems(type({ apiKeyEnv: 'INTERNAL_KEY' }))).toEqual([]);
  expect(policy.problems(type({ apiKeyEnv: 'OPENAI_API_KEY' }))).toEqual([]);
  expect(policy.problems(type({ apiKeyEnv: 'AWS_SECRET_ACCESS_KEY' }))).toHaveLength(1);
  const env = { GH_TOKEN: 'gh-1', AWS_SECRET_ACCESS_KEY: 'aws-1' };
  expect(policy.expand({ a: 'Bearer ${GH_TOKEN}', b: '${AWS_SECRET_ACCESS_KEY}' }, env)).toEqual({
    a: 'Bearer gh-1',
    b: '${AWS_SECRET_ACCESS_KEY}',
  });
});

test('the last line: MCP connections refuse a server the policy does not allow, and its command never runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-'));
  const marker = join(dir, 'ran');
  const conns = new McpConnections(policy);
  try {
    const err = await conns
      .get({ name: 'sh', transport: 'stdio', command: 'sh', args: ['-c', `touch ${marker}`] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'AgentTypeRefused', nonRetryable: true });
    expect(existsSync(marker)).toBe(false);
  } finally {
    await conns.closeAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the allowances from the environment: comma-separated lists, `none` for nothing, loopback hosts by default', () => {
  const worker = (env: Record<string, string>) => loadConfig(env, 'worker');
  expect(worker({}).WORKER_ALLOW_HOSTS).toEqual(['localhost', '127.0.0.1', '::1']);
  expect(worker({ WORKER_ALLOW_HOSTS: 'none' }).WORKER_ALLOW_HOSTS).toEqual([]);
  expect(worker({ WORKER_ALLOW_HOSTS: 'ollama, *.corp.test' }).WORKER_ALLOW_HOSTS).toEqual(['ollama', '*.corp.test']);
  expect(worker({}).WORKER_ALLOW_MCP_COMMANDS).toEqual([]);
  expect(worker({ WORKER_ALLOW_ENV_VARS: 'GH_TOKEN,SLACK_TOKEN' }).WORKER_ALLOW_ENV_VARS).toEqual([
    'GH_TOKEN',
    'SLACK_TOKEN',
  ]);
  // The worker's policy: the file's (here the built-in) registry plus these.
  const policy = workerPolicy(worker({ WORKER_ALLOW_HOSTS: 'none' }), DEFAULT_REGISTRY);
  expect(policy.problems(type({ baseUrl: 'http://localhost:11434/v1' }))).toHaveLength(1);
});
