import type { Logger } from '../../observability/logger';
import type { StreamEvent } from './sse';

/** What one poll of a watched thing found: its view now, the events since the last poll, and whether it is over. */
export interface Observation {
  snapshot: unknown;
  events: { event: string; data: unknown }[];
  /** The thing closed: `events` ends with `end`; no more polls. */
  done?: boolean;
}

/** Who reads a feed: an SSE response (SseStream), or the A2A bindings following a plan (src/api/a2a). */
export interface FeedSubscriber {
  send(e: StreamEvent): void;
  close(): void;
  /** Called once, whether the subscriber left or the feed closed it. */
  onClose(fn: () => void): void;
}

/** Polls one watched thing (a plan, the pool), diffing each view against the one before. Stateful: one per feed. */
export interface FeedSource {
  observe(): Promise<Observation>;
}

export interface FeedOptions {
  pollMs: number;
  bufferSize: number;
  log: Logger;
}

/**
 * One watcher shared by every subscriber of a stream (fan-out): it polls while anyone listens, numbers its events
 * (ids start from the clock in microseconds, so a later watcher of the same thing never reuses an earlier one's ids),
 * keeps the last `bufferSize` for Last-Event-ID, and the latest view for new subscribers' `snapshot`.
 */
export class EventFeed {
  private seq = Date.now() * 1_000;
  private readonly startSeq = this.seq;
  private readonly buffer: StreamEvent[] = [];
  private snapshot: unknown;
  private snapshotSeq = this.seq;
  private ended?: StreamEvent;
  private readonly subscribers = new Set<FeedSubscriber>();
  private inFlight?: Promise<void>;
  private looping = false;
  private lastPollAt = 0;
  private stopped = false;

  constructor(
    private readonly source: FeedSource,
    private readonly opts: FeedOptions,
    /** Called when the last subscriber leaves (the hub then keeps the feed a while, not polling). */
    private readonly onIdle: () => void,
  ) {}

  get done(): boolean {
    return this.ended !== undefined;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** The client has seen the end already (it resumes after the `end` event): nothing more will come. */
  finishedFor(lastEventId: number | undefined): boolean {
    return this.ended !== undefined && lastEventId !== undefined && lastEventId >= this.ended.id;
  }

  /** One poll at a time; a caller arriving while one runs waits for that one. Throws what the first poll threw. */
  private poll(): Promise<void> {
    this.inFlight ??= this.source
      .observe()
      .then((o) => this.apply(o))
      .finally(() => {
        this.inFlight = undefined;
        this.lastPollAt = Date.now();
      });
    return this.inFlight;
  }

  private apply(o: Observation): void {
    const events = [...o.events];
    if (o.done && !events.some((e) => e.event === 'end'))
      events.push({ event: 'end', data: { status: (o.snapshot as { status?: string })?.status } });
    const fresh: StreamEvent[] = events.map((e) => ({ id: ++this.seq, event: e.event, data: e.data }));
    this.snapshot = o.snapshot;
    this.snapshotSeq = this.seq;
    this.buffer.push(...fresh);
    if (this.buffer.length > this.opts.bufferSize) this.buffer.splice(0, this.buffer.length - this.opts.bufferSize);
    if (o.done) this.ended = fresh.find((e) => e.event === 'end');
    for (const s of this.subscribers) for (const e of fresh) s.send(e);
    if (this.ended) for (const s of [...this.subscribers]) s.close();
  }

  /** Makes sure the feed has a current view: the first poll, or one after a pause without subscribers. */
  async ready(): Promise<void> {
    if (
      this.snapshot === undefined ||
      (!this.looping && !this.ended && Date.now() - this.lastPollAt > this.opts.pollMs)
    )
      await this.poll();
  }

  /**
   * Starts sending to `stream`: the events after `lastEventId` if the feed still has them all, else a `snapshot`; then
   * whatever comes next. A finished feed sends `end` and closes the stream.
   */
  subscribe(stream: FeedSubscriber, lastEventId?: number): void {
    const first = this.buffer[0]?.id ?? this.seq + 1;
    const resumable =
      lastEventId !== undefined && lastEventId >= this.startSeq && lastEventId >= first - 1 && lastEventId <= this.seq;
    if (resumable) {
      for (const e of this.buffer) if (e.id > lastEventId) stream.send(e);
    } else {
      // The snapshot holds everything up to the latest event; a finished feed's snapshot comes just before its end.
      const id = this.ended ? this.ended.id - 1 : this.snapshotSeq;
      stream.send({ id, event: 'snapshot', data: this.snapshot });
      if (this.ended) stream.send(this.ended);
    }
    if (this.ended) {
      stream.close();
      return;
    }
    this.subscribers.add(stream);
    stream.onClose(() => {
      this.subscribers.delete(stream);
      if (this.subscribers.size === 0) this.onIdle();
    });
    this.loop();
  }

  private loop(): void {
    if (this.looping || this.stopped) return;
    this.looping = true;
    const tick = () => {
      if (this.subscribers.size === 0 || this.ended || this.stopped) {
        this.looping = false;
        return;
      }
      this.poll()
        .catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'event stream poll failed'))
        .finally(() => setTimeout(tick, this.opts.pollMs).unref());
    };
    setTimeout(tick, this.opts.pollMs).unref();
  }

  /** Closes every subscriber's stream and stops polling (API shutdown). */
  stop(): void {
    this.stopped = true;
    for (const s of [...this.subscribers]) s.close();
  }
}
