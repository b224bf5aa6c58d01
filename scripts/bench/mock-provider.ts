/**
 * The slow model of measure (i): an OpenAI-compatible chat-completions server that answers every call after a fixed
 * latency, streamed (`stream: true`: the first token after `firstTokenMs`, then `chunks` pieces `chunkMs` apart) or as
 * one JSON reply after the same total time. It runs in a process of its own (so its CPU is not the worker's) and counts
 * the calls in flight: `GET /stats` answers `{ inFlight, peak, calls }`, `POST /stats/reset` zeroes peak and calls.
 *
 * A model named `mock:<ms>` waits that long for its first token instead. Started by `startMockProvider` (spawns this
 * file); run directly it reads its settings from MOCK_* variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockLatency {
  /** Time to the first token (and, unstreamed, the whole call minus the chunks' time). */
  firstTokenMs: number;
  /** Streamed pieces of the answer after the first token, and the gap between them. */
  chunks: number;
  chunkMs: number;
}

export interface MockStats {
  inFlight: number;
  peak: number;
  calls: number;
}

export interface MockProvider {
  /** `http://127.0.0.1:PORT/v1`: an agent type's `baseUrl`. */
  baseUrl: string;
  pid: number | undefined;
  stats(): Promise<MockStats>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** The whole call's duration for a client: first token plus the chunks. */
export const callMs = (l: MockLatency): number => l.firstTokenMs + l.chunks * l.chunkMs;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serve(latency: MockLatency): Promise<number> {
  const stats: MockStats = { inFlight: 0, peak: 0, calls: 0 };
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;

  async function completion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const body = JSON.parse(text) as { model?: string; stream?: boolean };
    stats.inFlight++;
    stats.calls++;
    stats.peak = Math.max(stats.peak, stats.inFlight);
    try {
      const id = `chatcmpl-${stats.calls}`;
      const created = Math.floor(Date.now() / 1_000);
      const model = body.model ?? 'mock';
      const usage = { prompt_tokens: 50, completion_tokens: latency.chunks + 1, total_tokens: 51 + latency.chunks };
      // A model named `mock:<ms>` answers its first token after that long instead (slower agents, same provider).
      await sleep(Number(/^mock:(\d+)$/.exec(model)?.[1] ?? latency.firstTokenMs));
      if (!body.stream) {
        await sleep(latency.chunks * latency.chunkMs);
        const answer = ['done', ...Array.from({ length: latency.chunks }, (_, i) => ` w${i}`)].join('');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            object: 'chat.completion',
            created,
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const send = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`,
        );
      send({ role: 'assistant', content: 'done' }, null);
      for (let i = 0; i < latency.chunks; i++) {
        await sleep(latency.chunkMs);
        send({ content: ` w${i}` }, null);
      }
      send({}, 'stop', { usage });
      res.end('data: [DONE]\n\n');
    } finally {
      stats.inFlight--;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method === 'POST' && req.url?.endsWith('/chat/completions')) return await completion(req, res);
      if (req.url === '/stats' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
        return;
      }
      if (req.url === '/stats/reset' && req.method === 'POST') {
        stats.peak = stats.inFlight;
        stats.calls = 0;
        res.writeHead(204).end();
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: (err as Error).message, type: 'server_error' } }));
    }
  }

  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** Starts the mock provider in a child process and waits for its port. */
export async function startMockProvider(latency: MockLatency): Promise<MockProvider> {
  const child: ChildProcess = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename], {
    env: {
      ...process.env,
      MOCK_FIRST_TOKEN_MS: String(latency.firstTokenMs),
      MOCK_CHUNKS: String(latency.chunks),
      MOCK_CHUNK_MS: String(latency.chunkMs),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the mock provider exited (${code}) before listening`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    pid: child.pid,
    stats: async () => (await (await fetch(`${origin}/stats`)).json()) as MockStats,
    reset: async () => void (await fetch(`${origin}/stats/reset`, { method: 'POST' })),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (require.main === module) {
  const n = (name: string, def: number) => Number(process.env[name] ?? def);
  void serve({
    firstTokenMs: n('MOCK_FIRST_TOKEN_MS', 2_000),
    chunks: n('MOCK_CHUNKS', 20),
    chunkMs: n('MOCK_CHUNK_MS', 50),
  }).then((port) => console.log(`listening ${port}`));
}
