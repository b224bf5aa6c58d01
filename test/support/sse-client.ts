/** A small Server-Sent Events reader for tests: what EventSource would see, plus comments and the status code. */

// Event data is arbitrary JSON; the assertions check its shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface SseEvent {
  id: string;
  event: string;
  data: Json;
}

export interface SseConnection {
  status: number;
  contentType: string | null;
  events: SseEvent[];
  comments: string[];
  /** Settles when the server ends the stream (or close() is called). */
  ended: Promise<void>;
  /** The first event (from the start) matching `pred`, waiting for it if need be. */
  waitFor(pred: (e: SseEvent) => boolean, what: string, ms?: number): Promise<SseEvent>;
  waitForComment(ms?: number): Promise<string>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let done = false;
  const parse = (block: string) => {
    let id = '';
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ id, event, data: JSON.parse(data.join('\n')) });
  };
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          parse(buffer.slice(0, at));
          buffer = buffer.slice(at + 2);
        }
        wake();
      }
    } catch {
      // aborted by close()
    } finally {
      done = true;
      wake();
    }
  })();
  const wait = <T>(check: () => T | undefined, what: string, ms: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(test);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.map((e) => e.event))}`));
      }, ms);
      const test = () => {
        const found = check();
        if (found !== undefined) {
          clearTimeout(timer);
          waiters.delete(test);
          resolve(found);
        } else if (done) {
          clearTimeout(timer);
          waiters.delete(test);
          reject(new Error(`the stream ended before ${what}; got ${JSON.stringify(events.map((e) => e.event))}`));
        }
      };
      waiters.add(test);
      test();
    });
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    events,
    comments,
    ended,
    waitFor: (pred, what, ms = 30_000) => wait(() => events.find(pred), what, ms),
    waitForComment: (ms = 10_000) => wait(() => comments.find((c) => c.length > 0), 'a comment', ms),
    close: () => abort.abort(),
  };
}
