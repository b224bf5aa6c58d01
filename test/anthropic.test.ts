import { createServer, type Server } from 'node:http';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { startHarness, type Harness } from './support/harness';

jest.setTimeout(60_000);

interface MessagesRequest {
  model: string;
  system?: unknown;
  messages: { role: string; content: unknown }[];
  tools?: { name: string }[];
  headers: Record<string, string | string[] | undefined>;
}

/** Just enough of Anthropic's Messages API (POST /v1/messages, non-streaming) to drive the adapter. */
async function fakeAnthropic(
  reply: (req: MessagesRequest, n: number) => { status?: number; headers?: Record<string, string>; body: unknown },
): Promise<{ baseUrl: string; requests: MessagesRequest[]; close(): Promise<void> }> {
  const requests: MessagesRequest[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = { ...(JSON.parse(raw) as Omit<MessagesRequest, 'headers'>), headers: req.headers };
      const n = requests.push(body) - 1;
      const out = reply(body, n);
      res.writeHead(out.status ?? 200, { 'content-type': 'application/json', ...out.headers });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const message = (content: unknown[], stop: string, usage = { input_tokens: 11, output_tokens: 4 }) => ({
  body: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-test',
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage,
  },
});

describe('Anthropic provider (Messages API)', () => {
  let h: Harness;
  let fake: Awaited<ReturnType<typeof fakeAnthropic>>;

  beforeAll(async () => {
    fake = await fakeAnthropic((req, n) => {
      if (n === 0) {
        return {
          status: 429,
          headers: { 'retry-after': '1' },
          body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } },
        };
      }
      if (!req.tools) return message([{ type: 'text', text: 'I will check the clock.' }], 'end_turn');
      const toolResult = req.messages.some(
        (m) => Array.isArray(m.content) && m.content.some((c: { type?: string }) => c.type === 'tool_result'),
      );
      if (!toolResult)
        return message([{ type: 'tool_use', id: 'toolu_1', name: 'current_time', input: {} }], 'tool_use');
      return message([{ type: 'text', text: 'Claude says it is now.' }], 'end_turn');
    });
    h = await startHarness({
      registry: Registry.parse({
        agentTypes: [
          ...DEFAULT_REGISTRY.agentTypes,
          {
            name: 'claude',
            capabilities: ['claude-work'],
            runtime: {
              provider: 'anthropic',
              model: 'claude-test',
              baseUrl: fake.baseUrl,
              tools: ['current_time'],
              maxOutputTokens: 512,
            },
          },
        ],
      }),
      env: { ANTHROPIC_API_KEY: 'sk-ant-test' },
      // The fake speaks the non-streaming Messages API: this covers the generateText path (streaming off).
      config: { MODEL_STREAM_INTERVAL_MS: 0 },
    });
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  test('reasons, calls a tool and answers; the key comes from ANTHROPIC_API_KEY; a 429 waits for retry-after', async () => {
    const r = await h.run({ tasks: [{ id: 'c', description: 'what time is it?', capabilities: ['claude-work'] }] });
    expect(r.status).toBe('completed');
    expect(r.outputs.c).toBe('Claude says it is now.');
    expect(fake.requests).toHaveLength(4); // 429, reason, tool use, answer
    expect(fake.requests[1]?.headers['x-api-key']).toBe('sk-ant-test');
    expect(fake.requests[2]?.tools?.map((t) => t.name)).toEqual(['current_time']);
    expect(r.usage?.total).toMatchObject({ inputTokens: 33, outputTokens: 12, modelCalls: 3 });
  });
});
