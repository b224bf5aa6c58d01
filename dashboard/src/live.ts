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

/** A refused stream is tried again after 3 s, then 6, 12 ... up to a minute, while the page polls. */
const RETRY_MS = 3_000;
const RETRY_MAX_MS = 60_000;

/**
 * Follows a resource live: Server-Sent Events when the API has them (the browser resumes a dropped stream with the last
 * event id; a stream the server refused is opened again with `?lastEventId=`), polling the JSON routes while there is
 * no stream (an API without streams, or one that failed before its first event), and trying the stream again with a
 * growing delay. An `end` event, or a poll that says the resource closed, stops everything. Returns a function that
 * stops everything.
 */
export function follow(opts: LiveOptions): () => void {
  let es: EventSource | undefined;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let polling = false;
  let everReceived = false;
  let failures = 0;
  let lastId: string | undefined;

  const stopStream = () => {
    es?.close();
    es = undefined;
  };
  const finish = () => {
    stopped = true;
    polling = false;
    stopStream();
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
    opts.onMode?.('ended');
  };
  const poll = async (): Promise<void> => {
    if (stopped || !polling) return;
    let again = true;
    try {
      again = await opts.poll();
    } catch (err) {
      opts.onError?.(err);
    }
    if (stopped || !polling) return;
    if (again) pollTimer = setTimeout(() => void poll(), opts.pollMs);
    else finish();
  };
  const startPolling = () => {
    if (polling || stopped) return;
    polling = true;
    opts.onMode?.('polling');
    void poll();
  };
  const open = () => {
    if (stopped) return;
    if (!polling) opts.onMode?.('connecting');
    const source = new EventSource(streamUrl(opts.path, lastId));
    es = source;
    for (const name of opts.events) {
      source.addEventListener(name, (e) => {
        const msg = e as MessageEvent<string>;
        if (!everReceived || polling) {
          everReceived = true;
          failures = 0;
          polling = false;
          clearTimeout(pollTimer);
          opts.onMode?.('stream');
        }
        if (msg.lastEventId) lastId = msg.lastEventId;
        let data: unknown;
        try {
          data = JSON.parse(msg.data);
        } catch {
          return;
        }
        opts.onEvent(name, data);
        if (name === 'end') finish();
      });
    }
    source.onerror = () => {
      if (stopped || es !== source || source.readyState !== EventSource.CLOSED) return; // CONNECTING: it retries
      stopStream();
      failures = everReceived && !polling ? 0 : failures + 1;
      startPolling();
      retryTimer = setTimeout(open, Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** Math.max(0, failures - 1)));
    };
  };
  open();
  return () => {
    stopped = true;
    stopStream();
    clearTimeout(pollTimer);
    clearTimeout(retryTimer);
  };
}
