import { ProviderLimiter } from '../../src/activities/model/provider-limits';

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
});
