import { streamUrl } from './api';

export type LiveMode = 'connecting' | 'stream' | 'polling' | 'ended';

export interface LiveOptions {
  /** The event stream (docs/dashboard.md: GET /v1/plans/:id/events, GET /v1/agents/events). */
  path: string;
  /** The event names to listen to. */
  events: readonly string[];
  onEvent(name: string, data: unknown): void;
  /**
   * Fallback when the API has no event stream (or refuses it): one poll of the JSON routes. Resolves false once there
   * is nothing more to watch (the plan closed).
   */
  poll(): Promise<boolean>;
  pollMs: number;
  onMode?(mode: LiveMode): void;
  onError?(err: unknown): void;
}

/**
 * Follows a resource live: Server-Sent Events when the API has them (resumed with the last event id after a drop),
 * else polling. An `end` event closes the stream for good. Returns a function that stops everything.
 */
export function follow(opts: LiveOptions): () => void {
  let es: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let received = false;
  let lastId: string | undefined;

  const stopStream = () => {
    es?.close();
    es = undefined;
  };
  const poll = async (): Promise<void> => {
    if (closed) return;
    let again = true;
    try {
      again = await opts.poll();
    } catch (err) {
      opts.onError?.(err);
    }
    if (closed) return;
    if (again) timer = setTimeout(() => void poll(), opts.pollMs);
    else opts.onMode?.('ended');
  };
  const open = () => {
    opts.onMode?.('connecting');
    const source = new EventSource(streamUrl(opts.path, lastId));
    es = source;
    source.onopen = () => opts.onMode?.('stream');
    for (const name of opts.events) {
      source.addEventListener(name, (e) => {
        const msg = e as MessageEvent<string>;
        received = true;
        if (msg.lastEventId) lastId = msg.lastEventId;
        let data: unknown;
        try {
          data = JSON.parse(msg.data);
        } catch {
          return;
        }
        if (name === 'end') {
          stopStream();
          opts.onMode?.('ended');
        }
        opts.onEvent(name, data);
      });
    }
    source.onerror = () => {
      if (closed || es !== source || source.readyState !== EventSource.CLOSED) return; // CONNECTING: it retries
      stopStream();
      // Never got an event: the API has no stream here (or refused it): poll the JSON routes instead.
      if (!received) {
        opts.onMode?.('polling');
        void poll();
      } else timer = setTimeout(open, 2_000);
    };
  };
  open();
  return () => {
    closed = true;
    stopStream();
    if (timer) clearTimeout(timer);
  };
}
