import { ApplicationFailure } from '@temporalio/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { inSpan } from '../observability/spans';
import { BUILTIN_TOOLS, type AgentType, type McpServer } from '../shared/agent-type';
import type { Messenger, ToolCallOptions, ToolDefinition, ToolRunner } from './types';
import { Failure } from '../shared/errors';
import type { AgentTypePolicy } from './agent-type-policy';

interface Connection {
  client: Client;
  tools: ToolDefinition[];
}

/**
 * One MCP client per configured server per worker process, connected on first use and re-connected after a drop.
 * Connections unused for `idleMs` are closed (stdio servers exit), which also retires those of a server whose settings
 * were edited in the registry. Nothing is started or reached that the worker's policy does not allow, whatever the
 * registry says: this is the last check before a command runs or a request leaves (docs/security.md).
 */
export class McpConnections {
  private readonly open = new Map<string, Promise<Connection>>();
  private readonly lastUsed = new Map<string, number>();
  private readonly inUse = new Map<string, number>();

  constructor(
    private readonly policy: AgentTypePolicy,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly idleMs = 10 * 60_000,
  ) {}

  get(server: McpServer): Promise<Connection> {
    const key = JSON.stringify(server);
    const now = Date.now();
    for (const [k, at] of this.lastUsed) {
      if (k !== key && now - at > this.idleMs && !this.inUse.get(k)) void this.close(k);
    }
    this.lastUsed.set(key, now);
    let conn = this.open.get(key);
    if (!conn) {
      conn = this.connect(server, () => this.open.delete(key));
      this.open.set(key, conn);
      conn.catch(() => this.open.delete(key));
    }
    return conn;
  }

  /** Runs a call on a server's connection; a connection with calls in flight is never closed as idle. */
  async using<T>(server: McpServer, fn: (conn: Connection) => Promise<T>): Promise<T> {
    const key = JSON.stringify(server);
    const conn = await this.get(server);
    this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
    try {
      return await fn(conn);
    } finally {
      this.inUse.set(key, (this.inUse.get(key) ?? 1) - 1);
      this.lastUsed.set(key, Date.now());
    }
  }

  private async close(key: string): Promise<void> {
    const conn = this.open.get(key);
    this.open.delete(key);
    this.lastUsed.delete(key);
    await conn?.then((c) => c.client.close()).catch(() => undefined);
  }

  private async connect(server: McpServer, onClose: () => void): Promise<Connection> {
    this.policy.checkServer(server);
    const client = new Client({ name: 'agent-orchestrator', version: '0.1.0' });
    const transport =
      server.transport === 'stdio'
        ? new StdioClientTransport({
            command: server.command,
            args: server.args,
            env: { ...getDefaultEnvironment(), ...this.policy.expand(server.env, this.env) },
            ...(server.cwd ? { cwd: server.cwd } : {}),
            stderr: 'ignore',
          })
        : new StreamableHTTPClientTransport(new URL(server.url), {
            requestInit: { headers: this.policy.expand(server.headers, this.env) },
          });
    client.onclose = onClose;
    try {
      await client.connect(transport);
      const listed = await client.listTools();
      return {
        client,
        tools: listed.tools.map((t) => ({
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          inputSchema: t.inputSchema as Record<string, unknown>,
        })),
      };
    } catch (err) {
      await client.close().catch(() => undefined);
      // Retryable: the server may be starting, or restarting.
      throw ApplicationFailure.create({
        type: Failure.ToolServerUnavailable,
        message: `MCP server "${server.name}" could not be reached: ${(err as Error).message}`,
      });
    }
  }

  /** Forgets (and closes) a server's connection, so the next call connects afresh: after a restart, say. */
  drop(server: McpServer): Promise<void> {
    return this.close(JSON.stringify(server));
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((k) => this.close(k)));
  }
}

/** A tool's input as the JSON schema a model is shown (draft-07, as the AI SDK writes its own). */
function inputSchema(schema: z.ZodType): Record<string, unknown> {
  const json: Record<string, unknown> = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' });
  delete json.$schema;
  return json;
}

const BUILTIN_DEFS: Record<(typeof BUILTIN_TOOLS)[number], ToolDefinition> = {
  send_message: {
    name: 'send_message',
    description:
      'Send a message to another agent of this plan: "to" is a task id, an agent id, or "*" for every running agent.',
    inputSchema: inputSchema(z.strictObject({ to: z.string(), body: z.unknown().describe('any JSON value') })),
  },
  current_time: {
    name: 'current_time',
    description: 'The current date and time (ISO-8601, UTC).',
    inputSchema: inputSchema(z.strictObject({})),
  },
};

/** MCP tool names as a model sees them: `<server>__<tool>`, in the alphabet model APIs accept. */
const exposedName = (server: string, tool: string): string => `${server}__${tool}`.replace(/[^A-Za-z0-9_-]/g, '_');

function wanted(type: AgentType, server: string, tool: string): boolean {
  const list = type.runtime.tools;
  return list.length === 0 || list.includes(`${server}/${tool}`) || list.includes(`${server}/*`);
}

/** An MCP tool result as a JSON value: structured content if any, else its text, else the content blocks. */
function resultValue(result: { content?: unknown; structuredContent?: unknown; toolResult?: unknown }): unknown {
  if (result.structuredContent !== undefined) return result.structuredContent;
  if (result.toolResult !== undefined) return result.toolResult;
  const blocks = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
  if (blocks.length > 0 && blocks.every((b) => b.type === 'text')) return blocks.map((b) => b.text).join('\n');
  return blocks;
}

/**
 * The Tool Runner: built-in tools plus the tools of the MCP servers an agent type declares. A tool's own failure comes
 * back as a non-retryable `ToolError` (the model is told and can try something else); an unreachable server is
 * retryable. MCP calls carry the idempotency key in `_meta`, for servers that de-duplicate.
 */
export class AgentToolRunner implements ToolRunner {
  constructor(
    private readonly deps: {
      agentType: (name: string) => Promise<AgentType | undefined>;
      mcp: McpConnections;
      messenger: Messenger;
    },
  ) {}

  private async typeOf(name: string): Promise<AgentType> {
    const type = await this.deps.agentType(name);
    if (!type) throw ApplicationFailure.nonRetryable(`unknown agent type "${name}"`, Failure.BadInput);
    return type;
  }

  async list(agentType: string): Promise<ToolDefinition[]> {
    const type = await this.typeOf(agentType);
    const builtins = BUILTIN_TOOLS.filter((b) => type.runtime.tools.length === 0 || type.runtime.tools.includes(b)).map(
      (b) => BUILTIN_DEFS[b],
    );
    const fromServers = await Promise.all(
      type.runtime.mcpServers.map(async (server) => {
        const conn = await this.deps.mcp.get(server);
        return conn.tools
          .filter((t) => wanted(type, server.name, t.name))
          .map((t) => ({ ...t, name: exposedName(server.name, t.name) }));
      }),
    );
    return [...builtins, ...fromServers.flat()];
  }

  async call(name: string, args: unknown, options: ToolCallOptions & { signal?: AbortSignal }): Promise<unknown> {
    const input = (args ?? {}) as Record<string, unknown>;
    if (name === 'current_time') return { now: new Date().toISOString() };
    if (name === 'send_message') {
      if (!options.planId) throw toolError('send_message needs a plan');
      if (typeof input.to !== 'string' || input.to === '')
        throw toolError('send_message: "to" must be a task id, an agent id or "*"');
      // The idempotency key is the message id: a retried call re-sends it and the plan drops the copy.
      await this.deps.messenger.send(options.planId, {
        id: options.idempotencyKey,
        from: options.agentId,
        to: input.to,
        body: input.body ?? null,
        sentAt: new Date().toISOString(),
      });
      return { sent: true, id: options.idempotencyKey };
    }
    const type = await this.typeOf(options.agentType ?? '');
    for (const server of type.runtime.mcpServers) {
      const conn = await this.deps.mcp.get(server);
      const tool = conn.tools.find(
        (t) => exposedName(server.name, t.name) === name && wanted(type, server.name, t.name),
      );
      if (!tool) continue;
      let result;
      try {
        const attributes = { 'mcp.server': server.name, 'mcp.tool': tool.name, 'agent.type': type.name };
        result = await inSpan(`mcp.tool ${server.name}/${tool.name}`, attributes, () =>
          this.deps.mcp.using(server, (c) =>
            c.client.callTool(
              {
                name: tool.name,
                arguments: input,
                _meta: { 'agent-orchestrator/idempotency-key': options.idempotencyKey },
              },
              undefined,
              {
                ...(options.signal ? { signal: options.signal } : {}),
                // The SDK's default is 60 s; a tool may take as long as its activity allows, as long as it reports progress
                // or the activity heartbeats.
                ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
              },
            ),
          ),
        );
      } catch (err) {
        if (options.signal?.aborted) throw err; // cancelled: not the server's fault
        if ((err as { code?: number }).code === -32602) throw toolError(`${name}: ${(err as Error).message}`);
        // The server may have restarted (an HTTP session it no longer knows, a dead process): connect afresh next time.
        await this.deps.mcp.drop(server);
        throw ApplicationFailure.create({
          type: Failure.ToolServerUnavailable,
          message: `MCP server "${server.name}" failed calling ${tool.name}: ${(err as Error).message}`,
        });
      }
      const value = resultValue(result as { content?: unknown; structuredContent?: unknown; toolResult?: unknown });
      if (result.isError) throw toolError(`${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      return value;
    }
    throw toolError(`no tool named "${name}" is available to agent type "${type.name}"`);
  }
}

function toolError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, Failure.ToolError);
}
