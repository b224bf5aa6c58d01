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
  /** Calls waiting for room now, and calls that ever had to wait. */
  waiting: number;
  queued: number;
  /** Calls waiting for a call in flight to end, first first. */
  wakers: (() => void)[];
}

/** A call waiting for a provider heartbeats (through its Waiter) at least this often. */
const WAIT_BEAT_MS = 5_000;

/** Why a call waits: the provider's concurrency limit, its rate limit, or a 429's retry-after. */
export type QueueReason = 'maxConcurrency' | 'requestsPerMinute' | 'retryAfter';

/** What the worker's metrics read of one provider's calls. */
export interface ProviderCallStats {
  key: string;
  inFlight: number;
  waiting: number;
  queuedTotal: number;
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

  /**
   * `onFirstQueued` is told the first time a limit makes a call to a provider wait (once per provider and reason), so
   * a limit that binds shows in the log; `stats()` feeds the worker's metrics.
   */
  constructor(
    private readonly defaults: ProviderLimit,
    private readonly overrides: Record<string, Partial<ProviderLimit>> = {},
    private readonly onFirstQueued?: (key: string, reason: QueueReason, limit: ProviderLimit) => void,
  ) {}

  private readonly told = new Set<string>();

  limitOf(key: string): ProviderLimit {
    return { ...this.defaults, ...this.overrides[key] };
  }

  private of(key: string): KeyState {
    let s = this.state.get(key);
    if (!s) {
      s = { active: 0, nextStartAt: 0, pausedUntil: 0, waiting: 0, queued: 0, wakers: [] };
      this.state.set(key, s);
    }
    return s;
  }

  /** Runs `fn` once the provider has room, holding one of its slots while it runs. */
  async run<T>(key: string, waiter: Waiter, fn: () => Promise<T>): Promise<T> {
    const limit = this.limitOf(key);
    const s = this.of(key);
    const spacing = limit.requestsPerMinute > 0 ? 60_000 / limit.requestsPerMinute : 0;
    let waited = false;
    try {
      for (;;) {
        const now = Date.now();
        const wait = Math.max(s.pausedUntil - now, s.nextStartAt - now, 0);
        const full = s.active >= limit.maxConcurrency;
        if (!full && wait === 0) break;
        if (!waited) {
          waited = true;
          s.waiting++;
          s.queued++;
          this.tell(key, s.pausedUntil > now ? 'retryAfter' : full ? 'maxConcurrency' : 'requestsPerMinute', limit);
        }
        // A full provider wakes its first waiter when a call ends (no polling: hundreds may wait at once); a rate or a
        // pause is a known time. Either way the waiting step heartbeats at least every WAIT_BEAT_MS.
        if (full) await this.untilFreed(s, waiter);
        else await waiter.sleep(Math.min(Math.max(wait, 50), WAIT_BEAT_MS));
      }
    } finally {
      if (waited) s.waiting--;
    }
    s.active++;
    s.nextStartAt = Math.max(Date.now(), s.nextStartAt) + spacing;
    try {
      return await fn();
    } finally {
      s.active--;
      s.wakers.shift()?.();
    }
  }

  /** Waits until a call to this provider ends (first come, first woken), heartbeating meanwhile. */
  private async untilFreed(s: KeyState, waiter: Waiter): Promise<void> {
    let wake!: () => void;
    const freed = new Promise<void>((resolve) => (wake = resolve));
    s.wakers.push(wake);
    const beat = waiter.sleep(WAIT_BEAT_MS);
    try {
      await Promise.race([freed, beat]);
    } finally {
      const i = s.wakers.indexOf(wake);
      if (i >= 0) s.wakers.splice(i, 1);
      beat.catch(() => undefined); // still running after a wake; a cancellation is seen by the next wait or step
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

  /** Every provider called so far: calls in flight, waiting for room, and the calls that ever waited. */
  stats(): ProviderCallStats[] {
    return [...this.state].map(([key, s]) => ({
      key,
      inFlight: s.active,
      waiting: s.waiting,
      queuedTotal: s.queued,
    }));
  }

  private tell(key: string, reason: QueueReason, limit: ProviderLimit): void {
    const id = `${key}:${reason}`;
    if (this.told.has(id)) return;
    this.told.add(id);
    this.onFirstQueued?.(key, reason, limit);
  }
}
