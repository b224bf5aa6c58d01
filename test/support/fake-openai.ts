/**
 * A local HTTP server speaking the OpenAI chat-completions protocol (plain JSON, and server-sent chunks when the request
 * says `stream: true`), for tests of the AI SDK adapter
 * (`@ai-sdk/openai` `.chat()` and `@ai-sdk/openai-compatible`): every request is recorded and answered by a script.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The JSON body of a `POST /v1/chat/completions` request, as received. */
export interface ChatRequest {
  model: string;
  messages: Array<Record<string, unknown>>;
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  /** When the fake received it (ms since the epoch); set by the fake, not sent by the client. */
  receivedAt: number;
  [k: string]: unknown;
}

/** Token counts reported in a success reply (default: prompt 10, completion 5). */
export interface FakeUsage {
  prompt: number;
  completion: number;
}

/** How the fake answers one request: text, tool calls, an HTTP error, or a reply held back until a promise settles. */
export type FakeReply =
  /** Streamed requests get `content` in `chunks` pieces (default: word by word), `chunkDelayMs` apart (default 0). */
  | { content: string; usage?: FakeUsage; chunks?: number; chunkDelayMs?: number }
  | { toolCalls: Array<{ id?: string; name: string; args: unknown }>; usage?: FakeUsage }
  | { status: number; retryAfterSeconds?: number; retryAfterMs?: number; error?: string }
  | { hold: Promise<void>; then: FakeReply };

/** A running fake server; `close()` also destroys open keep-alive sockets. */
export interface FakeOpenAI {
  /** E.g. `http://127.0.0.1:PORT/v1`, to pass as the provider's `baseURL`. */
  baseUrl: string;
  /** Every `POST /v1/chat/completions` body received, in arrival order (including ones answered with errors). */
  requests: ChatRequest[];
  close(): Promise<void>;
}

/** An HTTP failure answered with an OpenAI-style error body. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { message, type: errorType(status), code: null } }, headers);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON.');
  }
}

function isChatRequest(body: unknown): body is ChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const { model, messages } = body as Record<string, unknown>;
  return typeof model === 'string' && Array.isArray(messages);
}

function usageOf(usage: FakeUsage | undefined): Record<string, number> {
  const prompt = usage?.prompt ?? 10;
  const completion = usage?.completion ?? 5;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

type FinalReply = Exclude<FakeReply, { hold: Promise<void> }>;

function writeReply(res: ServerResponse, reply: FinalReply, body: ChatRequest, n: number): void {
  if ('status' in reply) {
    const headers: Record<string, string> = {};
    if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
    if (reply.retryAfterMs !== undefined) headers['retry-after-ms'] = String(reply.retryAfterMs);
    sendError(res, reply.status, reply.error ?? `Fake error (HTTP ${reply.status}).`, headers);
    return;
  }

  const created = Math.floor(Date.now() / 1000);
  let message: Record<string, unknown>;
  let finishReason: 'stop' | 'tool_calls';
  if ('toolCalls' in reply) {
    message = {
      role: 'assistant',
      content: null,
      tool_calls: reply.toolCalls.map((call, i) => ({
        id: call.id ?? `call_${n}_${i}`,
        type: 'function',
        function: { name: call.name, arguments: JSON.stringify(call.args) ?? '{}' },
      })),
    };
    finishReason = reply.toolCalls.length > 0 ? 'tool_calls' : 'stop';
  } else {
    message = { role: 'assistant', content: reply.content };
    finishReason = 'stop';
  }
  sendJson(res, 200, {
    id: `chatcmpl-${n}`,
    object: 'chat.completion',
    created,
    model: body.model,
    choices: [{ index: 0, message, finish_reason: finishReason }],
    usage: usageOf(reply.usage),
  });
}

function sendChunk(res: ServerResponse, chunk: unknown): void {
  if (!res.destroyed && !res.writableEnded) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
}

/** Splits text into `n` pieces, or into words (each with the space before it) when `n` is absent. */
function pieces(text: string, n?: number): string[] {
  if (n === undefined) return text.match(/\s*\S+/g) ?? [text];
  const size = Math.max(1, Math.ceil(text.length / n));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

/** The same answers as writeReply, as `chat.completion.chunk` server-sent events ending with usage and `[DONE]`. */
async function streamReply(res: ServerResponse, reply: FinalReply, body: ChatRequest, n: number): Promise<void> {
  if ('status' in reply) return writeReply(res, reply, body, n);
  const base = {
    id: `chatcmpl-${n}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
  };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let finishReason: 'stop' | 'tool_calls' = 'stop';
  if ('toolCalls' in reply) {
    reply.toolCalls.forEach((call, i) =>
      sendChunk(res, {
        ...base,
        choices: [
          {
            index: 0,
            delta: {
              ...(i === 0 ? { role: 'assistant' } : {}),
              tool_calls: [
                {
                  index: i,
                  id: call.id ?? `call_${n}_${i}`,
                  type: 'function',
                  function: { name: call.name, arguments: JSON.stringify(call.args) ?? '{}' },
                },
              ],
            },
            finish_reason: null,
          },
        ],
      }),
    );
    if (reply.toolCalls.length > 0) finishReason = 'tool_calls';
  } else {
    for (const [i, piece] of pieces(reply.content, reply.chunks).entries()) {
      if (i > 0 && reply.chunkDelayMs) await new Promise((r) => setTimeout(r, reply.chunkDelayMs));
      sendChunk(res, {
        ...base,
        choices: [
          { index: 0, delta: { ...(i === 0 ? { role: 'assistant' } : {}), content: piece }, finish_reason: null },
        ],
      });
    }
  }
  sendChunk(res, { ...base, choices: [{ index: 0, delta: {}, finish_reason: finishReason }] });
  sendChunk(res, { ...base, choices: [], usage: usageOf(reply.usage) });
  if (!res.destroyed && !res.writableEnded) res.end('data: [DONE]\n\n');
}

/**
 * Starts the fake on 127.0.0.1 (random port). `reply(req, index)` decides the answer to the index-th (0-based) chat
 * request; if it throws or rejects, the request is answered with HTTP 500. `chatcmpl-<n>` and `call_<n>_<i>` use
 * n = index.
 */
export async function startFakeOpenAI(
  reply: (req: ChatRequest, index: number) => FakeReply | Promise<FakeReply>,
): Promise<FakeOpenAI> {
  const requests: ChatRequest[] = [];

  async function handleChat(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (!isChatRequest(body)) throw new HttpError(400, 'Request body must be an object with `model` and `messages`.');
    body.receivedAt = Date.now();
    const index = requests.push(body) - 1;

    let answer: FinalReply;
    try {
      let next = await reply(body, index);
      while ('hold' in next) {
        await next.hold;
        next = next.then;
      }
      answer = next;
    } catch (err) {
      throw new HttpError(500, `Fake reply failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (body['stream'] === true) await streamReply(res, answer, body, index);
    else writeReply(res, answer, body, index);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    try {
      if (method === 'POST' && path === '/v1/chat/completions') return await handleChat(req, res);
      if (method === 'GET' && path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [] });
      req.resume();
      throw new HttpError(404, `No route for ${method} ${path}.`);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err.status, err.message);
      else sendError(res, 500, err instanceof Error ? err.message : String(err));
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
