/** How hard one worker may call one provider. */
export interface ProviderLimit {
  /** Model calls in flight at once. */
  maxConcurrency: number;
  /** Calls started per minute; 0 means no limit. */
  requestsPerMinute: number;
}

interface KeyState {
  active: number;
  nextStartAt: number;
  pausedUntil: number;
}

/** What a waiting call needs from its activity: a heartbeating, cancellable sleep. */
export interface Waiter {
  sleep(ms: number): Promise<void>;
}

/**
 * Per-provider concurrency and rate limits for the model calls of one worker process, so a wide fan-out queues up
 * here (its activities heartbeating while they wait) instead of cascading into 429s. A 429's retry-after pauses the
 * whole provider, not just the call that got it. Limits are per worker: N workers allow N times as much.
 */
export class ProviderLimiter {
  private readonly state = new Map<string, KeyState>();

  constructor(
    private readonly defaults: ProviderLimit,
    private readonly overrides: Record<string, Partial<ProviderLimit>> = {},
  ) {}

  limitOf(key: string): ProviderLimit {
    return { ...this.defaults, ...this.overrides[key] };
  }

  private of(key: string): KeyState {
    let s = this.state.get(key);
    if (!s) {
      s = { active: 0, nextStartAt: 0, pausedUntil: 0 };
      this.state.set(key, s);
    }
    return s;
  }

  /** Runs `fn` once the provider has room, holding one of its slots while it runs. */
  async run<T>(key: string, waiter: Waiter, fn: () => Promise<T>): Promise<T> {
    const limit = this.limitOf(key);
    const s = this.of(key);
    const spacing = limit.requestsPerMinute > 0 ? 60_000 / limit.requestsPerMinute : 0;
    for (;;) {
      const now = Date.now();
      const wait = Math.max(s.pausedUntil - now, s.nextStartAt - now, 0);
      if (s.active < limit.maxConcurrency && wait === 0) break;
      await waiter.sleep(Math.min(Math.max(wait, 50), 500));
    }
    s.active++;
    s.nextStartAt = Math.max(Date.now(), s.nextStartAt) + spacing;
    try {
      return await fn();
    } finally {
      s.active--;
    }
  }

  /** After a 429: no call to this provider starts for `ms`. */
  pause(key: string, ms: number): void {
    const s = this.of(key);
    s.pausedUntil = Math.max(s.pausedUntil, Date.now() + ms);
  }

  /** Calls in flight per provider (for tests and metrics). */
  active(key: string): number {
    return this.state.get(key)?.active ?? 0;
  }
}
