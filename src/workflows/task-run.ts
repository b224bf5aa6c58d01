import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { AgentActivities, ExecuteResult, StepContext, ToolCallRequest } from '../activities/types';
import { planWorkflowId } from '../shared/ids';
import type { TaskSpec } from '../shared/task';
import type { Grant, LeaseWork, Release } from '../shared/pool';
import type { Memory } from '../shared/agent';
import { AgentIdKey, AgentTypeKey, LifecycleStateKey } from '../shared/search-attributes';
import { taskResultRef } from '../shared/claim-check';
import {
  type Assignment,
  type HumanInput,
  type InputRequest,
  type TaskError,
  type TaskOutcome,
  type TaskState,
  type TaskView,
  type TaskWorkflowInput,
} from '../shared/task';
import { type AgentMail } from '../shared/agent-mail';
import { addUsage, type Usage } from '../shared/usage';
import { AgentLease } from './agent-lease';
import { childStarter, stopForBudget } from './children';
import { DagExecutor, inTree } from './dag';
import { inSequence } from './dag-schedule';
import { MessageRouter } from './mail-router';
import { attemptsOf, describeFailure, isFatal, type TaskFailureDetails } from './failures';
import { taskAssignedSignal, usageReportSignal } from './messages';
import { PoolOutbox } from './pool-outbox';
import { localStepOptions, maxAttempts, stepOptions, stepsAreShort } from './task-options';
import { Failure, NOT_THE_AGENTS_FAULT } from '../shared/errors';

/** A model agent's loop may not run longer than this many turns, whatever its runtime says. */
const MAX_TURNS = 100;
const MAX_TRANSITIONS = 50;
/** Lifecycle states worth a search-attribute upsert: finding tasks by them matters; the steps between live in queries. */
const INDEXED_STATES: readonly TaskState[] = ['assigned', 'waiting', 'completed', 'failed', 'skipped', 'cancelled'];

/** The instance the task holds: from its plan's lease (`lease`) or granted by the pool to the task itself. */
interface Held {
  requestId: string;
  agentId: string;
  /** Set for the leased instance the task started on: what the lease did with it before (reported on release). */
  lease?: LeaseWork;
}

/**
 * One agent working one task, as an object the task workflow drives: the lifecycle, the instance it holds, its budget,
 * inbox, human input and sub-agents (with their own lease). Workflow code: deterministic, safe to replay.
 */
export class TaskRun {
  private state: TaskState = 'assigned';
  private agentId: string | undefined;
  private agentType: string;
  private attempts = 0;
  private error: TaskError | undefined;
  private finishedAt: string | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly assignments: Assignment[] = [];
  private readonly transitions: NonNullable<TaskView['transitions']> = [];
  private usage: Usage | undefined;
  private assignmentUsage: Usage | undefined;

  // Budget: the plan counts every model call's tokens and cost; when its budget is spent it tells its running tasks,
  // which stop before their next model call and tell their own sub-agents.
  private budgetStop = false;
  private reports = 0;
  private acked = 0;

  /** Messages from the plan's bus, handed to the agent's next step. */
  private readonly inbox: AgentMail[];

  private decision: HumanInput | undefined;
  private asked = false;
  private humanInput: unknown;

  private sub: DagExecutor | undefined;
  private subLease: AgentLease | undefined;
  /** The bus of this coordinator's sub-agents: messages for them wait here until they start. */
  private subRouter: MessageRouter | undefined;
  private readonly heldForSubAgents: AgentMail[] = [];
  private subtaskOutputs: Record<string, unknown> | undefined;
  private subtaskErrors: Record<string, unknown> | undefined;

  private readonly grants = new Map<string, Grant>();
  private readonly ownRequests = new Set<string>();
  private held: Held | undefined;
  private requests = 0;
  private memory: Memory = [];
  private readonly failedAgents: string[] = [];
  private readonly outbox: PoolOutbox;
  /** The task completed on its leased instance and keeps it for the lease (no release to the pool). */
  private kept: TaskOutcome['kept'];
  private offline = false;

  constructor(private readonly input: TaskWorkflowInput) {
    this.agentType = input.task.agentType;
    this.inbox = [];
    for (const m of input.inbox ?? []) this.onMessage(m);
    this.outbox = new PoolOutbox(input.settings.poolId);
  }

  private get task(): TaskSpec {
    return this.input.task;
  }

  view(): TaskView {
    return {
      id: this.task.id,
      state: this.state,
      agentId: this.agentId,
      agentType: this.agentType,
      attempts: this.attempts,
      assignments: this.assignments,
      error: this.error,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      subtasks: this.sub?.views() ?? [],
      ...(this.usage ? { usage: this.usage } : {}),
      transitions: this.transitions,
      ...(this.state === 'waiting' ? { input: this.inputRequest() } : {}),
    };
  }

  private inputRequest(): InputRequest {
    const { task } = this;
    return {
      kind: task.requiresApproval ? 'approval' : 'input',
      ...(task.description ? { description: task.description } : {}),
      since: [...this.transitions].reverse().find((t) => t.state === 'waiting')?.at,
      timeoutSeconds: task.inputTimeoutSeconds,
      onTimeout: task.onInputTimeout,
    };
  }

  leaseView() {
    return this.subLease?.view() ?? [];
  }

  // ---- Signals and updates ----

  onBudgetExhausted(): void {
    this.budgetStop = true;
    if (this.sub) stopForBudget(this.sub, this.input.planId);
  }

  onUsageAck(seq: number, exhausted: boolean): void {
    this.acked = Math.max(this.acked, seq);
    if (exhausted) this.budgetStop = true;
  }

  /** A message for this agent goes to its inbox; one for a sub-agent (at any depth) to the sub-agents' bus. */
  onMessage(message: AgentMail): void {
    if (this.forSubAgent(message.to)) {
      if (this.subRouter && this.sub) this.subRouter.route(message);
      else this.heldForSubAgents.push(message); // the sub-agents are not there yet
      return;
    }
    if (!this.inbox.some((m) => m.id === message.id)) this.inbox.push(message);
  }

  private forSubAgent(to: string): boolean {
    const { task } = this;
    if (to === task.id || to === '*' || to === this.agentId) return false;
    if (this.sub) return this.sub.has(to) || this.sub.subtreeOf(to) !== undefined;
    return to.startsWith(`${task.id}.`) || inTree(task.subtasks, to);
  }

  /** Grants for the task's own requests, or for its sub-agents' lease. */
  onGrants(grants: Grant[]): void {
    const forLease: Grant[] = [];
    for (const g of grants) {
      if (this.ownRequests.has(g.requestId)) this.grants.set(g.requestId, g);
      else forLease.push(g);
    }
    if (forLease.length === 0) return;
    if (this.subLease) {
      this.subLease.receive(forLease);
      this.sub?.poke();
      return;
    }
    // A grant for a request this task no longer has (a late one): straight back.
    for (const g of forLease) {
      if (g.agentId)
        this.outbox.send({
          kind: 'release',
          release: { requestId: g.requestId, agentId: g.agentId, outcome: 'cancelled' },
        });
    }
  }

  validateInput(input: HumanInput): void {
    if (this.state !== 'waiting')
      throw new Error(`task "${this.task.id}" is not waiting for input (it is ${this.state})`);
    if (typeof input?.approved !== 'boolean') throw new Error('"approved" must be true or false');
  }

  async answer(input: HumanInput): Promise<TaskState> {
    this.decision = input;
    // Answered, the task asks for its agent again: its new state is what it does once it has one (or how it ended).
    await condition(() => this.state !== 'waiting' && this.state !== 'pending');
    return this.state;
  }

  // ---- The lifecycle ----

  async run(): Promise<TaskOutcome> {
    try {
      return await this.lifecycle();
    } finally {
      // Instances handed back by the sub-agents' lease after it closed must reach the pool before this workflow ends.
      await CancellationScope.nonCancellable(() => this.outbox.flush());
    }
  }

  private async lifecycle(): Promise<TaskOutcome> {
    const { task } = this;
    const maxAssignments = task.maxReassignments + 1;
    try {
      for (let n = 0; ; n++) {
        const types =
          n > 0 && task.fallbackAgentType
            ? [task.fallbackAgentType]
            : task.eligibleTypes.length > 0
              ? task.eligibleTypes
              : [task.agentType];
        // The leased instance is taken before anything can throw, so a failure below gives it back.
        if (n === 0 && this.input.agent) this.takeLeased();
        else {
          this.checkBudget();
          await this.acquire(types);
        }
        let assignment: Assignment = { agentId: this.agentId as string, agentType: this.agentType, outcome: 'running' };
        this.assignments.push(assignment);
        this.transition('assigned', n === 0 && this.input.agent !== undefined);
        if (n > 0) this.notifyPlan();
        const reassigned = () => {
          assignment.outcome = 'completed';
          assignment = { agentId: this.agentId as string, agentType: this.agentType, outcome: 'running' };
          this.assignments.push(assignment);
          this.notifyPlan();
        };
        try {
          this.checkBudget();
          this.transition('reasoning');
          const fused = this.fusable() ? await this.fusedSteps(n) : undefined;
          const reasoning = fused?.reasoning ?? (await this.step('reason')(this.ctx(n)));
          this.attempts = Math.max(this.attempts, reasoning.attempt);
          await this.account(reasoning.usage);
          const subtasks = task.subtasks.length > 0 ? task.subtasks : (reasoning.subtasks ?? []);
          // A coordinator gives its instance back while its sub-agents work (a deep tree cannot hold the whole pool
          // hostage), and so does a task while a human, who may take days, decides.
          if (subtasks.length > 0 && this.subtaskOutputs === undefined)
            await this.withoutAgent(types, reassigned, () => this.runSubtasks(subtasks));
          if ((task.requiresApproval || task.awaitInput) && !this.asked)
            await this.withoutAgent(types, reassigned, () => this.awaitHuman());
          let executed: ExecuteResult;
          // The last step writes the agent's memory of this task (a claim check), so the pool never holds its text.
          let memory: Memory | undefined;
          if (fused?.validated && fused.executed) {
            executed = fused.executed;
            memory = fused.memory;
            await this.account(executed.usage);
          } else {
            this.checkBudget();
            this.transition('executing');
            executed = await this.agentLoop(n, reasoning.thoughts, fused?.executed);
            this.transition('validating');
            const validated = await this.step('validate')({
              ...this.ctx(n),
              output: executed.output,
              ...(executed.summary ? { summary: executed.summary } : {}),
            });
            this.attempts = Math.max(this.attempts, validated.attempt);
            memory = validated.memory;
          }
          assignment.outcome = 'completed';
          this.finishedAt = new Date().toISOString();
          this.transition('completed');
          await this.finishWithAgent(memory);
          return {
            taskId: task.id,
            agentId: this.agentId as string,
            agentType: this.agentType,
            attempts: this.attempts,
            output: executed.output,
            assignments: this.assignments,
            subtasks: this.sub?.views() ?? [],
            ...(this.usage ? { usage: this.usage } : {}),
            ...(this.kept ? { kept: this.kept } : {}),
          };
        } catch (err) {
          if (isCancellation(err)) {
            await this.release('cancelled');
            throw err;
          }
          const described = describeFailure(err);
          // Running out of budget, or a provider or tool server failing, is not the agent's fault: it does not count
          // against the instance (no quarantine for a provider outage).
          const notItsFault = NOT_THE_AGENTS_FAULT.includes(described.error.type);
          await this.release(notItsFault ? 'cancelled' : 'failed');
          if (this.agentId && !notItsFault) this.failedAgents.push(this.agentId);
          assignment.outcome = 'failed';
          assignment.error = described.error.message;
          this.attempts = Math.max(this.attempts, attemptsOf(err, maxAttempts(this.input)));
          if (isFatal(err) || n + 1 >= maxAssignments) {
            this.error = described.error;
            throw err;
          }
        }
      }
    } catch (err) {
      throw this.failure(err);
    }
  }

  /** Gives the instance back during `wait`, then asks again, preferring the same one so its memory carries on. */
  private async withoutAgent(types: string[], reassigned: () => void, wait: () => Promise<void>): Promise<void> {
    const before = this.agentId as string;
    await this.release('yielded');
    await wait();
    await this.acquire(types, before);
    if (this.agentId !== before) reassigned();
    this.transition('assigned');
  }

  /**
   * Short steps of a plain task (no sub-agents or human input declared) run fused: one activity for reason → execute →
   * validate. The states still show, each with the time it began, once the activity returns.
   */
  private fusable(): boolean {
    const { task } = this;
    return (
      stepsAreShort(this.input, this.offline) &&
      task.subtasks.length === 0 &&
      !task.requiresApproval &&
      !task.awaitInput &&
      this.subtaskOutputs === undefined
    );
  }

  private async fusedSteps(n: number) {
    const fused = await this.step('lifecycle', 'reason → execute → validate')(this.ctx(n));
    this.attempts = Math.max(this.attempts, fused.attempt);
    for (const phase of fused.phases.slice(1)) this.transition(phase.state, false, phase.at);
    return fused;
  }

  /** The model turns (one execute activity each) and tool calls (one activity each) until the agent answers. */
  private async agentLoop(n: number, reasoning: string, first?: ExecuteResult): Promise<ExecuteResult> {
    const executeCtx = () => ({
      ...this.ctx(n),
      humanInput: this.humanInput,
      reasoning,
      subtaskOutputs: this.subtaskOutputs,
      subtaskErrors: this.subtaskErrors,
    });
    // After a crash the loop resumes from the last finished call instead of paying for it again.
    let executed: ExecuteResult = first ?? (await this.step('execute')(executeCtx()));
    for (let turn = 1; executed.toolCalls !== undefined; turn++) {
      this.attempts = Math.max(this.attempts, executed.attempt);
      await this.account(executed.usage);
      if (turn >= MAX_TURNS) {
        throw ApplicationFailure.create({
          type: Failure.BadInput,
          message: `task "${this.task.id}": the agent loop ran ${MAX_TURNS} turns without an answer`,
          nonRetryable: true,
        });
      }
      const results = await Promise.all(executed.toolCalls.map((call) => this.callTool(call)));
      this.checkBudget();
      executed = await this.step(
        'execute',
        `execute #${turn + 1}`,
      )({
        ...executeCtx(),
        loop: { conversation: executed.conversation ?? [], results, step: turn, inboxSeen: executed.inboxSeen },
      });
    }
    this.attempts = Math.max(this.attempts, executed.attempt);
    await this.account(executed.usage);
    return executed;
  }

  private failure(err: unknown): unknown {
    this.finishedAt = new Date().toISOString();
    if (isCancellation(err)) {
      for (const a of this.assignments) if (a.outcome === 'running') a.outcome = 'cancelled';
      this.transition('cancelled');
      return err;
    }
    this.transition(this.error?.type === Failure.BudgetExhausted ? 'skipped' : 'failed');
    const details: TaskFailureDetails = {
      agentId: this.agentId,
      attempts: this.attempts,
      assignments: this.assignments,
      error: this.error,
      subtasks: this.sub?.views() ?? [],
    };
    const message = `task "${this.task.id}" failed after ${this.assignments.length} assignment(s): ${this.error?.message ?? describeFailure(err).error.message}`;
    return ApplicationFailure.create({
      type: Failure.TaskFailed,
      message,
      nonRetryable: true,
      details: [details],
      cause: err instanceof Error ? err : undefined,
    });
  }

  private ctx(n: number): StepContext {
    return {
      planId: this.input.planId,
      taskId: this.task.id,
      workflowId: workflowInfo().workflowId,
      agentId: this.agentId as string,
      agentType: this.agentType,
      description: this.task.description,
      input: this.task.input,
      dependencies: this.input.dependencies,
      assignment: n,
      depth: this.input.depth,
      inbox: [...this.inbox],
      memory: this.memory,
    };
  }

  private step<K extends keyof AgentActivities>(name: K, label: string = name): AgentActivities[K] {
    const agentId = this.agentId as string;
    if (stepsAreShort(this.input, this.offline))
      return proxyLocalActivities<AgentActivities>(localStepOptions(this.input, label, agentId))[name];
    return proxyActivities<AgentActivities>(stepOptions(this.input, label, agentId))[name];
  }

  private callTool(call: ToolCallRequest) {
    return proxyActivities<AgentActivities>(
      stepOptions(this.input, `tool ${call.toolName}`, this.agentId as string),
    ).callTool({
      planId: this.input.planId,
      taskId: this.task.id,
      agentId: this.agentId as string,
      agentType: this.agentType,
      call,
    });
  }

  /**
   * Search attributes change at assignment and at the end (and when a human is asked), which is what people search
   * by; the steps in between show in the query, the current details and the step summaries.
   */
  private transition(next: TaskState, alreadyIndexed = false, at = new Date().toISOString()): void {
    this.state = next;
    const agentId = this.agentId;
    this.transitions.push({ state: next, at, ...(agentId ? { agentId } : {}) });
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
    if (INDEXED_STATES.includes(next) && !alreadyIndexed) {
      upsertSearchAttributes([
        { key: LifecycleStateKey, value: next },
        { key: AgentTypeKey, value: this.agentType },
        ...(agentId ? [{ key: AgentIdKey, value: agentId }] : []),
      ]);
    }
    setCurrentDetails(`**${next}** · ${this.task.id}${agentId ? ` · ${agentId}` : ''}`);
  }

  private checkBudget(): void {
    if (this.budgetStop) {
      throw ApplicationFailure.create({
        type: Failure.BudgetExhausted,
        message: `task "${this.task.id}" stopped: the plan's budget is exhausted`,
        nonRetryable: true,
      });
    }
  }

  private async account(u: Usage | undefined): Promise<void> {
    if (!u) return;
    this.usage = addUsage(this.usage, u);
    this.assignmentUsage = addUsage(this.assignmentUsage, u);
    const seq = ++this.reports;
    try {
      await getExternalWorkflowHandle(planWorkflowId(this.input.planId)).signal(usageReportSignal, {
        taskId: this.task.id,
        agentType: this.agentType,
        usage: u,
        ...(this.input.budgeted ? { replyTo: workflowInfo().workflowId, seq } : {}),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return; // the plan is closing; nothing left to budget
    }
    // Under a budget, wait for the plan's word before the next model call, so a spent budget stops it (bounded, should
    // the plan be gone). Without one there is nothing to wait for.
    if (this.input.budgeted) await condition(() => this.acked >= seq, '60s');
  }

  private async awaitHuman(): Promise<void> {
    const { task } = this;
    this.asked = true;
    this.transition('waiting');
    const answered = await condition(() => this.decision !== undefined, `${task.inputTimeoutSeconds}s`);
    if (!answered) {
      const what = task.requiresApproval ? 'approval' : 'input';
      if (task.onInputTimeout === 'default') this.decision = { approved: true, data: task.defaultInput };
      else
        throw ApplicationFailure.create({
          type: task.onInputTimeout === 'skip' ? Failure.InputTimeoutSkip : Failure.InputTimeout,
          message: `no ${what} for task "${task.id}" within ${task.inputTimeoutSeconds}s`,
          nonRetryable: true,
        });
    }
    if (!this.decision?.approved) {
      throw ApplicationFailure.create({
        type: Failure.Rejected,
        message: `task "${task.id}" was rejected by a human`,
        nonRetryable: true,
      });
    }
    this.humanInput = this.decision.data;
  }

  private async runSubtasks(subtasks: TaskSpec[]): Promise<void> {
    const { input, task } = this;
    const { settings } = input;
    if (input.depth + 1 > settings.maxDepth) {
      throw ApplicationFailure.create({
        type: Failure.InvalidSubtasks,
        message: `task "${task.id}" would nest sub-agents deeper than the maximum depth ${settings.maxDepth}`,
        nonRetryable: true,
      });
    }
    this.checkBudget();
    if (subtasks.length > settings.maxFanOut) {
      throw ApplicationFailure.create({
        type: Failure.InvalidSubtasks,
        message: `task "${task.id}" asks for ${subtasks.length} subtasks; the maximum fan-out is ${settings.maxFanOut}`,
        nonRetryable: true,
      });
    }
    const ordered = task.subtaskMode === 'sequential' ? inSequence(subtasks) : subtasks;
    const info = workflowInfo();
    this.subLease = new AgentLease(info.workflowId, `${info.workflowId}/${info.runId}`, input.planId, (m) =>
      this.outbox.send(m),
    );
    const router = new MessageRouter(input.planId, () => this.sub as DagExecutor);
    this.sub = new DagExecutor(
      ordered,
      { failurePolicy: input.failurePolicy, maxConcurrency: input.maxConcurrency },
      childStarter({ ...input, depth: input.depth + 1 }),
      {
        outputRef: (id) => taskResultRef(input.planId, id),
        lease: this.subLease,
        takeInbox: (id) => router.takeInbox(id),
        onStarted: (id) => router.flush(id),
      },
    );
    this.subRouter = router;
    for (const m of this.heldForSubAgents.splice(0)) router.route(m);
    try {
      await this.sub.run();
    } finally {
      router.closeUndelivered();
      this.subLease.close();
      await CancellationScope.nonCancellable(() => this.outbox.flush());
    }
    // Out of budget, the subtasks that did not run are skipped, not failed: stop as a budget stop, not fail-fast.
    this.checkBudget();
    if (input.failurePolicy === 'fail-fast' && this.sub.hasRequiredFailure()) {
      const failed = Object.entries(this.sub.errors())[0];
      throw ApplicationFailure.create({
        type: Failure.SubtaskFailed,
        message: `subtask "${failed?.[0]}" ${failed?.[1].state ?? 'failed'}: ${failed?.[1].message ?? ''}`,
        nonRetryable: true,
      });
    }
    this.subtaskOutputs = this.sub.outputsToHandOn();
    this.subtaskErrors = this.sub.errors();
  }

  // ---- The agent instance: from the plan's lease, or asked of the pool ----

  /** Starts on the instance the plan leased to this task: no round trip to the pool. */
  private takeLeased(): void {
    const agent = this.input.agent as NonNullable<TaskWorkflowInput['agent']>;
    this.held = { requestId: agent.grantId, agentId: agent.agentId, lease: agent.prior ?? { completed: 0 } };
    this.agentId = agent.agentId;
    this.agentType = agent.agentType;
    this.memory = agent.memory;
    this.offline = agent.offline;
  }

  private async acquire(types: string[], prefer?: string): Promise<void> {
    const info = workflowInfo();
    const requestId = `${info.workflowId}/${info.runId}/${this.requests++}`;
    this.ownRequests.add(requestId);
    this.transition('pending');
    setCurrentDetails(`**waiting for an agent** · ${types.join(' | ')}`);
    try {
      await this.outbox.sendNow({
        kind: 'acquire',
        request: {
          requestId,
          holder: info.workflowId,
          planId: this.input.planId,
          taskId: this.task.id,
          priority: this.task.priority,
          types,
          exclude: this.failedAgents,
          prefer,
        },
      });
      await condition(() => this.grants.has(requestId));
    } catch (err) {
      if (isCancellation(err))
        await CancellationScope.nonCancellable(() => this.outbox.sendNow({ kind: 'cancel', requestId }));
      throw err;
    }
    const grant = this.grants.get(requestId) as Grant;
    this.grants.delete(requestId);
    this.ownRequests.delete(requestId);
    if (grant.error || !grant.agentId) {
      throw ApplicationFailure.create({
        type: Failure.NoAgentType,
        message: grant.error ?? 'no agent granted',
        nonRetryable: true,
      });
    }
    this.held = { requestId, agentId: grant.agentId };
    this.agentId = grant.agentId;
    this.agentType = grant.agentType ?? types[0] ?? this.task.agentType;
    this.memory = grant.memory ?? [];
    this.offline = grant.offline === true;
  }

  /** Done: a leased instance stays with the lease (the plan hands it to its next task); a granted one goes back. */
  private async finishWithAgent(memory: Memory | undefined): Promise<void> {
    if (this.held?.lease) {
      const usage = this.assignmentUsage;
      this.held = undefined;
      this.assignmentUsage = undefined;
      this.kept = { ...(memory !== undefined ? { memory } : {}), ...(usage ? { usage } : {}) };
      return;
    }
    await this.release('completed', memory);
  }

  private async release(outcome: Release['outcome'], memory?: Memory): Promise<void> {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    const usage = addUsage(held.lease?.usage, this.assignmentUsage);
    // A leased instance's memory may have grown under this lease: the pool gets the current one back.
    memory ??= held.lease ? this.memory : undefined;
    this.assignmentUsage = undefined;
    const completed = held.lease ? held.lease.completed + (outcome === 'completed' ? 1 : 0) : undefined;
    await CancellationScope.nonCancellable(() =>
      this.outbox.sendNow({
        kind: 'release',
        release: {
          requestId: held.requestId,
          agentId: held.agentId,
          outcome,
          ...(memory !== undefined ? { memory } : {}),
          ...(usage.modelCalls > 0 ? { usage } : {}),
          ...(completed ? { completed } : {}),
        },
      }),
    );
  }

  /** Lets the plan route messages addressed to this agent id. Best effort: the plan may already be closing. */
  private notifyPlan(): void {
    if (this.input.depth === 0 && this.agentId) {
      getExternalWorkflowHandle(planWorkflowId(this.input.planId))
        .signal(taskAssignedSignal, { taskId: this.task.id, agentId: this.agentId })
        .catch(() => undefined);
    }
  }
}
