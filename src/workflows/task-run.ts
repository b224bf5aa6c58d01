import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import type {
  AgentActivities,
  ExecuteResult,
  LifecycleResult,
  RevisionRequest,
  StepContext,
  ToolCallRequest,
} from '../activities/types';
import { planWorkflowId } from '../shared/ids';
import type { Memory } from '../shared/agent';
import type { Grant } from '../shared/pool';
import type { HumanInput, TaskOutcome, TaskSpec, TaskState, TaskView, TaskWorkflowInput } from '../shared/task';
import type { AgentMail } from '../shared/agent-mail';
import type { Usage } from '../shared/usage';
import { Failure, NOT_THE_AGENTS_FAULT } from '../shared/errors';
import { BudgetGate } from './budget-gate';
import { attemptsOf, describeFailure, isFatal } from './failures';
import { HeldAgent } from './held-agent';
import { HumanQuestion } from './human-input';
import { taskAssignedSignal } from './messages';
import { PoolOutbox } from './pool-outbox';
import { SubAgents } from './sub-agents';
import {
  maxAttempts,
  stepActivities,
  stepContextOf,
  stepOptions,
  stepsAreShort,
  validatesLocally,
} from './task-options';
import { TaskRecord } from './task-record';
import { TaskReviewer } from './task-reviewer';

/** A model agent's loop may not run longer than this many turns, whatever its runtime says. */
const MAX_TURNS = 100;

/**
 * One agent working one task, as an object the task workflow drives: the lifecycle, over the instance it holds
 * (`HeldAgent`), its budget (`BudgetGate`), its question to a human (`HumanQuestion`), its sub-agents (`SubAgents`) and
 * its record (`TaskRecord`). Workflow code: deterministic, safe to replay.
 */
export class TaskRun {
  private readonly outbox: PoolOutbox;
  private readonly agent: HeldAgent;
  /** The task's reviewer (`review`), held only while it reviews. */
  private readonly reviewer: TaskReviewer;
  private readonly budget: BudgetGate;
  private readonly human: HumanQuestion;
  private readonly subAgents: SubAgents;
  private readonly record: TaskRecord;
  /** Messages from the plan's bus, handed to the agent's next step. */
  private readonly inbox: AgentMail[] = [];

  constructor(private readonly input: TaskWorkflowInput) {
    this.outbox = new PoolOutbox(input.settings.poolId);
    this.agent = new HeldAgent(input, this.outbox);
    this.budget = new BudgetGate(input);
    this.human = new HumanQuestion(input.task);
    this.subAgents = new SubAgents(input, this.outbox, this.budget);
    this.reviewer = new TaskReviewer(input, this.outbox, this.budget);
    this.record = new TaskRecord(input.task.id, () => ({ agentId: this.agent.id, agentType: this.agent.type }));
    for (const m of input.inbox ?? []) this.onMessage(m);
    const failedInline = input.handover?.failed;
    if (failedInline) {
      // Its first assignment failed inline in the plan's workflow: shown here as the first of its assignments.
      this.record.assignments.push(failedInline.assignment);
      this.record.countAttempts(failedInline.attempts);
      if (failedInline.itsFault) this.agent.exclude(failedInline.assignment.agentId);
    }
  }

  private get task(): TaskSpec {
    return this.input.task;
  }

  view(): TaskView {
    const { record } = this;
    return {
      id: this.task.id,
      state: record.state,
      agentId: this.agent.id,
      agentType: this.agent.type,
      attempts: record.attempts,
      assignments: record.assignments,
      error: record.error,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      subtasks: this.subAgents.views(),
      ...(this.budget.spent ? { usage: this.budget.spent } : {}),
      transitions: record.transitions,
      ...(record.state === 'waiting' ? { input: this.human.request(record.waitingSince()) } : {}),
      ...(record.revisions.length > 0 ? { revisions: record.revisions } : {}),
    };
  }

  leaseView() {
    return this.subAgents.leaseView();
  }

  // ---- Signals and updates ----

  onBudgetExhausted(): void {
    this.budget.stop();
    this.subAgents.stopForBudget();
  }

  onUsageAck(seq: number, exhausted: boolean): void {
    this.budget.onAck(seq, exhausted);
  }

  /** A message for this agent goes to its inbox; one for a sub-agent (at any depth) to the sub-agents' bus. */
  onMessage(message: AgentMail): void {
    const { to } = message;
    const forThisAgent = to === this.task.id || to === '*' || to === this.agent.id;
    if (!forThisAgent && this.subAgents.addresses(to)) this.subAgents.route(message);
    else if (!this.inbox.some((m) => m.id === message.id)) this.inbox.push(message);
  }

  /** Grants for the task's own requests, or for its sub-agents' lease. */
  onGrants(grants: Grant[]): void {
    const forLease: Grant[] = [];
    for (const g of grants) if (!this.agent.receive(g) && !this.reviewer.receive(g)) forLease.push(g);
    if (forLease.length === 0 || this.subAgents.receive(forLease)) return;
    this.agent.returnLate(forLease);
  }

  /** The pool asks the sub-agents' lease for instances back (fair share). */
  onYield(count: number): void {
    this.subAgents.yieldBack(count);
  }

  validateInput(input: HumanInput): void {
    this.human.validate(input, this.record.state);
  }

  async answer(input: HumanInput): Promise<TaskState> {
    this.human.decide(input);
    // Answered, the task asks for its agent again: its new state is what it does once it has one (or how it ended).
    await condition(() => this.record.state !== 'waiting' && this.record.state !== 'pending');
    return this.record.state;
  }

  // ---- The lifecycle ----

  async run(): Promise<TaskOutcome> {
    try {
      return await this.lifecycle();
    } catch (err) {
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => this.budget.reportUnreported());
      throw this.record.failure(err, this.agent.id, this.subAgents.views(), this.budget.takeUnreported());
    } finally {
      // Instances handed back by the sub-agents' lease after it closed must reach the pool before this workflow ends.
      await CancellationScope.nonCancellable(() => this.outbox.flush());
    }
  }

  /** Assignment after assignment (another instance, or the fallback type) until one completes or none may try. */
  private async lifecycle(): Promise<TaskOutcome> {
    for (let n = this.input.handover?.failed ? 1 : 0; ; n++) {
      const types = this.typesFor(n);
      await this.assign(n, types);
      try {
        return await this.work(n, types);
      } catch (err) {
        await this.giveUpOn(err, n);
      }
    }
  }

  private typesFor(n: number): string[] {
    const { task } = this;
    if (n > 0 && task.fallbackAgentType) return [task.fallbackAgentType];
    return task.eligibleTypes.length > 0 ? task.eligibleTypes : [task.agentType];
  }

  /** The first assignment starts on the instance the plan leased (if any); the others ask the pool. */
  private async assign(n: number, types: string[]): Promise<void> {
    // The leased instance is taken before anything can throw, so a failure below gives it back.
    const leased = n === 0 ? this.input.agent : undefined;
    if (leased) this.agent.takeLeased(leased);
    else {
      this.budget.check();
      await this.acquire(types);
    }
    const { agentId, agentType } = this.agent.current;
    this.record.assign(agentId, agentType);
    this.record.transition('assigned', leased !== undefined);
    if (n > 0) this.notifyPlan();
  }

  /** One assignment: reason, (sub-agents), (a human), execute, validate. */
  private async work(n: number, types: string[]): Promise<TaskOutcome> {
    const { task } = this;
    this.budget.check();
    this.record.transition('reasoning');
    const handedOver = n === 0 ? this.input.handover?.fused : undefined;
    const fused = handedOver ? this.phasesOf(handedOver) : this.fusable() ? await this.fusedSteps(n) : undefined;
    const reasoning = fused?.reasoning ?? (await this.step('reason')(this.ctx(n)));
    this.record.countAttempts(reasoning.attempt);
    await this.account(reasoning.usage);
    const subtasks = task.subtasks.length > 0 ? task.subtasks : (reasoning.subtasks ?? []);
    // A coordinator gives its instance back while its sub-agents work (a deep tree cannot hold the whole pool
    // hostage), and so does a task while a human, who may take days, decides.
    if (subtasks.length > 0 && !this.subAgents.done) await this.withoutAgent(types, () => this.subAgents.run(subtasks));
    if (this.human.due) await this.withoutAgent(types, () => this.askHuman());
    const { executed, memory } = await this.executeAndValidate(n, reasoning.thoughts, fused);
    this.record.endAssignment('completed');
    this.record.finish();
    this.record.transition('completed');
    await this.agent.finish(memory);
    return this.outcome(executed.output);
  }

  /** A failed assignment gives its instance back; rethrows when no other assignment may try. */
  private async giveUpOn(err: unknown, n: number): Promise<void> {
    if (isCancellation(err)) {
      await this.agent.release('cancelled');
      throw err;
    }
    const described = describeFailure(err);
    // Running out of budget, or a provider or tool server failing, is not the agent's fault: it does not count
    // against the instance (no quarantine for a provider outage).
    const notItsFault = NOT_THE_AGENTS_FAULT.includes(described.error.type);
    await this.agent.release(notItsFault ? 'cancelled' : 'failed');
    if (!notItsFault) this.agent.markFailed();
    this.record.endAssignment('failed', described.error.message);
    this.record.countAttempts(attemptsOf(err, maxAttempts(this.input)));
    if (isFatal(err) || n + 1 >= this.task.maxReassignments + 1) {
      this.record.error = described.error;
      throw err;
    }
  }

  private outcome(output: unknown): TaskOutcome {
    const { record } = this;
    const { kept } = this.agent;
    const unreportedUsage = this.budget.takeUnreported();
    return {
      taskId: this.task.id,
      agentId: this.agent.current.agentId,
      agentType: this.agent.type,
      attempts: record.attempts,
      output,
      assignments: record.assignments,
      subtasks: this.subAgents.views(),
      ...(this.budget.spent ? { usage: this.budget.spent } : {}),
      ...(unreportedUsage ? { unreportedUsage } : {}),
      ...(kept ? { kept } : {}),
      ...(record.revisions.length > 0 ? { revisions: record.revisions } : {}),
    };
  }

  /** Gives the instance back during `wait`, then asks again, preferring the same one so its memory carries on. */
  private async withoutAgent(types: string[], wait: () => Promise<void>): Promise<void> {
    const before = this.agent.current.agentId;
    await this.agent.release('yielded');
    await wait();
    await this.acquire(types, before);
    const { agentId, agentType } = this.agent.current;
    if (agentId !== before) {
      this.record.endAssignment('completed');
      this.record.assign(agentId, agentType);
      this.notifyPlan();
    }
    this.record.transition('assigned');
  }

  private async askHuman(): Promise<void> {
    this.record.transition('waiting');
    await this.human.wait();
  }

  /**
   * Short steps of a plain task (no sub-agents or human input declared) run fused: one activity for reason → execute →
   * validate. The states still show, each with the time it began, once the activity returns.
   */
  private fusable(): boolean {
    const { task } = this;
    return (
      stepsAreShort(this.input, this.agent.offline) &&
      task.subtasks.length === 0 &&
      !task.requiresApproval &&
      !task.awaitInput &&
      !task.output &&
      !task.review &&
      !this.subAgents.done
    );
  }

  private async fusedSteps(n: number) {
    return this.phasesOf(await this.step('lifecycle', 'reason → execute → validate')(this.ctx(n)));
  }

  /** The fused steps' states, each with the time it began (run here, or inline in the plan before the handover). */
  private phasesOf(fused: LifecycleResult): LifecycleResult {
    this.record.countAttempts(fused.attempt);
    for (const phase of fused.phases.slice(1)) this.record.transition(phase.state, false, phase.at);
    return fused;
  }

  /**
   * Execute and validate, unless the fused steps did both; then, when the task has a contract or a reviewer, round after
   * round: a rejected output goes back to the agent with the reasons (validating → executing), up to `maxRevisions`
   * revisions, then the task fails with ValidationRejected (and the failure policy reassigns it). The last step writes
   * the agent's memory of this task (a claim check), so the pool never holds its text.
   */
  private async executeAndValidate(
    n: number,
    thoughts: string,
    fused: LifecycleResult | undefined,
  ): Promise<{ executed: ExecuteResult; memory: Memory | undefined }> {
    if (fused?.validated && fused.executed) {
      await this.account(fused.executed.usage);
      return { executed: fused.executed, memory: fused.memory };
    }
    const { task } = this;
    let first = fused?.executed;
    let revision: RevisionRequest | undefined;
    for (let round = 1; ; round++) {
      this.budget.check();
      this.record.transition('executing');
      const executed = await this.agentLoop(n, thoughts, first, revision);
      first = undefined;
      this.record.transition('validating');
      const validated = await this.step(
        'validate',
        round > 1 ? `validate #${round}` : 'validate',
        validatesLocally(this.input, this.agent.offline),
      )({
        ...this.ctx(n),
        output: executed.output,
        ...(executed.summary ? { summary: executed.summary } : {}),
      });
      this.record.countAttempts(validated.attempt);
      if (!task.output && !task.review) return { executed, memory: validated.memory };
      let verdict = { by: 'schema', accepted: validated.accepted !== false, reasons: validated.reasons ?? [] };
      if (verdict.accepted && task.review) {
        const { attempt, ...reviewed } = await this.reviewer.review(this.ctx(n), executed.output, round);
        this.record.countAttempts(attempt);
        verdict = reviewed;
      }
      this.record.verdict({ round, ...verdict });
      if (verdict.accepted) {
        const output = validated.parsed !== undefined ? validated.parsed : executed.output;
        return { executed: { ...executed, output }, memory: validated.memory };
      }
      const max = task.review?.maxRevisions ?? task.output?.maxRevisions ?? 0;
      if (round > max)
        throw ApplicationFailure.nonRetryable(
          `task "${task.id}": output rejected ${round} time(s) (${max} revision(s) allowed): ${verdict.reasons.join('; ') || 'no reason given'}`,
          Failure.ValidationRejected,
        );
      revision = { round: round + 1, output: executed.output, reasons: verdict.reasons };
    }
  }

  /** The model turns (one execute activity each) and tool calls (one activity each) until the agent answers. */
  private async agentLoop(
    n: number,
    reasoning: string,
    first?: ExecuteResult,
    revision?: RevisionRequest,
  ): Promise<ExecuteResult> {
    const executeCtx = () => ({
      ...this.ctx(n),
      humanInput: this.human.answer,
      reasoning,
      ...this.subAgents.handedOn,
    });
    // After a crash the loop resumes from the last finished call instead of paying for it again.
    let executed: ExecuteResult =
      first ??
      (await this.step(
        'execute',
        revision ? `execute (revision ${revision.round - 1})` : 'execute',
      )({
        ...executeCtx(),
        ...(revision ? { revision } : {}),
      }));
    for (let turn = 1; executed.toolCalls !== undefined || executed.inputRequired !== undefined; turn++) {
      this.record.countAttempts(executed.attempt);
      await this.account(executed.usage);
      if (turn >= MAX_TURNS)
        throw ApplicationFailure.nonRetryable(
          `task "${this.task.id}": the agent loop ran ${MAX_TURNS} turns without an answer`,
          Failure.BadInput,
        );
      const asked = executed.inputRequired;
      if (asked) {
        // A remote A2A agent asks for input: the task waits for a human as one that declares awaitInput, and the
        // answer goes back to the same remote task.
        this.human.reopen(asked.question);
        await this.askHuman();
        this.record.transition('executing');
        executed = await this.step(
          'execute',
          `execute #${turn + 1}`,
        )({
          ...executeCtx(),
          remote: { task: asked.task, answer: this.human.answer, ...(asked.askedIn ? { askedIn: asked.askedIn } : {}) },
        });
        continue;
      }
      const results = await Promise.all((executed.toolCalls ?? []).map((call) => this.callTool(call)));
      this.budget.check();
      executed = await this.step(
        'execute',
        `execute #${turn + 1}`,
      )({
        ...executeCtx(),
        loop: { conversation: executed.conversation ?? [], results, step: turn, inboxSeen: executed.inboxSeen },
      });
    }
    this.record.countAttempts(executed.attempt);
    await this.account(executed.usage);
    return executed;
  }

  private ctx(n: number): StepContext {
    return stepContextOf(this.input, this.agent.current, [...this.inbox], n);
  }

  private step<K extends keyof AgentActivities>(
    name: K,
    label: string = name,
    local = stepsAreShort(this.input, this.agent.offline),
  ): AgentActivities[K] {
    return stepActivities(this.input, label, this.agent.current.agentId, local)[name];
  }

  private callTool(call: ToolCallRequest) {
    const { agentId, agentType } = this.agent.current;
    return proxyActivities<AgentActivities>(stepOptions(this.input, `tool ${call.toolName}`, agentId)).callTool({
      planId: this.input.planId,
      taskId: this.task.id,
      agentId,
      agentType,
      call,
    });
  }

  /** Waits in `pending` while the pool finds an instance of one of `types`. */
  private async acquire(types: string[], prefer?: string): Promise<void> {
    this.record.transition('pending');
    setCurrentDetails(`**waiting for an agent** · ${types.join(' | ')}`);
    await this.agent.acquire(types, prefer);
  }

  private async account(u: Usage | undefined): Promise<void> {
    if (!u) return;
    this.agent.addUsage(u);
    await this.budget.account(u, this.agent.type);
  }

  /** Lets the plan route messages addressed to this agent id. Best effort: the plan may already be closing. */
  private notifyPlan(): void {
    const agentId = this.agent.id;
    if (this.input.depth === 0 && agentId) {
      getExternalWorkflowHandle(planWorkflowId(this.input.planId))
        .signal(taskAssignedSignal, { taskId: this.task.id, agentId })
        .catch(() => undefined);
    }
  }
}
