import { RetryState } from '@temporalio/common';
import {
  condition,
  getExternalWorkflowHandle,
  ActivityCancellationType,
  ApplicationFailure,
  ActivityFailure,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { PoolActivities } from '../activities/pool';
import type { AgentActivities, ExecuteResult, StepContext, ToolCallRequest } from '../activities/types';
import { addUsage, type Usage } from '../shared/usage';
import type { Grant, MemoryEntry, PoolMessage, Release } from '../shared/pool';
import type { TaskSpec } from '../shared/plan';
import { AgentIdKey, AgentTypeKey, LifecycleStateKey } from '../shared/search-attributes';
import {
  taskResultRef,
  type AgentMessage,
  type Assignment,
  type HumanInput,
  type TaskError,
  type TaskOutcome,
  type TaskState,
  type TaskView,
  type TaskWorkflowInput,
} from '../shared/status';
import { planWorkflowId } from '../shared/ids';
import { childStarter, stopForBudget } from './children';
import { CancellationScope } from '@temporalio/workflow';
import {
  BUDGET_STOP,
  DagExecutor,
  describeFailure,
  INPUT_TIMEOUT_SKIP,
  TASK_FAILED,
  type TaskFailureDetails,
} from './dag';
import {
  agentGrantedSignal,
  budgetExhaustedSignal,
  deliverMessageSignal,
  taskAssignedSignal,
  taskInputUpdate,
  poolSignalOf,
  taskStatusQuery,
  usageAckSignal,
  usageReportSignal,
} from './messages';

// Pool messages retry until the pool hears them: a lost acquire or release would strand a task or leak an instance.
const pool = proxyActivities<PoolActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
  summary: 'agent pool',
});

/** Error types that no retry or other agent can fix: the task fails at once. */
export const NON_RETRYABLE_TYPES = [
  'BadInput',
  'ValidationRejected',
  'InvalidSubtasks',
  'SimulatedFatal',
  'ModelAuthFailed',
  'ModelBadRequest',
];

/** Failures of the plan's budget or of outside services, not of the agent instance. */
const NOT_THE_AGENTS_FAULT = [
  BUDGET_STOP,
  'ModelRateLimited',
  'ModelServerError',
  'ModelUnavailable',
  'ModelAuthFailed',
  'ModelBadRequest',
  'ToolServerUnavailable',
];

/** A model agent's loop may not run longer than this many turns, whatever its runtime says. */
const MAX_TURNS = 100;

function activityOptions(input: TaskWorkflowInput, step: string, agentId: string): ActivityOptions {
  const { task, settings } = input;
  const timeoutSeconds = task.timeoutSeconds ?? settings.agentTimeoutSeconds;
  return {
    startToCloseTimeout: `${timeoutSeconds}s`,
    heartbeatTimeout: `${Math.min(settings.heartbeatTimeoutSeconds, timeoutSeconds)}s`,
    retry: {
      maximumAttempts: (task.maxRetries ?? settings.maxRetries) + 1,
      initialInterval: settings.retryInitialIntervalMs,
      maximumInterval: Math.max(settings.retryMaxIntervalMs, settings.retryInitialIntervalMs),
      backoffCoefficient: 2,
      nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
    },
    // Wait for a cancelled step to acknowledge, so "cancelled" means the agent really stopped.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    summary: `${step} · ${task.id} · ${agentId}`,
  };
}

/** How many attempts a failed step used: all of them when retries ran out, else what the activity reported. */
function attemptsOf(err: unknown, maxAttempts: number): number {
  if (!(err instanceof ActivityFailure)) return 0;
  if (err.retryState === RetryState.MAXIMUM_ATTEMPTS_REACHED) return maxAttempts;
  const details = err.cause instanceof ApplicationFailure ? (err.cause.details ?? []) : [];
  const reported = details.find(
    (d): d is { attempt: number } => typeof (d as { attempt?: unknown })?.attempt === 'number',
  );
  return reported?.attempt ?? 1;
}

function isFatal(err: unknown): boolean {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && (cause.nonRetryable || NON_RETRYABLE_TYPES.includes(cause.type ?? ''));
}

/**
 * One agent working one task: assigned → reasoning → (sub-agents) → executing → validating → completed.
 * Lifecycle steps are activities with Temporal retries; when an agent exhausts them the task is reassigned to another
 * instance (or the fallback type) up to `maxReassignments`. Tasks with subtasks spawn one child workflow per subtask.
 * Deterministic; safe to replay.
 */
export async function agentTaskWorkflow(input: TaskWorkflowInput): Promise<TaskOutcome> {
  const { planId, task, settings } = input;
  let state: TaskState = 'assigned';
  let agentId: string | undefined;
  let agentType = task.agentType;
  let attempts = 0;
  let error: TaskError | undefined;
  let finishedAt: string | undefined;
  const startedAt = new Date().toISOString();
  const assignments: Assignment[] = [];
  let sub: DagExecutor | undefined;
  let usage: Usage | undefined;
  let assignmentUsage: Usage | undefined;

  const view = (): TaskView => ({
    id: task.id,
    state,
    agentId,
    agentType,
    attempts,
    assignments,
    error,
    startedAt,
    finishedAt,
    subtasks: sub?.views() ?? [],
    ...(usage ? { usage } : {}),
    transitions,
  });
  setHandler(taskStatusQuery, view);

  // ---- Budget: the plan counts every model call's tokens and cost; when its budget is spent it tells its running
  // tasks, which stop before their next model call and tell their own sub-agents. ----
  let budgetStop = false;
  setHandler(budgetExhaustedSignal, () => {
    budgetStop = true;
    if (sub) stopForBudget(sub, planId);
  });
  const checkBudget = (): void => {
    if (budgetStop) {
      throw ApplicationFailure.create({
        type: BUDGET_STOP,
        message: `task "${task.id}" stopped: the plan's budget is exhausted`,
        nonRetryable: true,
      });
    }
  };
  let reports = 0;
  let acked = 0;
  setHandler(usageAckSignal, ({ seq, exhausted }) => {
    acked = Math.max(acked, seq);
    if (exhausted) budgetStop = true;
  });
  const account = async (u: Usage | undefined): Promise<void> => {
    if (!u) return;
    usage = addUsage(usage, u);
    assignmentUsage = addUsage(assignmentUsage, u);
    const seq = ++reports;
    try {
      await getExternalWorkflowHandle(planWorkflowId(planId)).signal(usageReportSignal, {
        taskId: task.id,
        agentType,
        usage: u,
        ...(input.budgeted ? { replyTo: workflowInfo().workflowId, seq } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return; // the plan is closing; nothing left to budget
    }
    // Under a budget, wait for the plan's word before the next model call, so a spent budget stops it (bounded, should
    // the plan be gone). Without one there is nothing to wait for.
    if (input.budgeted) await condition(() => acked >= seq, '60s');
  };

  // The agent's inbox: messages from the plan's bus, handed to its next step.
  const inbox: AgentMessage[] = [...(input.inbox ?? [])];
  setHandler(deliverMessageSignal, (message) => {
    if (!inbox.some((m) => m.id === message.id)) inbox.push(message);
  });

  // Human in the loop: a decision arrives as an update, accepted only while the task is waiting.
  let decision: HumanInput | undefined;
  setHandler(
    taskInputUpdate,
    async (input) => {
      decision = input;
      await condition(() => state !== 'waiting');
      return state;
    },
    {
      validator: (input) => {
        if (state !== 'waiting') throw new Error(`task "${task.id}" is not waiting for input (it is ${state})`);
        if (typeof input?.approved !== 'boolean') throw new Error('"approved" must be true or false');
      },
    },
  );
  let asked = false;
  let humanInput: unknown;
  const awaitHuman = async (): Promise<void> => {
    asked = true;
    transition('waiting');
    const answered = await condition(() => decision !== undefined, `${task.inputTimeoutSeconds}s`);
    if (!answered) {
      const what = task.requiresApproval ? 'approval' : 'input';
      if (task.onInputTimeout === 'default') decision = { approved: true, data: task.defaultInput };
      else
        throw ApplicationFailure.create({
          type: task.onInputTimeout === 'skip' ? INPUT_TIMEOUT_SKIP : 'InputTimeout',
          message: `no ${what} for task "${task.id}" within ${task.inputTimeoutSeconds}s`,
          nonRetryable: true,
        });
    }
    if (!decision?.approved) {
      throw ApplicationFailure.create({
        type: 'Rejected',
        message: `task "${task.id}" was rejected by a human`,
        nonRetryable: true,
      });
    }
    humanInput = decision.data;
  };

  const transitions: NonNullable<TaskView['transitions']> = [];
  const transition = (next: TaskState): void => {
    state = next;
    transitions.push({ state: next, at: new Date().toISOString(), ...(agentId ? { agentId } : {}) });
    if (transitions.length > 50) transitions.shift();
    upsertSearchAttributes([
      { key: LifecycleStateKey, value: next },
      { key: AgentTypeKey, value: agentType },
      ...(agentId ? [{ key: AgentIdKey, value: agentId }] : []),
    ]);
    setCurrentDetails(`**${next}** · ${task.id}${agentId ? ` · ${agentId}` : ''}`);
  };

  let subtaskOutputs: Record<string, unknown> | undefined;
  let subtaskErrors: Record<string, unknown> | undefined;
  const runSubtasks = async (subtasks: TaskSpec[]): Promise<void> => {
    if (input.depth + 1 > settings.maxDepth) {
      throw ApplicationFailure.create({
        type: 'InvalidSubtasks',
        message: `task "${task.id}" would nest sub-agents deeper than the maximum depth ${settings.maxDepth}`,
        nonRetryable: true,
      });
    }
    checkBudget();
    if (subtasks.length > settings.maxFanOut) {
      throw ApplicationFailure.create({
        type: 'InvalidSubtasks',
        message: `task "${task.id}" asks for ${subtasks.length} subtasks; the maximum fan-out is ${settings.maxFanOut}`,
        nonRetryable: true,
      });
    }
    const ordered =
      task.subtaskMode === 'sequential'
        ? subtasks.map((t, i) => {
            const prev = subtasks[i - 1];
            return prev && !t.dependsOn.includes(prev.id) ? { ...t, dependsOn: [...t.dependsOn, prev.id] } : t;
          })
        : subtasks;
    sub = new DagExecutor(
      ordered,
      { failurePolicy: input.failurePolicy, maxConcurrency: input.maxConcurrency },
      childStarter({ ...input, depth: input.depth + 1 }),
      { outputRef: (id) => taskResultRef(planId, id) },
    );
    await sub.run();
    // Out of budget, the subtasks that did not run are skipped, not failed: stop as a budget stop, not fail-fast.
    checkBudget();
    if (input.failurePolicy === 'fail-fast' && sub.hasRequiredFailure()) {
      const failed = Object.entries(sub.errors())[0];
      throw ApplicationFailure.create({
        type: 'SubtaskFailed',
        message: `subtask "${failed?.[0]}" ${failed?.[1].state ?? 'failed'}: ${failed?.[1].message ?? ''}`,
        nonRetryable: true,
      });
    }
    subtaskOutputs = sub.outputsToHandOn();
    subtaskErrors = sub.errors();
  };

  // ---- Agent instances come from the pool: acquire before work, release after, whatever happens. ----
  const grants = new Map<string, Grant>();
  setHandler(agentGrantedSignal, (grant) => {
    grants.set(grant.requestId, grant);
  });
  let held: { requestId: string; agentId: string } | undefined;
  let requests = 0;
  let memory: MemoryEntry[] = [];
  const failedAgents: string[] = [];
  // Signal the pool directly (one command, no activity); only if it is not running yet, start it with the
  // signal-with-start activity. The pool de-duplicates by request id, so a repeat is harmless.
  const toPool = async (message: PoolMessage): Promise<void> => {
    const handle = getExternalWorkflowHandle(settings.poolId);
    try {
      const [signal, arg] = poolSignalOf(message);
      await handle.signal(signal, arg);
    } catch (err) {
      if (isCancellation(err)) throw err;
      await pool.signalPool(settings.poolId, message);
    }
  };
  const acquire = async (types: string[], prefer?: string): Promise<void> => {
    const info = workflowInfo();
    const requestId = `${info.workflowId}/${info.runId}/${requests++}`;
    transition('pending');
    setCurrentDetails(`**waiting for an agent** · ${types.join(' | ')}`);
    try {
      await toPool({
        kind: 'acquire',
        request: {
          requestId,
          holder: info.workflowId,
          planId,
          taskId: task.id,
          priority: task.priority,
          types,
          exclude: failedAgents,
          prefer,
        },
      });
      await condition(() => grants.has(requestId));
    } catch (err) {
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => toPool({ kind: 'cancel', requestId }));
      throw err;
    }
    const grant = grants.get(requestId) as Grant;
    grants.delete(requestId);
    if (grant.error || !grant.agentId) {
      throw ApplicationFailure.create({
        type: 'NoAgentType',
        message: grant.error ?? 'no agent granted',
        nonRetryable: true,
      });
    }
    held = { requestId, agentId: grant.agentId };
    agentId = grant.agentId;
    agentType = grant.agentType ?? types[0] ?? task.agentType;
    memory = grant.memory ?? [];
  };
  const release = async (outcome: Release['outcome'], note?: MemoryEntry): Promise<void> => {
    if (!held) return;
    const { requestId, agentId: id } = held;
    held = undefined;
    const spent = assignmentUsage;
    assignmentUsage = undefined;
    await CancellationScope.nonCancellable(() =>
      toPool({
        kind: 'release',
        release: { requestId, agentId: id, outcome, ...(note ? { note } : {}), ...(spent ? { usage: spent } : {}) },
      }),
    );
  };

  const maxAssignments = task.maxReassignments + 1;
  try {
    for (let n = 0; ; n++) {
      const types =
        n > 0 && task.fallbackAgentType
          ? [task.fallbackAgentType]
          : task.eligibleTypes.length > 0
            ? task.eligibleTypes
            : [task.agentType];
      checkBudget();
      await acquire(types);
      let assignment: Assignment = { agentId: agentId as string, agentType, outcome: 'running' };
      assignments.push(assignment);
      transition('assigned');
      const notifyPlan = () => {
        // Lets the plan route messages addressed to this agent id. Best effort: the plan may already be closing.
        if (input.depth === 0 && agentId) {
          getExternalWorkflowHandle(planWorkflowId(planId))
            .signal(taskAssignedSignal, { taskId: task.id, agentId })
            .catch(() => undefined);
        }
      };
      notifyPlan();
      const ctx = (): StepContext => ({
        planId,
        taskId: task.id,
        workflowId: workflowInfo().workflowId,
        agentId: agentId as string,
        agentType,
        description: task.description,
        input: task.input,
        dependencies: input.dependencies,
        assignment: n,
        depth: input.depth,
        inbox: [...inbox],
        memory,
      });
      const step = <K extends keyof AgentActivities>(name: K, label: string = name): AgentActivities[K] =>
        proxyActivities<AgentActivities>(activityOptions(input, label, agentId as string))[name];
      const callTool = (call: ToolCallRequest) =>
        step(
          'callTool',
          `tool ${call.toolName}`,
        )({
          planId,
          taskId: task.id,
          agentId: agentId as string,
          agentType,
          call,
        });
      try {
        checkBudget();
        transition('reasoning');
        const reasoning = await step('reason')(ctx());
        attempts = Math.max(attempts, reasoning.attempt);
        await account(reasoning.usage);
        const subtasks = task.subtasks.length > 0 ? task.subtasks : (reasoning.subtasks ?? []);
        if (subtasks.length > 0 && subtaskOutputs === undefined) {
          // A coordinator gives its instance back while its sub-agents work, so a deep tree cannot hold the whole
          // pool hostage; it asks again (preferring the same instance) to synthesize.
          const coordinator = agentId as string;
          await release('yielded');
          await runSubtasks(subtasks);
          await acquire(types, coordinator);
          if (agentId !== coordinator) {
            assignment.outcome = 'completed';
            assignment = { agentId: agentId as string, agentType, outcome: 'running' };
            assignments.push(assignment);
            notifyPlan();
          }
          transition('assigned');
        }
        if ((task.requiresApproval || task.awaitInput) && !asked) await awaitHuman();
        checkBudget();
        transition('executing');
        const executeCtx = () => ({
          ...ctx(),
          humanInput,
          reasoning: reasoning.thoughts,
          subtaskOutputs,
          subtaskErrors,
        });
        // The agent loop: each model turn is one execute activity and each tool call one callTool activity, so after
        // a crash the loop resumes from the last finished call instead of paying for it again.
        let executed: ExecuteResult = await step('execute')(executeCtx());
        for (let turn = 1; executed.toolCalls !== undefined; turn++) {
          attempts = Math.max(attempts, executed.attempt);
          await account(executed.usage);
          if (turn >= MAX_TURNS) {
            throw ApplicationFailure.create({
              type: 'BadInput',
              message: `task "${task.id}": the agent loop ran ${MAX_TURNS} turns without an answer`,
              nonRetryable: true,
            });
          }
          const results = await Promise.all(executed.toolCalls.map(callTool));
          checkBudget();
          executed = await step(
            'execute',
            `execute #${turn + 1}`,
          )({
            ...executeCtx(),
            loop: { conversation: executed.conversation ?? [], results, step: turn, inboxSeen: executed.inboxSeen },
          });
        }
        attempts = Math.max(attempts, executed.attempt);
        await account(executed.usage);
        transition('validating');
        const validated = await step('validate')({ ...ctx(), output: executed.output });
        attempts = Math.max(attempts, validated.attempt);
        assignment.outcome = 'completed';
        finishedAt = new Date().toISOString();
        transition('completed');
        await release('completed', {
          at: finishedAt,
          planId,
          taskId: task.id,
          note: `completed "${task.description ?? task.id}"${executed.summary ? `: ${executed.summary}` : ''}`,
        });
        return {
          taskId: task.id,
          agentId: agentId as string,
          agentType,
          attempts,
          output: executed.output,
          assignments,
          subtasks: sub?.views() ?? [],
          ...(usage ? { usage } : {}),
        };
      } catch (err) {
        if (isCancellation(err)) {
          await release('cancelled');
          throw err;
        }
        const described = describeFailure(err);
        // Running out of budget, or a provider or tool server failing, is not the agent's fault: it does not count
        // against the instance (no quarantine for a provider outage).
        const notItsFault = NOT_THE_AGENTS_FAULT.includes(described.error.type);
        await release(notItsFault ? 'cancelled' : 'failed');
        if (agentId && !notItsFault) failedAgents.push(agentId);
        assignment.outcome = 'failed';
        assignment.error = described.error.message;
        attempts = Math.max(attempts, attemptsOf(err, (task.maxRetries ?? settings.maxRetries) + 1));
        if (isFatal(err) || n + 1 >= maxAssignments) {
          error = described.error;
          throw err;
        }
      }
    }
  } catch (err) {
    finishedAt = new Date().toISOString();
    if (isCancellation(err)) {
      for (const a of assignments) if (a.outcome === 'running') a.outcome = 'cancelled';
      transition('cancelled');
      throw err;
    }
    transition(error?.type === BUDGET_STOP ? 'skipped' : 'failed');
    const details: TaskFailureDetails = { agentId, attempts, assignments, error, subtasks: sub?.views() ?? [] };
    const message = `task "${task.id}" failed after ${assignments.length} assignment(s): ${error?.message ?? describeFailure(err).error.message}`;
    throw ApplicationFailure.create({
      type: TASK_FAILED,
      message,
      nonRetryable: true,
      details: [details],
      cause: err instanceof Error ? err : undefined,
    });
  }
}
