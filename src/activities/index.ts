import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { contractViolations, parseJsonAnswer } from '../shared/output-contract';
import { checkPlan } from '../shared/plan-check';
import type { Registry } from '../shared/registry';
import type { ClaimCheck } from '../storage/blob-store';
import { resolveOutputs, scopedSources, type RefScope } from '../storage/output-refs';
import { tenantOrDefault } from '../shared/tenant';
import { isBlobRef } from '../shared/claim-check';
import { memoryEntries, remember, type Memory, type MemoryEntry } from '../shared/agent';
import type {
  AgentActivities,
  AiRuntime,
  LifecycleResult,
  Messenger,
  StepContext,
  StepControl,
  ToolRunner,
} from './types';
import { Failure } from '../shared/errors';
import { addUsage, type Usage } from '../shared/usage';
import { DELEGATE_TOOL } from './model/delegate';

/** How many times a refused delegation goes back to the model before the reasoning step fails. */
const DELEGATION_REVISIONS = 2;

export interface ActivityDeps {
  /** The live registry (the pool's), for validating subtasks an agent proposes. */
  registry: () => Promise<Registry>;
  runtime: (agentType: string) => AiRuntime | Promise<AiRuntime>;
  tools: ToolRunner;
  messenger: Messenger;
  /** Reads a task's output from its task workflow's result (for outputs passed by reference), for a reader in `scope`. */
  taskResult: (workflowId: string, scope: RefScope) => Promise<unknown>;
  /** Keeps large outputs, tool results and conversations out of workflow history. */
  claimCheck: ClaimCheck;
  /** A verdict on an output (its contract, or a reviewer): counted by agent type (worker metrics). */
  onVerdict?: (agentType: string, by: 'schema' | 'reviewer', accepted: boolean) => void;
  /** Whether subtasks an agent proposes may carry `simulate` directives (the worker's ALLOW_SIMULATE). */
  allowSimulate?: boolean;
}

function control(): StepControl {
  const ctx = Context.current();
  const idempotencyKey = `${ctx.info.workflowExecution?.workflowId ?? ctx.info.activityType}/${ctx.info.activityId}`;
  // A local activity (a short step) has no heartbeat: the workflow task it runs in is what keeps it alive.
  if (ctx.info.isLocal) {
    return {
      attempt: ctx.info.attempt,
      idempotencyKey,
      heartbeat: () => undefined,
      clearDetails: () => undefined,
      sleep: (ms: number) => ctx.sleep(ms),
      keepAlive: <T>(fn: () => Promise<T>) => fn(),
      cancellationSignal: ctx.cancellationSignal,
      startToCloseTimeoutMs: ctx.info.startToCloseTimeoutMs,
    };
  }
  // The latest details (a streaming model call's text so far) go with every heartbeat: the server keeps only the last
  // heartbeat's details, and the API reads them there (docs/events.md).
  let details: unknown;
  const beat = () => (details === undefined ? ctx.heartbeat() : ctx.heartbeat(details));
  // The worker sends heartbeats at most every MODEL_STREAM_INTERVAL_MS (for streamed text), so each beat here reaches the
  // server: beat a third of the timeout apart (1 s to 60 s), so a late beat or two still keeps a slow step alive.
  const timeout = ctx.info.heartbeatTimeoutMs ?? 3_000;
  const every = Math.min(60_000, Math.max(1_000, timeout / 3));
  return {
    attempt: ctx.info.attempt,
    idempotencyKey,
    heartbeat: (next?: unknown) => {
      if (next !== undefined) details = next === null ? undefined : next;
      beat();
    },
    clearDetails: () => {
      details = undefined;
    },
    sleep: async (ms: number) => {
      // Heartbeat while waiting so a live agent is told apart from a hung one well before the step timeout.
      const deadline = Date.now() + ms;
      for (let left = ms; left > 0; left = deadline - Date.now()) {
        beat();
        await ctx.sleep(Math.min(left, every));
      }
    },
    keepAlive: async <T>(fn: () => Promise<T>): Promise<T> => {
      const timer = setInterval(beat, every);
      try {
        return await fn();
      } finally {
        clearInterval(timer);
      }
    },
    cancellationSignal: ctx.cancellationSignal,
    lastDetails: ctx.info.heartbeatDetails as unknown,
    heartbeatTimeoutMs: ctx.info.heartbeatTimeoutMs,
    startToCloseTimeoutMs: ctx.info.startToCloseTimeoutMs,
  };
}

/** Re-throws a step's failure with the attempt it happened on, so the task can report how many attempts it used. */
async function reportingAttempt<T>(attempt: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure && !err.details?.length) {
      throw ApplicationFailure.create({
        type: err.type ?? 'Error',
        message: err.message,
        nonRetryable: err.nonRetryable ?? false,
        nextRetryDelay: err.nextRetryDelay ?? undefined,
        details: [{ attempt }],
      });
    }
    throw err;
  }
}

/**
 * The lifecycle steps as activities. Each is retried by Temporal's policy, so each must be safe to repeat: reason and
 * validate have no side effects; execute hands the runtime an idempotency key stable across retries.
 */
/** The line an agent remembers of a task it completed. */
function memoryNote(ctx: StepContext, summary: string | undefined): MemoryEntry {
  return {
    at: new Date().toISOString(),
    planId: ctx.planId,
    taskId: ctx.taskId,
    ...(ctx.tenant !== undefined ? { tenant: ctx.tenant } : {}),
    note: `completed "${ctx.description ?? ctx.taskId}"${summary ? `: ${summary}` : ''}`,
  };
}

/** Marks a step context whose inputs `prepare` has read (kept by spreads, never serialized). */
const PREPARED = Symbol('prepared');

export function createActivities(deps: ActivityDeps): AgentActivities {
  /** Inputs with output references and claim checks replaced by the outputs themselves. */
  const resolve = (ctx: StepContext, values: Record<string, unknown>) =>
    resolveOutputs(values, scopedSources(deps, { planId: ctx.planId, tenant: tenantOrDefault(ctx.tenant) }));
  /** The step's view of the agent's memory only (what validation needs): its entries, read when a claim check. */
  const recall = async <T extends StepContext>(ctx: T): Promise<T> =>
    Array.isArray(ctx.memory) ? ctx : { ...ctx, memory: (await deps.claimCheck.resolve(ctx.memory)) as MemoryEntry[] };
  /**
   * The step's inputs as the agent sees them: its memory's entries, its dependencies' (and sub-agents') outputs and
   * its messages' bodies, read from task results and the blob store. Once only: what a reference resolved to is data,
   * never resolved again (a lifecycle step hands its prepared context to the steps it runs).
   */
  const prepare = async <T extends StepContext>(c: StepControl, ctx: T): Promise<T> => {
    if ((ctx as { [PREPARED]?: true })[PREPARED]) return ctx;
    const memory = (await recall(ctx)).memory;
    const withOutputs = ctx as T & { subtaskOutputs?: Record<string, unknown> };
    const [dependencies, subtaskOutputs, inbox] = await c.keepAlive(() =>
      Promise.all([
        resolve(ctx, ctx.dependencies),
        withOutputs.subtaskOutputs ? resolve(ctx, withOutputs.subtaskOutputs) : undefined,
        Promise.all(
          ctx.inbox.map(async (m) => (isBlobRef(m.body) ? { ...m, body: await deps.claimCheck.resolve(m.body) } : m)),
        ),
      ]),
    );
    return { ...ctx, memory, dependencies, ...(subtaskOutputs ? { subtaskOutputs } : {}), inbox, [PREPARED]: true };
  };
  /** The agent's memory with this task added, kept in the blob store (the pool carries only the claim check). */
  const memorize = async (ctx: StepContext, summary: string | undefined): Promise<Memory> => {
    const entries = remember(memoryEntries(ctx.memory), [memoryNote(ctx, summary)]);
    return { ...(await deps.claimCheck.keep(entries)), count: entries.length };
  };
  // Reading inputs and finding the runtime may wait on Temporal (the pool's registry, other tasks' results: slow for a
  // few seconds after a worker died): keep the step alive meanwhile, or it is retried and repeats its model call.
  const runtimeOf = (c: StepControl, agentType: string): Promise<AiRuntime> =>
    c.keepAlive(async () => deps.runtime(agentType));
  const activities: AgentActivities = {
    async reason(ctx) {
      const c = control();
      ctx = await prepare(c, ctx);
      const runtime = await runtimeOf(c, ctx.agentType);
      let usage: Usage | undefined;
      // A delegation that cannot be honoured (none where one is required, subtasks that do not check) goes back to the
      // model with the reasons, a few times, before the step fails with InvalidSubtasks.
      for (let round = 0; ; round++) {
        const result = await reportingAttempt(c.attempt, () => runtime.reason(ctx, c));
        if (result.usage) usage = addUsage(usage, result.usage);
        const used = usage ? { usage } : {};
        const last = round >= DELEGATION_REVISIONS;
        if (!result.subtasks || result.subtasks.length === 0) {
          if (!result.delegationRequired) return { thoughts: result.thoughts, attempt: c.attempt, ...used };
          const why = `your type must delegate: call ${DELEGATE_TOOL} with the subtasks; do not answer the task yourself`;
          if (last)
            throw ApplicationFailure.nonRetryable(
              `task "${ctx.taskId}": its reasoning did not delegate, and its type requires it (asked ${round + 1} time(s))`,
              Failure.InvalidSubtasks,
            );
          ctx = { ...ctx, delegationFeedback: [why] };
          continue;
        }
        // Dynamic decomposition: prefix ids with the parent's so they cannot clash with the plan's other tasks.
        const prefix = (id: unknown) => `${ctx.taskId}.${String(id)}`;
        const proposed = result.subtasks.map((s) => ({
          ...s,
          id: prefix(s.id),
          dependsOn: Array.isArray(s.dependsOn) ? s.dependsOn.map(prefix) : [],
        }));
        const checked = checkPlan(
          { tasks: proposed },
          await deps.registry(),
          { maxTasks: 1_000, allowSimulate: deps.allowSimulate },
          () => ctx.planId,
        );
        if (checked.ok) return { thoughts: result.thoughts, subtasks: checked.plan.tasks, attempt: c.attempt, ...used };
        const issues = checked.issues.map((i) => `${i.path}: ${i.message}`);
        // The offline runtime proposes the same subtasks every time: nothing to ask again.
        if (last || !result.usage)
          throw ApplicationFailure.nonRetryable(
            `task "${ctx.taskId}": the subtasks its reasoning returned are invalid: ${issues.join('; ')}`,
            Failure.InvalidSubtasks,
          );
        ctx = { ...ctx, delegationFeedback: issues };
      }
    },

    async execute(ctx) {
      const c = control();
      ctx = await prepare(c, ctx);
      const runtime = await runtimeOf(c, ctx.agentType);
      if (runtime.turn) {
        const turn = await reportingAttempt(c.attempt, () => (runtime.turn as NonNullable<AiRuntime['turn']>)(ctx, c));
        if ('inputRequired' in turn)
          return { output: undefined, attempt: c.attempt, inputRequired: turn.inputRequired };
        if ('toolCalls' in turn) {
          return {
            output: undefined,
            attempt: c.attempt,
            toolCalls: turn.toolCalls,
            conversation: turn.conversation,
            usage: turn.usage,
            ...(turn.inboxSeen !== undefined ? { inboxSeen: turn.inboxSeen } : {}),
          };
        }
        return {
          output: await deps.claimCheck.offloadOutput(turn.output),
          attempt: c.attempt,
          ...(turn.usage ? { usage: turn.usage } : {}),
          ...(turn.summary ? { summary: turn.summary } : {}),
        };
      }
      if (!runtime.act) {
        throw ApplicationFailure.nonRetryable(`the runtime of "${ctx.agentType}" cannot act`, Failure.BadInput);
      }
      const act = runtime.act.bind(runtime);
      const output = await reportingAttempt(c.attempt, () =>
        act(ctx, c, { tools: deps.tools, messenger: deps.messenger }),
      );
      return { output: await deps.claimCheck.offloadOutput(output), attempt: c.attempt };
    },

    async callTool({ planId, taskId, agentId, agentType, call }) {
      const c = control();
      const base = { toolCallId: call.toolCallId, toolName: call.toolName };
      try {
        // Tools may run longer than the heartbeat timeout.
        const output = await c.keepAlive(() =>
          deps.tools.call(call.toolName, call.input, {
            idempotencyKey: c.idempotencyKey,
            agentId,
            agentType,
            planId,
            taskId,
            signal: c.cancellationSignal,
            ...(c.startToCloseTimeoutMs ? { timeoutMs: c.startToCloseTimeoutMs } : {}),
          }),
        );
        return { ...base, output: await deps.claimCheck.offload(output), isError: false };
      } catch (err) {
        // The tool said no (bad arguments, unknown tool, its own error): the model is told and decides what next.
        // A server this worker refuses to run or reach is the operator's business, not the model's: the step fails.
        if (err instanceof ApplicationFailure && err.nonRetryable && err.type !== Failure.AgentTypeRefused)
          return { ...base, output: err.message, isError: true };
        throw err;
      }
    },

    async validate(ctx) {
      const c = control();
      ctx = await recall(ctx);
      const verdict = await (await runtimeOf(c, ctx.agentType)).validate(ctx, c);
      if (!verdict.ok) {
        throw ApplicationFailure.nonRetryable(
          `task "${ctx.taskId}": output rejected by validation: ${verdict.reason}`,
          Failure.ValidationRejected,
        );
      }
      if (!ctx.contract) return { output: true, attempt: c.attempt, memory: await memorize(ctx, ctx.summary) };
      // The contract reads the output as JSON: a model's answer is text (a claim check when large).
      const output = await c.keepAlive(() => deps.claimCheck.resolve(ctx.output));
      const read = typeof output === 'string' ? parseJsonAnswer(output) : { value: output };
      const reasons = read
        ? contractViolations(ctx.contract.schema, read.value)
        : ['the answer is not JSON: answer with one JSON value that meets the schema, and nothing else'];
      deps.onVerdict?.(ctx.agentType, 'schema', reasons.length === 0);
      if (reasons.length > 0 || !read) return { output: true, attempt: c.attempt, accepted: false, reasons };
      return {
        output: true,
        attempt: c.attempt,
        accepted: true,
        parsed: await deps.claimCheck.offloadOutput(read.value),
        memory: await memorize(ctx, ctx.summary),
      };
    },

    async review(ctx) {
      const c = control();
      ctx = await prepare(c, ctx);
      const output = await c.keepAlive(() => deps.claimCheck.resolve(ctx.output));
      const runtime = await runtimeOf(c, ctx.agentType);
      const verdict = await reportingAttempt(c.attempt, () => runtime.review({ ...ctx, output }, c));
      deps.onVerdict?.(ctx.agentType, 'reviewer', verdict.accepted);
      // The reviewer remembers what it judged, like any agent its tasks.
      const note = `${verdict.accepted ? 'accepted' : 'rejected'} round ${ctx.round}${verdict.reasons[0] ? `: ${verdict.reasons[0]}` : ''}`;
      const memory = await memorize({ ...ctx, description: `review of "${ctx.description ?? ctx.taskId}"` }, note);
      return { ...verdict, attempt: c.attempt, memory };
    },

    async lifecycle(ctx) {
      // Inputs resolved once for the three steps (each would otherwise read referenced outputs again).
      const c = control();
      ctx = await prepare(c, ctx);
      const phases: LifecycleResult['phases'] = [{ state: 'reasoning', at: new Date().toISOString() }];
      const reasoning = await activities.reason(ctx);
      const attempt = reasoning.attempt;
      if (reasoning.subtasks && reasoning.subtasks.length > 0) return { reasoning, phases, attempt };
      phases.push({ state: 'executing', at: new Date().toISOString() });
      const executed = await activities.execute({ ...ctx, reasoning: reasoning.thoughts });
      if (ctx.keepOutputUnder !== undefined)
        executed.output = await deps.claimCheck.offload(executed.output, ctx.keepOutputUnder);
      if (executed.toolCalls) return { reasoning, executed, phases, attempt };
      phases.push({ state: 'validating', at: new Date().toISOString() });
      const { memory } = await activities.validate({ ...ctx, output: executed.output, summary: executed.summary });
      return { reasoning, executed, validated: true, memory, phases, attempt };
    },
  };
  return activities;
}
