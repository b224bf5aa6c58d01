import type { FeedSubscriber } from '../events/event-feed';
import type { StreamEvent } from '../events/sse';

/** The plan events after which its A2A task may look different (its tasks' states, a question, its status, the end). */
const TELLING = new Set(['snapshot', 'task', 'input', 'plan', 'end']);

/**
 * A subscriber of a plan's event feed (src/api/events) that only wakes whoever waits on it: the A2A bindings read the
 * plan's view again when it wakes them, so a burst of events costs one read.
 */
export class PlanWakeups implements FeedSubscriber {
  private pending = false;
  private ended = false;
  private waiter?: () => void;
  private readonly closers: (() => void)[] = [];

  get closed(): boolean {
    return this.ended;
  }

  send(e: StreamEvent): void {
    if (!TELLING.has(e.event)) return;
    this.pending = true;
    this.wake();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const fn of this.closers.splice(0)) fn();
    this.wake();
  }

  onClose(fn: () => void): void {
    if (this.ended) fn();
    else this.closers.push(fn);
  }

  /** Resolves at the next telling event (at once if one came since the last call), or when the feed closes. */
  async next(): Promise<void> {
    if (!this.pending && !this.ended) await new Promise<void>((resolve) => (this.waiter = resolve));
    this.pending = false;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
