import { z } from 'zod';

/** An agent type: what an agent can do (capabilities) and how it thinks (its runtime: offline, or a model with tools). */

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An MCP server an agent type takes tools from. `${VAR}` in env values and headers is read from the worker's env. */
export const McpServer = z.discriminatedUnion('transport', [
  z.object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'lowercase letters, digits, "_" or "-", starting with a letter'),
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
  }),
  z.object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'lowercase letters, digits, "_" or "-", starting with a letter'),
    transport: z.literal('http'),
    url: z.url(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);
export type McpServer = z.infer<typeof McpServer>;

/** Tools every model-backed agent can be given without an MCP server. */
export const BUILTIN_TOOLS = ['send_message', 'current_time'] as const;

export const PROVIDERS = ['offline', 'openai', 'openai-compatible', 'anthropic', 'a2a'] as const;

/**
 * How an agent type thinks: the offline runtime, a model behind the Vercel AI SDK, or (`a2a`) a remote A2A agent that
 * its execute step hands the task to (docs/a2a.md).
 */
export const Runtime = z
  .object({
    provider: z.enum(PROVIDERS).default('offline'),
    model: z.string().min(1).optional(),
    /** `a2a`: the remote agent's Agent Card (e.g. https://agent.example.com/.well-known/agent-card.json). */
    cardUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
    /** The provider's endpoint; required for openai-compatible (e.g. http://localhost:11434/v1 for Ollama). */
    baseUrl: z.url().optional(),
    /** Name of the env variable holding the API key (default OPENAI_API_KEY / ANTHROPIC_API_KEY; none for -compatible). */
    apiKeyEnv: z.string().regex(ENV_NAME, 'an environment variable name').optional(),
    systemPrompt: z.string().max(100_000).optional(),
    /** Model calls of one agent loop (reason ↔ tools); the last one is asked to answer without tools. */
    maxSteps: z.number().int().min(1).max(100).default(8),
    /**
     * Coordinators: the reasoning step may split the task into subtasks (dynamic decomposition); `"required"`: it must
     * (its reasoning call is made to use the delegation tool, and an answer without subtasks goes back to the model).
     */
    delegate: z.union([z.boolean(), z.literal('required')]).default(false),
    maxOutputTokens: z.number().int().min(1).optional(),
    /**
     * openai-compatible: the server takes response_format json_schema (an output contract's schema constrains the
     * answer; the default); false: json_object only.
     */
    structuredOutputs: z.boolean().optional(),
    temperature: z.number().min(0).max(2).optional(),
    /** Built-in tools and MCP tools ("<server>/<tool>" or "<server>/*") offered to the model; empty = all of them. */
    tools: z.array(z.string().min(1)).default([]),
    mcpServers: z.array(McpServer).default([]),
    /** USD per million tokens, for cost accounting and `maxCostUsd` budgets. */
    pricing: z.object({ inputPerMillion: z.number().min(0), outputPerMillion: z.number().min(0) }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.provider === 'a2a' && !r.cardUrl)
      ctx.addIssue({ code: 'custom', path: ['cardUrl'], message: 'provider "a2a" needs the remote agent\'s cardUrl' });
    if (r.provider !== 'offline' && r.provider !== 'a2a' && !r.model)
      ctx.addIssue({ code: 'custom', path: ['model'], message: `provider "${r.provider}" needs a model` });
    if (r.provider === 'openai-compatible' && !r.baseUrl)
      ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'provider "openai-compatible" needs a baseUrl' });
    const names = r.mcpServers.map((m) => m.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['mcpServers'], message: `two MCP servers are named "${dup}"` });
    for (const [i, t] of r.tools.entries()) {
      const server = t.includes('/') ? t.slice(0, t.indexOf('/')) : undefined;
      if (server !== undefined && !names.includes(server))
        ctx.addIssue({ code: 'custom', path: ['tools', i], message: `tool "${t}" names no declared MCP server` });
      else if (server === undefined && !(BUILTIN_TOOLS as readonly string[]).includes(t))
        ctx.addIssue({
          code: 'custom',
          path: ['tools', i],
          message: `unknown built-in tool "${t}" (built-ins: ${BUILTIN_TOOLS.join(', ')}; MCP tools are "<server>/<tool>")`,
        });
    }
  });
export type Runtime = z.infer<typeof Runtime>;

/** One kind of agent the pool can spawn, and what it can do. */
export const AgentType = z.object({
  name: z.string().regex(NAME, 'lowercase letters, digits and dashes, starting with a letter'),
  description: z.string().default(''),
  capabilities: z.array(z.string().min(1).max(100)).min(1),
  maxInstances: z.number().int().min(1).default(10),
  idleTtlSeconds: z.number().int().min(1).default(600),
  runtime: Runtime.default({ provider: 'offline', tools: [], mcpServers: [], maxSteps: 8, delegate: false }),
  timeoutSeconds: z.number().int().min(1).optional(),
  maxRetries: z.number().int().min(0).optional(),
});
export type AgentType = z.infer<typeof AgentType>;

/** The agent type schema before model runtimes existed: what pool histories recorded before then may hold. */
const LegacyAgentType = z.object({
  name: z.string(),
  description: z.string().default(''),
  capabilities: z.array(z.string()),
  maxInstances: z.number().int().default(10),
  idleTtlSeconds: z.number().int().default(600),
  runtime: z
    .object({
      model: z.string().optional(),
      systemPrompt: z.string().optional(),
      tools: z.array(z.string()).default([]),
    })
    .default({ tools: [] }),
  timeoutSeconds: z.number().int().optional(),
  maxRetries: z.number().int().optional(),
});

/**
 * Parses an agent type inside the pool workflow, where a replayed update must parse as it did when it was first
 * accepted: today's schema, else (for types accepted before model runtimes) the old one, as an offline type.
 */
export function parseStoredAgentType(raw: unknown): AgentType {
  const parsed = AgentType.safeParse(raw);
  if (parsed.success) return parsed.data;
  const legacy = LegacyAgentType.parse(raw);
  const { model, systemPrompt, tools } = legacy.runtime;
  return {
    ...legacy,
    runtime: {
      provider: 'offline',
      ...(model !== undefined ? { model } : {}),
      ...(systemPrompt !== undefined ? { systemPrompt } : {}),
      tools,
      mcpServers: [],
      maxSteps: 8,
      delegate: false,
    },
  };
}
