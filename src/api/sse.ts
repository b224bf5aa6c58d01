import type { Request, Response } from 'express';

/** One Server-Sent Event: `id` is the stream's increasing sequence number, `data` one line of JSON. */
export interface StreamEvent {
  id: number;
  event: string;
  data: unknown;
}

/** `Last-Event-ID` (what EventSource sends on reconnect), or `?lastEventId=` (tests, curl); undefined when absent. */
export function lastEventIdOf(req: Request): number | undefined {
  const raw = req.headers['last-event-id'] ?? (typeof req.query.lastEventId === 'string' ? req.query.lastEventId : '');
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (!text || !/^\d{1,16}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

export const formatEvent = (e: StreamEvent): string =>
  `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

/**
 * An open text/event-stream response: headers flushed at once (no buffering, no compression), a `: keep-alive`
 * comment every `keepAliveMs`, and `onClose` once, whether the client went away or the server closed it.
 */
export class SseStream {
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly closeHandlers: (() => void)[] = [];

  private stall?: NodeJS.Timeout;

  /**
   * A client that leaves more than `maxUnsentBytes` unsent (EVENTS_CLIENT_BUFFER_BYTES) and reads nothing for two
   * keep-alive intervals is dropped: this process would otherwise buffer for it without end. It reconnects with
   * Last-Event-ID and resumes, or gets a snapshot. A slow client that keeps reading, or one big snapshot, is not dropped.
   */
  constructor(
    private readonly res: Response,
    private readonly keepAliveMs: number,
    private readonly maxUnsentBytes: number,
  ) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Reverse proxies (nginx) buffer responses unless told not to.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    res.socket?.setTimeout(0);
    // Tells EventSource how soon to reconnect after a dropped connection.
    res.write('retry: 2000\n\n');
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.timer.unref();
    res.on('close', () => this.close());
  }

  get open(): boolean {
    return !this.closed;
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHandlers.push(fn);
  }

  send(e: StreamEvent): void {
    this.write(formatEvent(e));
  }

  private write(text: string): void {
    if (this.closed || this.res.writableEnded || this.res.destroyed) return;
    this.res.write(text);
    if (this.res.writableLength > this.maxUnsentBytes && !this.stall) {
      this.stall = setTimeout(() => this.res.destroy(), 2 * this.keepAliveMs); // 'close' then runs close()
      this.stall.unref();
      this.res.once('drain', () => {
        clearTimeout(this.stall);
        this.stall = undefined;
      });
    }
  }

  /** Ends the response (the client sees the stream close) and runs the close handlers once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.stall);
    if (!this.res.writableEnded) this.res.end();
    for (const fn of this.closeHandlers.splice(0)) fn();
  }
}
