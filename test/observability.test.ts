/**
 * Observability of the real processes (docs/observability.md): a worker and an API spawned as an operator runs them,
 * with an OTLP endpoint (an in-test receiver), a model agent on the fake OpenAI server calling a tool of a real MCP server,
 * and a provider key in the environment. One plan submitted over HTTP must show up as one trace from the HTTP request
 * down to the model and tool calls; both processes log JSON lines without the key; both serve Prometheus metrics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { tracingSinks } from '../src/observability/temporal';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI } from './support/fake-openai';
import { eventually, quietRuntime, testAddress, uniqueId } from './support/harness';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';
import {
  freePort,
  killAll,
  request,
  startApiProcess,
  startWorker,
  type Json,
  type OrchestratorProcess,
} from './support/processes';

import { MCP_EVERYTHING } from './support/mcp-everything';

jest.setTimeout(180_000);

const SECRET = 'sk-observability-test-7f3c9a1e5b';
const everything = MCP_EVERYTHING;
const isReason = (req: ChatRequest) => JSON.stringify(req.messages).includes('how will you approach this task');

let receiver: OtlpReceiver;
let fake: FakeOpenAI;
let dir: string;
let worker: OrchestratorProcess;
let api: OrchestratorProcess;
let base: string;
let workerMetrics: string;
const output = { worker: '', api: '' };
let planId: string;
let result: Json;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  fake = await startFakeOpenAI((req) => {
    if (isReason(req)) return { content: 'add them with the tool' };
    if (!req.messages.some((m) => m.role === 'tool'))
      return { toolCalls: [{ name: 'everything__get-sum', args: { a: 2, b: 3 } }] };
    return { content: 'the sum is 5' };
  });
  dir = mkdtempSync(join(tmpdir(), 'observability-'));
  const registry = Registry.parse({
    agentTypes: [
      ...DEFAULT_REGISTRY.agentTypes,
      {
        name: 'mathematician',
        capabilities: ['sums'],
        runtime: {
          provider: 'openai',
          model: 'gpt-test',
          baseUrl: fake.baseUrl,
          mcpServers: [{ name: 'everything', transport: 'stdio', command: process.execPath, args: [everything] }],
          tools: ['everything/get-sum'],
        },
      },
    ],
  });
  const registryFile = join(dir, 'registry.json');
  writeFileSync(registryFile, JSON.stringify(registry));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const extra = {
    AGENT_REGISTRY_FILE: registryFile,
    BLOB_STORE_DIR: join(dir, 'blobs'),
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OPENAI_API_KEY: SECRET,
  };
  const env = { address: testAddress(), taskQueue: uniqueId('obs'), port };
  // A free port can be taken by someone else's outgoing connection before the worker binds it: then another one.
  for (let attempt = 1; ; attempt++) {
    const metricsPort = await freePort();
    try {
      worker = await startWorker({
        ...env,
        extra: {
          ...extra,
          LOG_LEVEL: 'debug',
          WORKER_METRICS_PORT: String(metricsPort),
          WORKER_METRICS_HOST: '127.0.0.1',
        },
      });
      workerMetrics = `http://127.0.0.1:${metricsPort}/metrics`;
      break;
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
  api = await startApiProcess({ ...env, extra });
  // Everything they print from here on (the first lines are in output()).
  output.worker = worker.output();
  output.api = api.output();
  worker.child.stdout?.on('data', (d: Buffer) => (output.worker += d.toString()));
  worker.child.stderr?.on('data', (d: Buffer) => (output.worker += d.toString()));
  api.child.stdout?.on('data', (d: Buffer) => (output.api += d.toString()));
  api.child.stderr?.on('data', (d: Buffer) => (output.api += d.toString()));

  await eventually(
    async () => ((await request(base, '/readyz')).status === 200 ? true : undefined),
    'API ready',
    60_000,
  );
  const submitted = await request(base, '/v1/plans', {
    body: {
      tasks: [
        { id: 'sum', description: 'add 2 and 3', capabilities: ['sums'] },
        // An offline task with an output contract: its verdict is counted by the worker.
        { id: 'checked', description: 'an object', output: { schema: { type: 'object', required: ['task'] } } },
      ],
    },
  });
  expect(submitted.status).toBe(202);
  planId = submitted.body.planId;
  result = await eventually(
    async () => {
      const r = await request(base, `/v1/plans/${planId}/result?wait=20`);
      return r.status === 200 ? r.body : undefined;
    },
    'the plan result',
    120_000,
  );
});

afterAll(async () => {
  await killAll();
  await fake?.close();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the plan ran: the model called the MCP tool and answered', () => {
  expect(result.status).toBe('completed');
  expect(result.outputs.sum).toContain('the sum is 5');
});

describe('traces', () => {
  const find = (name: string | RegExp, service?: string) =>
    receiver.spans.filter(
      (s) => (typeof name === 'string' ? s.name === name : name.test(s.name)) && (!service || s.service === service),
    );

  test('one trace from the HTTP request through the plan, a task, an activity, the model call and the tool call', async () => {
    const http = await eventually(
      async () => find('POST /v1/plans', 'agent-orchestrator-api')[0],
      'the HTTP server span',
      30_000,
    );
    expect(http.kind).toBe(2); // SERVER
    expect(http.attributes['http.response.status_code']).toBe(202);
    const trace = http.traceId;
    const inTrace = (name: string | RegExp, service?: string) => find(name, service).filter((s) => s.traceId === trace);
    // Spans end (and are exported) at different times: wait for the last of the chain.
    const names = [
      'StartWorkflow:planWorkflow',
      'RunWorkflow:planWorkflow',
      'StartChildWorkflow:agentTaskWorkflow',
      'RunWorkflow:agentTaskWorkflow',
      'RunActivity:reason',
      'ai.streamText',
      'mcp.tool everything/get-sum',
    ];
    await eventually(
      async () => (names.every((n) => inTrace(n).length > 0) ? true : undefined),
      `spans ${names.join(', ')} in trace ${trace}; have: ${[...new Set(receiver.spans.filter((s) => s.traceId === trace).map((s) => s.name))].join(', ')}; rejected: ${receiver.rejected.join('; ')}`,
      30_000,
    ).catch((err: Error) => {
      const have = [...new Set(receiver.spans.filter((s) => s.traceId === trace).map((s) => s.name))];
      const otel = `${output.worker}\n${output.api}`
        .split('\n')
        .filter((l) => l.includes('"component":"opentelemetry"'));
      throw new Error(
        `${err.message}\nspans in the trace: ${have.join(', ')}\nOpenTelemetry said:\n${otel.join('\n')}`,
      );
    });
    const [start] = inTrace('StartWorkflow:planWorkflow', 'agent-orchestrator-api');
    expect(start?.parentSpanId).toBe(http.spanId);
    const [run] = inTrace('RunWorkflow:planWorkflow', 'agent-orchestrator-worker');
    expect(run?.parentSpanId).toBe(start?.spanId);
    expect(run?.attributes.workflowId).toBe(`plan-${planId}`);
    const task = inTrace('RunWorkflow:agentTaskWorkflow', 'agent-orchestrator-worker').find(
      (s) => s.attributes.workflowId === `plan-${planId}-task-sum`,
    );
    expect(task?.parentSpanId).toBeDefined();
    // Model calls in regular activities stream (docs/events.md): the AI SDK names the span after streamText.
    const [model] = inTrace('ai.streamText');
    expect(model?.attributes['ai.telemetry.metadata.agentType']).toBe('mathematician');
    const [tool] = inTrace('mcp.tool everything/get-sum');
    expect(tool?.attributes['mcp.tool']).toBe('get-sum');
    // Every workflow, child and activity span of the plan is in this one trace (a signal's handling is in its sender's).
    const planSpans = receiver.spans.filter(
      (s) =>
        /^(RunWorkflow|StartChildWorkflow|StartActivity|RunActivity):/.test(s.name) &&
        String(s.attributes.workflowId ?? '').startsWith(`plan-${planId}`),
    );
    expect(planSpans.length).toBeGreaterThan(3);
    expect(new Set(planSpans.map((s: ReceivedSpan) => s.traceId))).toEqual(new Set([trace]));
    // The request's log line names the trace.
    const logged = output.api
      .split('\n')
      .filter((l) => l.includes('"path":"/v1/plans"'))
      .map((l) => JSON.parse(l) as Json);
    expect(logged).toEqual([expect.objectContaining({ method: 'POST', trace_id: trace, span_id: http.spanId })]);
  });

  test("the traced plan's and task's histories replay without non-determinism (same bundle, tracing off)", async () => {
    quietRuntime();
    const connection = await Connection.connect({ address: testAddress() });
    try {
      const client = new Client({ connection, namespace: 'default' });
      for (const workflowId of [`plan-${planId}`, `plan-${planId}-task-sum`]) {
        const history = await client.workflow.getHandle(workflowId).fetchHistory();
        expect(JSON.stringify(history)).toContain('_tracer-data'); // it was started with a trace context
        await Worker.runReplayHistory(
          { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE as string }, sinks: tracingSinks(undefined) },
          history,
          workflowId,
        );
      }
    } finally {
      await connection.close();
    }
  });
});

describe('logs', () => {
  const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
  const records = (text: string): Json[] => lines(text).map((l) => JSON.parse(l));

  test('every line either process printed is a JSON object with level, time and msg', () => {
    for (const [name, text] of Object.entries(output)) {
      expect(lines(text).length).toBeGreaterThan(3);
      for (const line of lines(text)) {
        let rec: Json;
        try {
          rec = JSON.parse(line);
        } catch {
          throw new Error(`${name} printed a line that is not JSON: ${line}`);
        }
        expect(rec).toEqual(
          expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }),
        );
        expect(Number.isNaN(Date.parse(rec.time))).toBe(false);
      }
    }
  });

  test('the provider key in the environment never appears', () => {
    expect(fake.requests.length).toBeGreaterThanOrEqual(3); // the key was in use
    expect(output.worker).not.toContain(SECRET);
    expect(output.api).not.toContain(SECRET);
  });

  test('the API logs each request: method, path, route, status, ms, and nothing of headers or bodies', () => {
    const submit = records(output.api).find(
      (r) => r.msg === 'request' && r.method === 'POST' && r.path === '/v1/plans',
    );
    expect(submit).toEqual(
      expect.objectContaining({ level: 'info', route: '/v1/plans', status: 202, ms: expect.any(Number) }),
    );
    expect(Object.keys(submit)).not.toEqual(expect.arrayContaining(['headers']));
    expect(JSON.stringify(submit)).not.toContain('add 2 and 3');
  });

  test("the worker's log has the SDK's own messages and the workflows' (through the SDK's logger sink)", () => {
    const recs = records(output.worker);
    expect(recs.some((r) => r.sdkComponent === 'worker' && /Worker state changed/.test(r.msg))).toBe(true);
    const completed = recs.find(
      (r) => r.msg === 'Workflow completed' && r.workflowId === `plan-${planId}` && r.workflowType === 'planWorkflow',
    );
    expect(completed).toEqual(
      expect.objectContaining({ level: 'debug', sdkComponent: 'worker', runId: expect.any(String) }),
    );
  });
});

describe('metrics', () => {
  const families = (text: string) =>
    new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2] ?? ''),
    );

  test('the API serves its pool, model, plan, HTTP and process metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const have = families(text);
    for (const f of [
      'agent_orchestrator_agents',
      'agent_orchestrator_agents_max',
      'agent_orchestrator_agents_busy',
      'agent_orchestrator_pool_queued',
      'agent_orchestrator_agent_failures',
      'agent_orchestrator_model_tokens_total',
      'agent_orchestrator_model_cost_usd_total',
      'agent_orchestrator_model_calls_total',
      'agent_orchestrator_plans',
      'agent_orchestrator_event_streams',
      'agent_orchestrator_event_feeds',
      'http_request_duration_seconds',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ])
      expect([f, have.has(f)]).toEqual([f, true]);
    expect(text).toMatch(/^agent_orchestrator_model_calls_total\{type="mathematician"\} [1-9]/m);
    expect(text).toMatch(/^agent_orchestrator_plans\{status="completed"\} [1-9]/m);
    expect(text).toMatch(
      /^http_request_duration_seconds_count\{method="POST",route="\/v1\/plans",status_code="202"\} [1-9]/m,
    );
  });

  test("the worker serves its activity and process metrics and the SDK's (temporal_*) at one endpoint", async () => {
    const health = await fetch(workerMetrics.replace(/\/metrics$/, '/healthz'));
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']); // what the image's HEALTHCHECK probes
    const res = await fetch(workerMetrics);
    expect(res.status).toBe(200);
    const text = await res.text();
    const have = [...families(text)];
    expect(have).toEqual(
      expect.arrayContaining([
        'agent_orchestrator_activity_executions_total',
        'agent_orchestrator_activity_duration_seconds',
        'process_cpu_user_seconds_total',
      ]),
    );
    expect(have.filter((f) => f.startsWith('temporal_workflow_task'))).not.toHaveLength(0);
    expect(have.filter((f) => f.startsWith('temporal_activity'))).not.toHaveLength(0);
    expect(text).toMatch(
      /^agent_orchestrator_activity_executions_total\{activity="callTool",outcome="completed"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^agent_orchestrator_output_verdicts_total\{agent_type="generalist",by="schema",verdict="accepted"\} 1$/m,
    );
  });
});
