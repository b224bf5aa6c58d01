import { ProviderLimiter } from '../../src/activities/model/provider-limits';
import { WorkerMetrics } from '../../src/observability/worker-metrics';

const sleeper = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

describe('per-provider limits (one worker)', () => {
  test('requestsPerMinute spaces the starts of calls to one provider; other providers are not held up', async () => {
    const limiter = new ProviderLimiter(
      { maxConcurrency: 10, requestsPerMinute: 0 },
      { slow: { requestsPerMinute: 600 } },
    );
    const starts: Record<string, number[]> = { slow: [], fast: [] };
    const call = (key: string) => limiter.run(key, sleeper, async () => void starts[key]?.push(Date.now()));
    await Promise.all([
      ...Array.from({ length: 4 }, () => call('slow')),
      ...Array.from({ length: 4 }, () => call('fast')),
    ]);
    const gaps = (xs: number[]) => xs.slice(1).map((t, i) => t - (xs[i] as number));
    // 600 a minute: one every 100 ms (the limiter polls in steps of at least 50 ms, so allow some slack below).
    for (const g of gaps(starts.slow as number[])) expect(g).toBeGreaterThanOrEqual(90);
    // The unlimited provider's calls all started while the limited one was still spacing its own.
    expect(Math.max(...(starts.fast as number[]))).toBeLessThan(Math.max(...(starts.slow as number[])));
  });

  test('maxConcurrency holds calls in flight to the limit, and a 429 pause holds every call to that provider', async () => {
    const limiter = new ProviderLimiter({ maxConcurrency: 2, requestsPerMinute: 0 });
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        limiter.run('p', sleeper, async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
        }),
      ),
    );
    expect(peak).toBe(2);
    limiter.pause('p', 300);
    const before = Date.now();
    await limiter.run('p', sleeper, async () => undefined);
    expect(Date.now() - before).toBeGreaterThanOrEqual(290);
    expect(limiter.active('p')).toBe(0);
  });

  test('calls waiting for a full provider do not poll: each is woken when a call ends, in order', async () => {
    let sleeps = 0;
    const counting = {
      sleep: (ms: number) => {
        sleeps++;
        return new Promise<void>((r) => setTimeout(r, ms).unref());
      },
    };
    const limiter = new ProviderLimiter({ maxConcurrency: 1, requestsPerMinute: 0 });
    const started: number[] = [];
    const first = limiter.run('p', counting, () => new Promise((r) => setTimeout(r, 300)));
    const waiting = Array.from({ length: 20 }, (_, i) => limiter.run('p', counting, async () => void started.push(i)));
    await Promise.all([first, ...waiting]);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // One wait (one heartbeat) per queued call; polling every 50 ms over 300 ms would have been about six each.
    expect(sleeps).toBe(20);
  });

  test('a limit that binds is told once per provider and reason, and counted in stats()', async () => {
    const told: string[] = [];
    const limiter = new ProviderLimiter({ maxConcurrency: 1, requestsPerMinute: 0 }, {}, (key, reason, limit) =>
      told.push(`${key}:${reason}:${limit.maxConcurrency}`),
    );
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const first = limiter.run('p', sleeper, () => held);
    const waiting = [limiter.run('p', sleeper, async () => 'a'), limiter.run('p', sleeper, async () => 'b')];
    await new Promise((r) => setTimeout(r, 20));
    expect(limiter.stats()).toEqual([{ key: 'p', inFlight: 1, waiting: 2, queuedTotal: 2 }]);
    expect(told).toEqual(['p:maxConcurrency:1']);
    release();
    await first;
    expect(await Promise.all(waiting)).toEqual(['a', 'b']);
    expect(limiter.stats()).toEqual([{ key: 'p', inFlight: 0, waiting: 0, queuedTotal: 2 }]);
    // Unlimited calls never wait and are never told.
    await limiter.run('q', sleeper, async () => undefined);
    expect(told).toEqual(['p:maxConcurrency:1']);
    limiter.pause('q', 100);
    await limiter.run('q', sleeper, async () => undefined);
    expect(told).toEqual(['p:maxConcurrency:1', 'q:retryAfter:1']);
  });
});

describe('worker metrics of model calls', () => {
  test("the provider limiter's figures are exported by provider", async () => {
    const metrics = new WorkerMetrics();
    metrics.watchProviderCalls(() => [{ key: 'openai', inFlight: 3, waiting: 2, queuedTotal: 5 }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('agent_orchestrator_model_calls_in_flight{provider="openai"} 3');
    expect(text).toContain('agent_orchestrator_model_calls_waiting{provider="openai"} 2');
    expect(text).toContain('agent_orchestrator_model_calls_queued_total{provider="openai"} 5');
  });
});
