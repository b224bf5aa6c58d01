import {
  generateText,
  jsonSchema,
  tool,
  type LanguageModel,
  type ModelMessage,
  type OutputInterface,
  type ToolSet,
} from 'ai';
import type { ClaimCheck } from '../../storage/blob-store';
import type { AgentType } from '../../shared/agent-type';
import { roundUsd, type Usage } from '../../shared/usage';
import type {
  AiRuntime,
  ExecuteContext,
  ReviewContext,
  StepContext,
  StepControl,
  ToolCallResult,
  ToolRunner,
  Turn,
} from '../types';
import { parseJsonAnswer } from '../../shared/output-contract';
import { DELEGATE_TOOL, delegateTool } from './delegate';
import {
  clip,
  executePrompt,
  newMessagesPrompt,
  reasonPrompt,
  revisionPrompt,
  reviewPrompt,
  systemPrompt,
} from './prompts';
import { providerFailure } from './provider-errors';
import type { ProviderLimiter } from './provider-limits';
import { languageModel, providerKey } from './providers';
import { StreamPacer, streamedCall, type ModelAnswer } from './stream';

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
  /** Paces the streamed text over all of this worker's streaming calls (made from streamIntervalMs when absent). */
  streamPacer?: StreamPacer;
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
  private pacer?: StreamPacer;

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
    const pacer = (this.pacer ??= this.deps.streamPacer ?? new StreamPacer(interval, 0));
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
          // Once the call is over its text is not "being generated" any more: later beats carry no details (none is
          // sent for that alone: the step usually ends at once, and a heartbeat is a write on the server).
          return streamedCall(request as Parameters<typeof streamedCall>[0], step, pacer, (text) =>
            control.heartbeat(text),
          ).finally(() => control.clearDetails());
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
    const delegate = this.type.runtime.delegate !== false && ctx.depth + 1 <= (this.deps.maxDepth ?? 5);
    // Required: the call must use the delegation tool (where the provider honours a forced tool choice; where it does
    // not, an answer without subtasks goes back to the model, see the reason activity).
    const required = delegate && this.type.runtime.delegate === 'required';
    const capabilities = delegate ? await this.deps.capabilities() : undefined;
    const result = await this.call(control, 'reason', {
      system: systemPrompt(this.type, ctx),
      prompt: reasonPrompt(ctx, capabilities, required),
      ...(delegate ? { tools: { [DELEGATE_TOOL]: delegateTool } } : {}),
      ...(required ? { toolChoice: { type: 'tool' as const, toolName: DELEGATE_TOOL } } : {}),
    });
    const usage = this.usageOf(result.usage);
    const call = result.toolCalls.find((c) => c.toolName === DELEGATE_TOOL);
    const subtasks = (call?.input as { subtasks?: unknown } | undefined)?.subtasks;
    if (Array.isArray(subtasks) && subtasks.length > 0) {
      return {
        thoughts: result.text || `delegating ${subtasks.length} subtask(s)`,
        usage,
        subtasks: subtasks as Record<string, unknown>[],
      };
    }
    return { thoughts: result.text, usage, ...(required ? { delegationRequired: true } : {}) };
  }

  /** As a reviewer: one model call, answering a verdict as JSON (the provider asked for that shape where it can). */
  async review(
    ctx: ReviewContext,
    control: StepControl,
  ): Promise<{ accepted: boolean; reasons: string[]; usage: Usage }> {
    const result = await this.call(control, 'review', {
      system: systemPrompt(this.type, ctx),
      prompt: reviewPrompt(ctx),
      output: jsonAnswer(VERDICT_SCHEMA),
    });
    const usage = this.usageOf(result.usage);
    const read = parseJsonAnswer(result.text)?.value as { accepted?: unknown; reasons?: unknown } | undefined;
    if (typeof read?.accepted !== 'boolean') {
      // A reviewer that cannot say yes or no has not accepted the output: the agent revises with this reason.
      return { accepted: false, reasons: [`the reviewer gave no verdict: ${clip(result.text, 300)}`], usage };
    }
    const reasons = Array.isArray(read.reasons) ? read.reasons.map((r) => clip(r, 2_000)) : [];
    return { accepted: read.accepted, reasons, usage };
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
      : [{ role: 'user', content: executePrompt(ctx) }];
    // A revision: the rejected answer and why, as the next turns of the same conversation.
    if (!loop && ctx.revision) {
      const rejected = await claimCheck.resolve(ctx.revision.output);
      messages.push({ role: 'assistant', content: clip(rejected) });
      messages.push({ role: 'user', content: revisionPrompt(ctx, ctx.revision.reasons) });
    }
    if (loop && loop.results.length > 0) messages.push(await this.toolMessage(loop.results));
    // Messages that reached the agent while it worked join the conversation at its next turn.
    const fresh = loop ? ctx.inbox.slice(loop.inboxSeen ?? ctx.inbox.length) : [];
    if (fresh.length > 0) {
      messages.push({ role: 'user', content: newMessagesPrompt(fresh) });
    }
    const step = loop?.step ?? 0;
    const last = step + 1 >= this.type.runtime.maxSteps;
    const tools = await this.toolSet();
    const hasTools = Object.keys(tools).length > 0;
    const result = await this.call(control, 'execute', {
      system: systemPrompt(this.type, ctx),
      messages,
      ...(hasTools ? { tools, toolChoice: last ? 'none' : 'auto' } : {}),
      // With a contract and no tools to call, the provider is asked for JSON of the schema (where it supports that).
      ...(ctx.contract && (!hasTools || last) ? { output: jsonAnswer(ctx.contract.schema) } : {}),
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

/** What a reviewer answers. */
const VERDICT_SCHEMA = {
  type: 'object',
  properties: { accepted: { type: 'boolean' }, reasons: { type: 'array', items: { type: 'string' } } },
  required: ['accepted', 'reasons'],
  additionalProperties: false,
};

/**
 * Asks the provider for JSON of `schema` (its structured-output mode, where it has one) and takes the answer as text:
 * the validate step checks it against the contract, and a bad answer goes back to the agent as a revision instead of
 * failing the call (the AI SDK's Output.object would throw).
 */
function jsonAnswer(schema: Record<string, unknown>): OutputInterface<string, string, never> {
  return {
    name: 'json-answer',
    responseFormat: Promise.resolve({ type: 'json', schema: schema as never }),
    parseCompleteOutput: ({ text }) => Promise.resolve(text),
    parsePartialOutput: ({ text }) => Promise.resolve({ partial: text }),
    createElementStreamTransform: () => undefined,
  };
}
