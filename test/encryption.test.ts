import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import { EncryptedBlobStore, FileBlobStore } from '../src/storage/blob-store';
import { dataConverterFor } from '../src/encryption/data-converter';
import { loadKeyring, type Keyring } from '../src/encryption/keyring';
import { EncryptionCodec } from '../src/encryption/payload-codec';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { type AgentType } from '../src/shared/agent-type';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI } from './support/fake-openai';
import { eventually, FAST_SETTINGS, startInProcessApi, startHarness, uniqueId, type Harness } from './support/harness';
import { Client } from '@temporalio/client';
import { checkPlan } from '../src/shared/plan-check';
import { compactPlan } from '../src/shared/plan-codec';
import { TASK_DEFAULTS } from '../src/shared/task';
import type { planWorkflow } from '../src/workflows/plan';
import type { PlanWorkflowInput } from '../src/shared/plan';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { startMcpHttpServer } from './support/mcp-everything';
import { freePort } from './support/processes';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('../scripts/temporal-cli.cjs') as { ensureTemporalCli: () => string };

const execFileAsync = promisify(execFile);
const key = () => randomBytes(32).toString('base64');
const K1 = key();
const K2 = key();
const keyring = (keys: Record<string, string>, current?: string): Keyring =>
  loadKeyring({ PAYLOAD_ENCRYPTION_KEYS: JSON.stringify(keys), PAYLOAD_ENCRYPTION_KEY_ID: current }) as Keyring;
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b?: Uint8Array | null) => new TextDecoder().decode(b ?? new Uint8Array());

describe('the AES-256-GCM payload codec', () => {
  const payload: Payload = { metadata: { encoding: utf8('json/plain') }, data: utf8('{"secret":"plans"}') };

  test('round trip; the payload leaves as binary/encrypted with the key id, nothing readable', async () => {
    const codec = new EncryptionCodec(keyring({ k1: K1 }));
    const [sealed] = await codec.encode([payload]);
    expect(text(sealed?.metadata?.encoding)).toBe('binary/encrypted');
    expect(text(sealed?.metadata?.['encryption-key-id'])).toBe('k1');
    expect(Buffer.from(sealed?.data ?? []).toString('latin1')).not.toContain('secret');
    expect(Buffer.from(sealed?.data ?? []).toString('latin1')).not.toContain('json/plain');
    const [opened] = await codec.decode([sealed as Payload]);
    expect(text(opened?.data)).toBe('{"secret":"plans"}');
    expect(text(opened?.metadata?.encoding)).toBe('json/plain');
  });

  test('rotation: a new current key encrypts, old ones still decrypt; a retired key is named when missing', async () => {
    const [old] = await new EncryptionCodec(keyring({ k1: K1 })).encode([payload]);
    const rotated = new EncryptionCodec(keyring({ k1: K1, k2: K2 }, 'k2'));
    expect(text((await rotated.decode([old as Payload]))[0]?.data)).toBe('{"secret":"plans"}');
    const [fresh] = await rotated.encode([payload]);
    expect(text(fresh?.metadata?.['encryption-key-id'])).toBe('k2');
    await expect(new EncryptionCodec(keyring({ k2: K2 })).decode([old as Payload])).rejects.toThrow(
      /encrypted with key "k1", which is not in this process's keyring \(k2\)/,
    );
  });

  test('tampering is detected; an unencrypted payload is refused, unless only shown or while turning encryption on', async () => {
    const codec = new EncryptionCodec(keyring({ k1: K1 }));
    const [sealed] = await codec.encode([payload]);
    const data = Buffer.from(sealed?.data ?? []);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow();
    await expect(codec.decode([payload])).rejects.toThrow(
      /an unencrypted payload \(encoding "json\/plain"\) was refused/,
    );
    expect(await new EncryptionCodec(keyring({ k1: K1 }), 'display').decode([payload])).toEqual([payload]);
    const migrating = loadKeyring({
      PAYLOAD_ENCRYPTION_KEYS: JSON.stringify({ k1: K1 }),
      PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT: true,
    }) as Keyring;
    expect(await new EncryptionCodec(migrating).decode([payload])).toEqual([payload]);
  });

  test('bad key settings are refused, never echoing key material', () => {
    expect(() => loadKeyring({ PAYLOAD_ENCRYPTION_KEYS: '{"k1":"c2hvcnQ="}' })).toThrow(/32 bytes/);
    expect(() => loadKeyring({ PAYLOAD_ENCRYPTION_KEYS: JSON.stringify({ a: K1, b: K2 }) })).toThrow(
      /set PAYLOAD_ENCRYPTION_KEY_ID/,
    );
    expect(() =>
      loadKeyring({ PAYLOAD_ENCRYPTION_KEYS: JSON.stringify({ a: K1 }), PAYLOAD_ENCRYPTION_KEY_ID: 'b' }),
    ).toThrow(/"b" is not one of the keys/);
    expect(() => loadKeyring({ PAYLOAD_ENCRYPTION_KEYS: 'nope' })).toThrow(/not JSON/);
    expect(loadKeyring({})).toBeUndefined();
  });
});

/**
 * A model agent that calls an MCP tool, run twice: on a worker without encryption (the control: the secrets are
 * found in its history, so the search works) and on one with it. Raw history is read with the `temporal` CLI, every
 * payload's bytes decoded from base64 and searched.
 */
describe('the blob store at rest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'blob-names-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const json = JSON.stringify({ secret: `BLOB-SECRET-${randomBytes(6).toString('hex')}` });
  const sha256 = `sha256:${createHash('sha256').update(json).digest('hex')}`;
  const stored = (key: string) => readFileSync(join(dir, key.slice(7, 9), `${key.slice(7)}.json`), 'utf8');

  test('encrypted blobs are named by a keyed hash: a guessed value cannot be confirmed by hashing it', async () => {
    const files = new FileBlobStore(dir);
    const sealed = new EncryptedBlobStore(files, keyring({ k1: K1 }));
    const key = await sealed.put(json);
    expect(key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(key).not.toBe(sha256);
    expect(await sealed.put(json)).toBe(key); // stored once
    expect(stored(key)).toMatch(/^aoenc1:k1:/);
    expect(stored(key)).not.toContain(json);
    expect(await sealed.get(key)).toBe(json);
    // Another key names the same value otherwise; without encryption the name is the content's SHA-256.
    expect(await new EncryptedBlobStore(files, keyring({ k2: K2 })).put(json)).not.toBe(key);
    expect(await files.put(json)).toBe(sha256);
    expect(await sealed.get(sha256)).toBe(json); // blobs from before encryption are read as they are
  });
});

describe('nothing readable in history or the blob store', () => {
  const PROVIDER_KEY = `sk-PROVIDER-SECRET-${randomBytes(6).toString('hex')}`;
  const MCP_TOKEN = `MCP-HEADER-SECRET-${randomBytes(6).toString('hex')}`;
  let fake: FakeOpenAI;
  let mcp: ChildProcess;
  let plain: Harness;
  let sealed: Harness;
  let registry: Registry;
  const blobDir = mkdtempSync(join(tmpdir(), 'encrypted-blobs-'));
  const keys = JSON.stringify({ k1: K1 });
  const cli = ensureTemporalCli();

  const secretsOf = (id: string) => ({
    description: `DESCRIPTION-SECRET-${id}`,
    tool: `TOOL-SECRET-${id}`,
    model: `MODEL-SECRET-${id}`,
  });

  beforeAll(async () => {
    const port = await freePort();
    mcp = await startMcpHttpServer(port);
    fake = await startFakeOpenAI((req: ChatRequest) => {
      const all = JSON.stringify(req.messages);
      // The task's own description comes last (an instance's memory of earlier tasks is in the system prompt).
      const id = [...all.matchAll(/DESCRIPTION-SECRET-([\w-]+)/g)].at(-1)?.[1] ?? 'unknown';
      // A task the provider refuses (400): its error text ends up in the failure message.
      if (id.startsWith('refused')) return { status: 400, error: `FAILURE-SECRET-${id}` };
      if (all.includes('how will you approach this task')) return { content: 'I will echo it.' };
      const result = req.messages.find((m) => m.role === 'tool');
      if (!result) return { toolCalls: [{ name: 'remote__echo', args: { message: `TOOL-SECRET-${id}` } }] };
      return { content: `MODEL-SECRET-${id}: ${String(result.content)}` };
    });
    const scribe: Partial<AgentType> = {
      name: 'scribe',
      capabilities: ['scribing'],
      runtime: {
        provider: 'openai',
        model: 'gpt-test',
        baseUrl: fake.baseUrl,
        apiKeyEnv: 'SCRIBE_KEY',
        mcpServers: [
          {
            name: 'remote',
            transport: 'http',
            url: `http://127.0.0.1:${port}/mcp`,
            headers: { authorization: 'Bearer ${SCRIBE_MCP_TOKEN}' },
          },
        ],
        tools: ['remote/echo'],
      } as unknown as AgentType['runtime'],
    };
    registry = Registry.parse({ agentTypes: [...DEFAULT_REGISTRY.agentTypes, scribe] });
    const env = { SCRIBE_KEY: PROVIDER_KEY, SCRIBE_MCP_TOKEN: MCP_TOKEN };
    plain = await startHarness({ registry, env });
    const ring = keyring({ k1: K1 });
    sealed = await startHarness({
      registry,
      env,
      dataConverter: dataConverterFor(ring),
      config: { BLOB_STORE_DIR: blobDir, encryption: ring, BLOB_THRESHOLD_BYTES: 1_024 },
    });
  });
  afterAll(async () => {
    await plain?.close();
    await sealed?.close();
    await fake?.close();
    mcp?.kill('SIGKILL');
    rmSync(blobDir, { recursive: true, force: true });
  });

  /** Everything readable in a workflow's raw history: every string, and every base64 string decoded. */
  const rawHistory = (h: Harness, workflowId: string): string =>
    readable(
      execFileSync(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', h.address, '--output', 'json'], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      }),
    );
  /** Every string in the CLI's JSON, and every base64 string decoded (payload data is shown base64-encoded). */
  const readable = (json: string): string => {
    const out: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') {
        out.push(v);
        if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0) out.push(Buffer.from(v, 'base64').toString('utf8'));
      } else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(JSON.parse(json));
    return out.join('\n');
  };
  const run = async (h: Harness) => {
    const id = uniqueId('enc');
    const s = secretsOf(id);
    const result = await h.run({ id, tasks: [{ id: 'echo', description: s.description, capabilities: ['scribing'] }] });
    expect(result.status).toBe('completed');
    expect(String(result.outputs.echo)).toContain(s.model); // the client with the codec reads it back
    expect(String(result.outputs.echo)).toContain(s.tool);
    const history = [`plan-${id}`, `plan-${id}-task-echo`, h.poolId].map((w) => rawHistory(h, w)).join('\n');
    return { id, s, history };
  };

  test('without encryption (the control) the secrets are readable in raw history; keys and MCP headers never are', async () => {
    const { s, history } = await run(plain);
    expect(history).toContain(s.description);
    expect(history).toContain(s.model);
    expect(history).toContain(s.tool);
    expect(history).not.toContain(PROVIDER_KEY);
    expect(history).not.toContain(MCP_TOKEN);
  });

  test('with encryption: no task description, model answer or tool result in raw history or in the blob files', async () => {
    const { s, history } = await run(sealed);
    for (const secret of [s.description, s.model, s.tool, PROVIDER_KEY, MCP_TOKEN])
      expect(history).not.toContain(secret);
    expect(history).toContain('binary/encrypted');
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const f of readdirSync(d)) {
        if (statSync(join(d, f)).isDirectory()) walk(join(d, f));
        else files.push(join(d, f));
      }
    };
    walk(blobDir);
    expect(files.length).toBeGreaterThan(0); // the agent's memory was claim-checked
    const blobs = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(blobs).not.toContain(s.model);
    expect(blobs).toMatch(/^aoenc1:k1:/);
  });

  test('a rerun reuses encrypted outputs by reference: read back with the keys, never copied into the new plan', async () => {
    const api = await startInProcessApi(
      sealed,
      { BLOB_STORE_DIR: blobDir, BLOB_THRESHOLD_BYTES: '1024', PAYLOAD_ENCRYPTION_KEYS: keys },
      registry,
    );
    try {
      const id = uniqueId('encrr');
      const s = secretsOf(id);
      const post = (path: string, body: unknown) =>
        fetch(`${api.base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const plan = {
        id,
        name: `NAME-SECRET-${id}`,
        tasks: [
          { id: 'echo', description: s.description, capabilities: ['scribing'] },
          { id: 'after', description: 'after', dependsOn: ['echo'] },
        ],
      };
      expect((await post('/v1/plans', plan)).status).toBe(202);
      const resultOf = async (planId: string) =>
        (await (await fetch(`${api.base}/v1/plans/${planId}/result?wait=30`)).json()) as {
          status: string;
          outputs: Record<string, unknown>;
        };
      expect((await resultOf(id)).status).toBe('completed');
      const fork = await post(`/v1/plans/${id}/rerun`, { id: `${id}-fork`, from: ['after'] });
      expect(fork.status).toBe(202);
      const result = await resultOf(`${id}-fork`);
      expect(result.status).toBe('completed');
      expect(String(result.outputs.echo)).toContain(s.model); // read from the first plan's task, decrypted
      const history = rawHistory(sealed, `plan-${id}-fork`);
      expect(history).toContain('binary/encrypted');
      for (const secret of [s.description, s.model, s.tool]) expect(history).not.toContain(secret);
      // Decrypted, the fork's input holds a reference to the first plan's task, not its output.
      const events = (await sealed.client.workflow.getHandle(`plan-${id}-fork`).fetchHistory()).events ?? [];
      const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      const [input] = await decodeArrayFromPayloads(sealed.client.options.loadedDataConverter, started);
      expect((input as PlanWorkflowInput).rerun).toEqual({ of: id, reused: { [id]: ['echo'] } });
      expect(JSON.stringify(input)).not.toContain(s.model);
      // An API without the keys still lists plans: these rows come without the name it cannot decrypt, not a 500.
      const list = async (base: string) =>
        ((await (await fetch(`${base}/v1/plans?limit=1000`)).json()) as { plans: { planId: string; name?: string }[] })
          .plans;
      expect((await list(api.base)).find((p) => p.planId === id)?.name).toBe(`NAME-SECRET-${id}`);
      const keyless = await startInProcessApi(plain, {}, registry);
      try {
        const rows = await list(keyless.base);
        expect(rows.find((p) => p.planId === `${id}-fork`)).toMatchObject({ rerunOf: id });
        expect(rows.find((p) => p.planId === id)?.name).toBeUndefined();
      } finally {
        await keyless.close();
      }
    } finally {
      await api.close();
    }
  });

  /** A task the provider refuses: the plan fails, and the client with the codec reads the provider's words. */
  const refused = async (h: Harness) => {
    const id = uniqueId('refused');
    const result = await h.run({
      id,
      tasks: [{ id: 'ask', description: `DESCRIPTION-SECRET-${id}`, capabilities: ['scribing'] }],
    });
    expect(result.status).toBe('failed');
    expect(result.errors.ask?.type).toBe('ModelBadRequest');
    expect(result.errors.ask?.message).toContain(`FAILURE-SECRET-${id}`);
    const history = [`plan-${id}`, `plan-${id}-task-ask`].map((w) => rawHistory(h, w)).join('\n');
    return { secret: `FAILURE-SECRET-${id}`, history };
  };

  test('failure messages: readable in raw history without encryption, encrypted with it (read back decrypted)', async () => {
    const control = await refused(plain);
    expect(control.history).toContain(control.secret);
    const { secret, history } = await refused(sealed);
    expect(history).not.toContain(secret);
    expect(history).toContain('Encoded failure');
  });

  test('the worker refuses an unencrypted payload: a plan started by a client without the codec never runs', async () => {
    // What someone with access to Temporal's frontend but not the keys can send: a plain client, a valid plan.
    const stranger = new Client({ connection: sealed.client.connection, namespace: sealed.namespace });
    const checked = checkPlan(
      { tasks: [{ id: 'forged', description: 'do something' }] },
      DEFAULT_REGISTRY,
      { maxTasks: 10 },
      () => uniqueId('forged'),
    );
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    const handle = await stranger.workflow.start<typeof planWorkflow>('planWorkflow', {
      workflowId: `plan-${checked.plan.id}`,
      taskQueue: sealed.taskQueue,
      args: [{ plan: compactPlan(checked.plan, TASK_DEFAULTS), settings: { ...FAST_SETTINGS, poolId: sealed.poolId } }],
    });
    try {
      // The worker's first workflow task either fails (refused) or the plan runs.
      const events = await eventually(async () => {
        const all = (await handle.fetchHistory()).events ?? [];
        const settled = all.some((e) => e.workflowTaskFailedEventAttributes || e.workflowTaskCompletedEventAttributes);
        return settled ? all : undefined;
      }, 'the worker to take the forged plan');
      const acted = events.filter(
        (e) =>
          e.workflowTaskCompletedEventAttributes ||
          e.activityTaskScheduledEventAttributes ||
          e.startChildWorkflowExecutionInitiatedEventAttributes,
      );
      expect(acted).toEqual([]);
      // Why, as the Web UI shows it through the codec endpoint (the failure's text is encrypted like any other).
      const failure = events.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes
        ?.failure;
      const [attributes] = failure?.encodedAttributes
        ? await new EncryptionCodec(keyring({ k1: K1 })).decode([failure.encodedAttributes as Payload])
        : [];
      expect(`${failure?.message} ${text(attributes?.data)}`).toMatch(/an unencrypted payload .* was refused/);
    } finally {
      await handle.terminate('test over');
    }
  });

  test('the codec endpoint: decrypts for an authorized key (API and `temporal --codec-endpoint`), CORS for the UI', async () => {
    const { id, s } = await run(sealed);
    const apiKey = 'codec-reader-key-0123456789abcdef';
    const api = await startInProcessApi(sealed, {
      PAYLOAD_ENCRYPTION_KEYS: keys,
      API_KEYS: JSON.stringify([{ name: 'ops', key: apiKey, scopes: ['read'] }]),
      TEMPORAL_UI_URL: 'http://ui.example.test:8080',
    });
    try {
      // The API itself reads the encrypted plan.
      const res = await fetch(`${api.base}/v1/plans/${id}/result`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(JSON.stringify(await res.json())).toContain(s.model);

      const [payload] =
        (await sealed.client.workflow.getHandle(`plan-${id}-task-echo`).fetchHistory()).events?.find(
          (e) => e.workflowExecutionCompletedEventAttributes,
        )?.workflowExecutionCompletedEventAttributes?.result?.payloads ?? [];
      expect(Buffer.from(payload?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
      const body = {
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(payload?.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(payload?.data ?? []).toString('base64'),
          },
        ],
      };
      const decode = (headers: Record<string, string>) =>
        fetch(`${api.base}/codec/decode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      expect((await decode({})).status).toBe(401);
      const decoded = (await (await decode({ authorization: `Bearer ${apiKey}` })).json()) as {
        payloads: { data: string }[];
      };
      expect(Buffer.from(decoded.payloads[0]?.data ?? '', 'base64').toString()).toContain(s.model);

      const preflight = await fetch(`${api.base}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://ui.example.test:8080', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://ui.example.test:8080');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      const stranger = await decode({ origin: 'http://evil.example.test', authorization: `Bearer ${apiKey}` });
      expect(stranger.headers.get('access-control-allow-origin')).toBeNull();

      // What an operator runs: the CLI shows the decrypted history through the codec endpoint.
      // Not execFileSync: the API answering the CLI runs in this process.
      const { stdout: shown } = await execFileAsync(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          `plan-${id}-task-echo`,
          '--address',
          sealed.address,
          '--codec-endpoint',
          `${api.base}/codec`,
          '--codec-auth',
          `Bearer ${apiKey}`,
          '--output',
          'json',
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 },
      );
      expect(readable(shown)).toContain(s.model);
    } finally {
      await api.close();
    }
  });
});
