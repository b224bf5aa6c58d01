import { once } from 'node:events';
import type { Server } from 'node:http';
import { get } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import express from 'express';
import { SseStream } from '../../src/api/events/sse';

/**
 * The event stream's writer against real sockets: a client that reads nothing is dropped once too much waits unsent
 * for it, and a client that reads everything gets everything, even when a burst is far larger than the limit.
 */
const KEEP_ALIVE_MS = 200;
const MAX_UNSENT = 64 * 1024;
const EVENT = 'x'.repeat(8 * 1024);

let server: Server;
let port: number;
let opened: { stream: SseStream; closed: Promise<void>; sent: () => number }[] = [];

beforeAll(async () => {
  const app = express();
  app.get('/stream', (_req, res) => {
    const stream = new SseStream(res, KEEP_ALIVE_MS, MAX_UNSENT);
    let sent = 0;
    const closed = new Promise<void>((resolve) => stream.onClose(resolve));
    opened.push({ stream, closed, sent: () => sent });
    // 4 MB in one burst, then an event every 10 ms until the stream closes or 200 more have gone.
    for (; sent < 500; sent++) stream.send({ id: sent, event: 'e', data: EVENT });
    const more = setInterval(() => {
      if (!stream.open || sent >= 700) return clearInterval(more);
      stream.send({ id: sent++, event: 'e', data: EVENT });
      if (sent === 700) stream.close();
    }, 10);
  });
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});
afterEach(() => {
  for (const o of opened) o.stream.close();
  opened = [];
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('a client that reads nothing is dropped once more than the limit waits unsent for two keep-alives', async () => {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  socket.pause(); // never reads: the kernel's buffers fill, then the server's
  while (opened.length === 0) await new Promise((r) => setTimeout(r, 10));
  const [o] = opened as [(typeof opened)[number]];
  await o.closed; // without the limit it would stay open (and keep buffering) until the 700th event
  expect(o.sent()).toBeLessThan(700);
  socket.destroy();
});

/** Reads the whole stream (pausing `pauseMs` after each chunk: a slow reader) and returns the event ids seen. */
function readAll(pauseMs: number): Promise<number[]> {
  const ids: number[] = [];
  return new Promise<number[]>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/stream`, (res) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (pauseMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
        rest += chunk;
        const parts = rest.split('\n\n');
        rest = parts.pop() ?? '';
        for (const p of parts) {
          const id = /^id: (\d+)$/m.exec(p);
          if (id) ids.push(Number(id[1]));
        }
      });
      res.on('end', () => resolve(ids));
      res.on('error', reject);
    }).on('error', reject);
  });
}

test('a client that reads keeps its stream to the end: every event arrives, in order', async () => {
  expect(await readAll(0)).toEqual(Array.from({ length: 700 }, (_, i) => i));
});

test('a slow client that keeps reading a backlog far bigger than the limit is not dropped', async () => {
  // About 6 MB, a chunk every 20 ms: draining the backlog takes several times two keep-alive intervals.
  expect(await readAll(20)).toEqual(Array.from({ length: 700 }, (_, i) => i));
});
