import { temporal } from '@temporalio/proto';
import { taskWorkflowId } from '../src/shared/ids';
import { DEFAULT_REGISTRY, Registry } from '../src/shared/registry';
import { startFakeOpenAI, type FakeOpenAI } from './support/fake-openai';
import { startHarness, uniqueId, type Harness } from './support/harness';

jest.setTimeout(120_000);

/**
 * What streaming model text costs in workflow history (docs/events.md): the same model task, once with
 * MODEL_STREAM_INTERVAL_MS=0 (one generateText call) and once streaming with its text heartbeated every 100 ms. Heartbeat
 * details live in the server's record of the running activity, not in history: the event count must not change.
 */
const KEY_ENV = 'FAKE_OPENAI_KEY';
const WORDS = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

let fake: FakeOpenAI;

async function measure(streamMs: number): Promise<{ events: number; bytes: number; calls: number; streamed: boolean }> {
  const h: Harness = await startHarness({
    registry: Registry.parse({
      agentTypes: [
        ...DEFAULT_REGISTRY.agentTypes,
        {
          name: 'writer',
          capabilities: ['writing'],
          runtime: { provider: 'openai', model: 'gpt-test', baseUrl: fake.baseUrl, apiKeyEnv: KEY_ENV },
        },
      ],
    }),
    env: { [KEY_ENV]: 'sk-test' },
    config: { MODEL_STREAM_INTERVAL_MS: streamMs },
  });
  try {
    const before = fake.requests.length;
    const id = uniqueId(`cost${streamMs}`);
    await h.run({ id, tasks: [{ id: 'essay', description: 'write', agentType: 'writer' }] });
    const history = await h.client.workflow.getHandle(taskWorkflowId(id, 'essay')).fetchHistory();
    const requests = fake.requests.slice(before);
    return {
      events: history.events?.length ?? 0,
      bytes: temporal.api.history.v1.History.encode(history).finish().length,
      calls: requests.length,
      streamed: requests.every((r) => r.stream === true),
    };
  } finally {
    await h.close();
  }
}

beforeAll(async () => {
  // 60 words 20 ms apart: a model call of about 1.2 s, long enough for several heartbeats of its text.
  fake = await startFakeOpenAI(() => ({ content: WORDS, chunkDelayMs: 20 }));
});
afterAll(async () => {
  await fake?.close();
});

test('streaming a model call adds no history events to its task', async () => {
  const plain = await measure(0);
  const streamed = await measure(100);
  console.log(
    `model task history: without streaming ${plain.events} events, ${plain.bytes} bytes (${plain.calls} model calls); ` +
      `streaming ${streamed.events} events, ${streamed.bytes} bytes (${streamed.calls} model calls)`,
  );
  expect(plain.streamed).toBe(false);
  expect(streamed.streamed).toBe(true);
  expect(streamed.calls).toBe(plain.calls);
  expect(streamed.events).toBe(plain.events);
  // Same events; only ids, times and the like differ in size.
  expect(Math.abs(streamed.bytes - plain.bytes)).toBeLessThan(plain.bytes * 0.05);
});
