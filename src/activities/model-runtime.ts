import { memoryEntries } from '../shared/agent';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ApplicationFailure } from '@temporalio/common';
import {
  APICallError,
  generateText,
  jsonSchema,
  LoadAPIKeyError,
  RetryError,
  tool,
  type LanguageModel,
  type ModelMessage,
  type ToolSet,
} from 'ai';
import type { ClaimCheck } from '../blob-store';
import type { AgentType, Runtime } from '../shared/agent-type';
import { roundUsd, type Usage } from '../shared/usage';
import { streamedCall, type ModelAnswer } from './model-stream';
import type { ProviderLimiter } from './provider-limits';
import type { AiRuntime, ExecuteContext, StepContext, StepControl, ToolCallResult, ToolRunner, Turn } from './types';

const DELEGATE = {
  description: 'Split the task into subtasks, each done by a sub-agent; you then combine their results.',
  schema: {
    type: 'object' as const,
    properties: {
      subtasks: {
        type: 'array' as const,
        minItems: 1,
        items: {
          type: 'object' as const,
          properties: {
            id: { type: 'string' as const, description: 'letters, digits, "-" or "_"' },
            description: { type: 'string' as const },
            capabilities: { type: 'array' as const, items: { type: 'string' as const } },
            dependsOn: { type: 'array' as const, items: { type: 'string' as const } },
          },
          required: ['id', 'description'],
        },
      },
    },
    required: ['subtasks'],
  },
};

export interface ModelRuntimeDeps {
  /** Every capability the registry offers (told to coordinators that may delegate). */
  capabilities: () => Promise<string[]>;
  /** MAX_SUBTASK_DEPTH, so a coordinator at the bottom is not offered delegation. */
  maxDepth?: number;
  /** Where API keys are read from (the worker's environment). */
  env: NodeJS.ProcessEnv;
  limiter: ProviderLimiter;
  claimCheck: ClaimCheck;
  tools: ToolRunner;
  /**
   * Tracing is on: each model call reports AI SDK spans (`ai.streamText` or `ai.generateText`, and the provider call under it) to the
   * global tracer provider, with the agent type; prompts and outputs are not recorded.
   */
  telemetry?: boolean;
  /**
   * MODEL_STREAM_INTERVAL_MS: above 0, a model call in a regular activity streams, heartbeating its text so far at most
   * this often (docs/events.md); 0 or absent: one generateText call.
   */
  streamIntervalMs?: number;
}

/** The key provider limits are counted under: the provider, plus the host when a base URL is set. */
export function providerKey(runtime: Runtime): string {
  return runtime.baseUrl ? `${runtime.provider}@${new URL(runtime.baseUrl).host}` : runtime.provider;
}

function languageModel(runtime: Runtime, env: NodeJS.ProcessEnv): LanguageModel {
  const model = runtime.model as string;
  const key = (fallback?: string) => {
    const name = runtime.apiKeyEnv ?? fallback;
    return name ? env[name] : undefined;
  };
  switch (runtime.provider) {
    case 'openai': {
      const apiKey = key('OPENAI_API_KEY');
      if (!apiKey) throw missingKey(runtime.apiKeyEnv ?? 'OPENAI_API_KEY');
      // Chat completions: the protocol every OpenAI-compatible server speaks too.
      return createOpenAI({ apiKey, ...(runtime.baseUrl ? { baseURL: runtime.baseUrl } : {}) }).chat(model);
    }
    case 'anthropic': {
      const apiKey = key('ANTHROPIC_API_KEY');
      if (!apiKey) throw missingKey(runtime.apiKeyEnv ?? 'ANTHROPIC_API_KEY');
      return createAnthropic({ apiKey, ...(runtime.baseUrl ? { baseURL: runtime.baseUrl } : {}) })(model);
    }
    case 'openai-compatible': {
      const apiKey = key();
      if (runtime.apiKeyEnv && !apiKey) throw missingKey(runtime.apiKeyEnv);
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: runtime.baseUrl as string,
        ...(apiKey ? { apiKey } : {}),
        includeUsage: true,
      }).chatModel(model);
    }
    default:
      throw ApplicationFailure.create({
        type: 'BadInput',
        message: `provider "${runtime.provider}" has no model`,
        nonRetryable: true,
      });
  }
}

function missingKey(name: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ModelAuthFailed',
    message: `the API key variable ${name} is not set in the worker's environment`,
    nonRetryable: true,
  });
}

/** Milliseconds the provider asked us to wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number(lower['retry-after-ms']);
  if (lower['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  const raw = lower['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Turns what a provider call threw into an ApplicationFailure whose type and retry behaviour fit: rate limit → retry
 * after the provider's retry-after; auth and bad request → non-retryable; server and network errors → retry.
 */
export function providerFailure(err: unknown, onRateLimit?: (ms: number) => void): unknown {
  let cause = err;
  if (RetryError.isInstance(cause)) cause = cause.lastError;
  if (cause instanceof ApplicationFailure) return cause;
  if (LoadAPIKeyError.isInstance(cause)) {
    return ApplicationFailure.create({ type: 'ModelAuthFailed', message: cause.message, nonRetryable: true });
  }
  if (APICallError.isInstance(cause)) {
    const status = cause.statusCode;
    const where = `${status ?? 'no status'} from ${cause.url}`;
    const message = `model provider answered ${where}: ${cause.message}`;
    if (status === 429) {
      const wait = retryAfterMs(cause.responseHeaders);
      if (wait !== undefined) onRateLimit?.(wait);
      return ApplicationFailure.create({
        type: 'ModelRateLimited',
        message,
        ...(wait !== undefined ? { nextRetryDelay: Math.max(wait, 1) } : {}),
      });
    }
    if (status === 401 || status === 403) {
      return ApplicationFailure.create({ type: 'ModelAuthFailed', message, nonRetryable: true });
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.create({ type: 'ModelBadRequest', message, nonRetryable: true });
    }
    return ApplicationFailure.create({ type: status ? 'ModelServerError' : 'ModelUnavailable', message });
  }
  if (cause instanceof Error && cause.name === 'AbortError') return err; // the activity was cancelled
  const message = cause instanceof Error ? cause.message : String(cause);
  return ApplicationFailure.create({ type: 'ModelError', message: `model call failed: ${message}` });
}

const clip = (v: unknown, max = 20_000): string => {
  const text = typeof v === 'string' ? v : JSON.stringify(v, null, 1);
  return text === undefined
    ? ''
    : text.length > max
      ? `${text.slice(0, max)}… (${text.length - max} more chars)`
      : text;
};

function systemPrompt(type: AgentType, ctx: StepContext): string {
  const parts = [
    type.runtime.systemPrompt ??
      `You are ${ctx.agentId}, a ${type.name} agent (${type.description || type.capabilities.join(', ')}).`,
    `You work on task "${ctx.taskId}" of plan "${ctx.planId}" as one agent of a multi-agent system.`,
  ];
  const memory = memoryEntries(ctx.memory);
  if (memory.length > 0) {
    parts.push(`What you remember from earlier tasks:\n${memory.map((m) => `- ${m.note}`).join('\n')}`);
  }
  return parts.join('\n\n');
}

function taskPrompt(ctx: ExecuteContext | StepContext): string {
  const lines = [`Task: ${ctx.description ?? ctx.taskId}`];
  if (ctx.input && Object.keys(ctx.input).length > 0) lines.push(`Input:\n${clip(ctx.input)}`);
  for (const [id, out] of Object.entries(ctx.dependencies)) lines.push(`Result of task "${id}":\n${clip(out)}`);
  const exec = ctx as Partial<ExecuteContext>;
  for (const [id, out] of Object.entries(exec.subtaskOutputs ?? {}))
    lines.push(`Result of sub-agent "${id}":\n${clip(out)}`);
  for (const [id, err] of Object.entries(exec.subtaskErrors ?? {}))
    lines.push(`Sub-agent "${id}" failed: ${clip(err, 2_000)}`);
  if (exec.humanInput !== undefined) lines.push(`A human answered:\n${clip(exec.humanInput)}`);
  if (ctx.inbox.length > 0) {
    lines.push(
      `Messages from other agents:\n${ctx.inbox.map((m) => `- from ${m.from}: ${clip(m.body, 2_000)}`).join('\n')}`,
    );
  }
  return lines.join('\n\n');
}

/**
 * An agent that thinks with a model through the Vercel AI SDK. `reason` is one model call (a short plan); `turn` is one
 * model call of the agent loop: it either answers or asks for tool calls, which the task workflow runs as activities of
 * their own before the next turn, so a crash resumes after the last finished call instead of paying for it again.
 */
export class ModelRuntime implements AiRuntime {
  private readonly key: string;
  /** Made on first use (a missing key is reported by the call that needs it), then kept. */
  private model?: LanguageModel;

  constructor(
    private readonly type: AgentType,
    private readonly deps: ModelRuntimeDeps,
  ) {
    this.key = providerKey(type.runtime);
  }

  private usageOf(u: { inputTokens?: number; outputTokens?: number; totalTokens?: number }): Usage {
    const inputTokens = u.inputTokens ?? 0;
    const outputTokens = u.outputTokens ?? 0;
    const p = this.type.runtime.pricing;
    return {
      inputTokens,
      outputTokens,
      totalTokens: u.totalTokens ?? inputTokens + outputTokens,
      costUsd: p ? roundUsd((inputTokens * p.inputPerMillion + outputTokens * p.outputPerMillion) / 1e6) : 0,
      modelCalls: 1,
    };
  }

  private async call(
    control: StepControl,
    step: string,
    args: Omit<Parameters<typeof generateText>[0], 'model'>,
  ): Promise<ModelAnswer> {
    const runtime = this.type.runtime;
    this.model ??= languageModel(runtime, this.deps.env);
    const model = this.model;
    // Streaming needs somewhere to put the text: the heartbeat of a regular activity (a local one has none).
    const interval = this.deps.streamIntervalMs ?? 0;
    const stream = interval > 0 && control.heartbeatTimeoutMs !== undefined;
    try {
      // A model call can take longer than the heartbeat timeout: keep the step alive meanwhile.
      return await control.keepAlive(() =>
        this.deps.limiter.run(this.key, control, () => {
          const request = {
            model,
            // Temporal retries the activity (with the provider's retry-after); retrying here too would multiply them.
            maxRetries: 0,
            abortSignal: control.cancellationSignal,
            ...(runtime.maxOutputTokens ? { maxOutputTokens: runtime.maxOutputTokens } : {}),
            ...(runtime.temperature !== undefined ? { temperature: runtime.temperature } : {}),
            ...(this.deps.telemetry
              ? {
                  experimental_telemetry: {
                    isEnabled: true,
                    functionId: `agent.${this.type.name}`,
                    metadata: { agentType: this.type.name, provider: runtime.provider },
                    recordInputs: false,
                    recordOutputs: false,
                  },
                }
              : {}),
            ...args,
          };
          if (!stream) return generateText(request as Parameters<typeof generateText>[0]);
          // Once the call is over its text is not "being generated" any more: later beats carry no details.
          return streamedCall(request as Parameters<typeof streamedCall>[0], step, interval, (text) =>
            control.heartbeat(text),
          ).finally(() => control.heartbeat(null));
        }),
      );
    } catch (err) {
      // Cancelled: let the cancellation through as it is, not as a provider failure.
      if (control.cancellationSignal.aborted) throw err;
      throw providerFailure(err, (ms) => this.deps.limiter.pause(this.key, ms));
    }
  }

  async reason(
    ctx: StepContext,
    control: StepControl,
  ): Promise<{ thoughts: string; usage: Usage; subtasks?: Record<string, unknown>[] }> {
    // Coordinators (runtime.delegate) may split the task among sub-agents: the plan's task shape, checked by the
    // activity like any dynamic decomposition.
    const delegate = this.type.runtime.delegate && ctx.depth + 1 <= (this.deps.maxDepth ?? 5);
    const capabilities = delegate ? await this.deps.capabilities() : [];
    const ask = delegate
      ? `Before you start: if the task is best split among other agents, call delegate_subtasks (each subtask: an id, a description, the capabilities it needs from: ${capabilities.join(', ')}; dependsOn names sibling ids). Otherwise say in a few sentences how you will approach it.`
      : 'Before you start: in a few sentences, how will you approach this task?';
    const result = await this.call(control, 'reason', {
      system: systemPrompt(this.type, ctx),
      prompt: `${taskPrompt(ctx)}\n\n${ask}`,
      ...(delegate
        ? {
            tools: {
              delegate_subtasks: tool({ description: DELEGATE.description, inputSchema: jsonSchema(DELEGATE.schema) }),
            },
          }
        : {}),
    });
    const usage = this.usageOf(result.usage);
    const call = result.toolCalls.find((c) => c.toolName === 'delegate_subtasks');
    const subtasks = (call?.input as { subtasks?: unknown } | undefined)?.subtasks;
    if (Array.isArray(subtasks) && subtasks.length > 0) {
      return {
        thoughts: result.text || `delegating ${subtasks.length} subtask(s)`,
        usage,
        subtasks: subtasks as Record<string, unknown>[],
      };
    }
    return { thoughts: result.text, usage };
  }

  private async toolSet(): Promise<ToolSet> {
    const defs = await this.deps.tools.list(this.type.name);
    return Object.fromEntries(
      defs.map((d) => [
        d.name,
        tool({
          description: d.description,
          inputSchema: jsonSchema(d.inputSchema as Parameters<typeof jsonSchema>[0]),
        }),
      ]),
    ) as ToolSet;
  }

  async turn(ctx: ExecuteContext, control: StepControl): Promise<Turn> {
    const { claimCheck } = this.deps;
    const loop = ctx.loop;
    const messages: ModelMessage[] = loop
      ? ((await claimCheck.resolve(loop.conversation)) as ModelMessage[])
      : [{ role: 'user', content: `${taskPrompt(ctx)}\n\nYour plan: ${ctx.reasoning}` }];
    if (loop && loop.results.length > 0) messages.push(await this.toolMessage(loop.results));
    // Messages that reached the agent while it worked join the conversation at its next turn.
    const fresh = loop ? ctx.inbox.slice(loop.inboxSeen ?? ctx.inbox.length) : [];
    if (fresh.length > 0) {
      messages.push({
        role: 'user',
        content: `New messages from other agents:\n${fresh.map((m) => `- from ${m.from}: ${clip(m.body, 2_000)}`).join('\n')}`,
      });
    }
    const step = loop?.step ?? 0;
    const last = step + 1 >= this.type.runtime.maxSteps;
    const tools = await this.toolSet();
    const hasTools = Object.keys(tools).length > 0;
    const result = await this.call(control, 'execute', {
      system: systemPrompt(this.type, ctx),
      messages,
      ...(hasTools ? { tools, toolChoice: last ? 'none' : 'auto' } : {}),
    });
    const usage = this.usageOf(result.usage);
    if (result.toolCalls.length > 0 && !last) {
      const conversation = [...messages, ...result.response.messages];
      return {
        // Calls the SDK found invalid (unknown tool, unparseable arguments) already have an error result in the
        // conversation; only the valid ones are run. With none left the loop still goes on, so the model can retry.
        toolCalls: result.toolCalls
          .filter((c) => !(c as { invalid?: boolean }).invalid)
          .map((c) => ({ toolCallId: c.toolCallId, toolName: c.toolName, input: c.input })),
        conversation: await claimCheck.offload(conversation),
        usage,
        inboxSeen: ctx.inbox.length,
      };
    }
    return { output: result.text, usage, summary: result.text.slice(0, 160) };
  }

  private async toolMessage(results: ToolCallResult[]): Promise<ModelMessage> {
    const content = await Promise.all(
      results.map(async (r) => {
        const value = await this.deps.claimCheck.resolve(r.output);
        return {
          type: 'tool-result' as const,
          toolCallId: r.toolCallId,
          toolName: r.toolName,
          output:
            typeof value === 'string'
              ? { type: r.isError ? ('error-text' as const) : ('text' as const), value }
              : { type: r.isError ? ('error-json' as const) : ('json' as const), value: (value ?? null) as never },
        };
      }),
    );
    return { role: 'tool', content };
  }

  async validate(ctx: StepContext & { output: unknown }): Promise<{ ok: true } | { ok: false; reason: string }> {
    const out = await this.deps.claimCheck.resolve(ctx.output);
    if (typeof out === 'string' && out.trim() === '')
      return { ok: false, reason: 'the model returned an empty answer' };
    return { ok: true };
  }
}
