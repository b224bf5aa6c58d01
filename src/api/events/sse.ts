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

/** Writes are handed to the response in pieces of at most this many characters, one batch per 'drain'. */
const PIECE = 16 * 1024;

/** `text` cut into pieces of at most PIECE characters, never between the two halves of a surrogate pair. */
function pieces(text: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + PIECE, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(text.slice(at, end));
    at = end;
  }
  return out;
}

/**
 * An open text/event-stream response: headers flushed at once (no buffering, no compression), a `: keep-alive`
 * comment every `keepAliveMs`, and `onClose` once, whether the client went away or the server closed it.
 *
 * Backpressure: what the socket does not take at once waits here, and goes out in pieces as the client reads ('drain').
 * A client that leaves more than `maxUnsentBytes` (EVENTS_CLIENT_BUFFER_BYTES) waiting and takes nothing for two
 * keep-alive intervals is dropped, rather than buffered for without end; it reconnects with Last-Event-ID and resumes,
 * or gets a snapshot. A slow client that keeps reading, or one big snapshot, is not dropped.
 */
export class SseStream {
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly closeHandlers: (() => void)[] = [];
  /** Pieces the socket has not been given yet, and their size in bytes. */
  private readonly waiting: string[] = [];
  private waitingBytes = 0;
  /** A write was refused (the socket's buffer is full): the rest goes on 'drain'. */
  private blocked = false;
  /** Counts the drains: the client took what the socket held. */
  private drains = 0;
  private stall?: NodeJS.Timeout;
  /** close() was asked for while pieces were still waiting: the response ends once they are out. */
  private ending = false;

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
    res.on('drain', () => {
      this.drains++;
      this.blocked = false;
      this.pump();
    });
    // Tells EventSource how soon to reconnect after a dropped connection.
    this.write('retry: 2000\n\n');
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), keepAliveMs);
    this.timer.unref();
    res.on('close', () => this.finish());
  }

  get open(): boolean {
    return !this.closed && !this.ending;
  }

  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closeHandlers.push(fn);
  }

  send(e: StreamEvent): void {
    this.write(formatEvent(e));
  }

  private write(text: string): void {
    if (!this.open || this.res.writableEnded || this.res.destroyed) return;
    for (const p of pieces(text)) {
      this.waiting.push(p);
      this.waitingBytes += Buffer.byteLength(p);
    }
    this.pump();
    this.watchStall();
  }

  /** Gives the socket waiting pieces until it refuses one; ends the response once all are out if close() asked. */
  private pump(): void {
    while (!this.blocked && this.waiting.length > 0 && !this.res.destroyed) {
      const p = this.waiting.shift() as string;
      this.waitingBytes -= Buffer.byteLength(p);
      if (!this.res.write(p)) this.blocked = true;
    }
    if (this.ending && this.waiting.length === 0 && !this.res.writableEnded) this.res.end();
  }

  /**
   * Past `limit` bytes waiting, checks every two keep-alive intervals that the client took something; drops it if not.
   * (After close() the limit is 0: an ending stream waits for a client that reads, not for one that does not.)
   */
  private watchStall(limit = this.maxUnsentBytes): void {
    if (this.stall || this.waitingBytes <= limit) return;
    let seen = this.drains;
    const check = (): void => {
      this.stall = undefined;
      if (this.closed || this.waitingBytes <= limit) return;
      if (this.drains === seen) {
        this.res.destroy(); // 'close' then runs finish()
        return;
      }
      seen = this.drains;
      this.stall = setTimeout(check, 2 * this.keepAliveMs);
      this.stall.unref();
    };
    this.stall = setTimeout(check, 2 * this.keepAliveMs);
    this.stall.unref();
  }

  /** Ends the stream once what is waiting has gone out (the client sees it close); onClose handlers run once. */
  close(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    clearInterval(this.timer);
    this.pump();
    if (this.waiting.length === 0) this.finish();
    else {
      clearTimeout(this.stall);
      this.stall = undefined;
      this.watchStall(0);
    }
  }

  /** The response is over (ended by us, or the client went away): stop the timers, run the close handlers once. */
  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = false;
    clearInterval(this.timer);
    clearTimeout(this.stall);
    this.waiting.length = 0;
    this.waitingBytes = 0;
    if (!this.res.writableEnded && !this.res.destroyed) this.res.end();
    for (const fn of this.closeHandlers.splice(0)) fn();
  }
}
