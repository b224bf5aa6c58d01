import { StreamPacer } from '../../src/activities/model/stream';

describe('StreamPacer: streamed-text heartbeats spaced over all of a worker’s streaming calls', () => {
  test('each call reports every MODEL_STREAM_INTERVAL_MS until the calls together would pass the per-second budget', async () => {
    const pacer = new StreamPacer(1_000, 100);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const calls = Array.from({ length: 300 }, () => pacer.pace(() => held));
    expect(pacer.active).toBe(300);
    // 300 calls at 100 a second: each reports every 3 s, and skips its closing report.
    expect(pacer.interval()).toBe(3_000);
    expect(pacer.pacing).toBe(true);
    release();
    await Promise.all(calls);
    expect(pacer.active).toBe(0);
    expect(pacer.interval()).toBe(1_000);
    expect(pacer.pacing).toBe(false);
  });

  test('one call alone keeps the configured interval; a budget of 0 never paces', async () => {
    const alone = new StreamPacer(1_000, 100);
    await alone.pace(async () => expect(alone.interval()).toBe(1_000));
    const uncapped = new StreamPacer(1_000, 0);
    await Promise.all(
      Array.from({ length: 1_000 }, () => uncapped.pace(async () => expect(uncapped.pacing).toBe(false))),
    );
  });

  test('a call that throws still leaves the count', async () => {
    const pacer = new StreamPacer(500, 10);
    await expect(pacer.pace(() => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
    expect(pacer.active).toBe(0);
  });
});
