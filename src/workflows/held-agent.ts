import { ApplicationFailure, CancellationScope, condition, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { Memory } from '../shared/agent';
import { Failure } from '../shared/errors';
import type { Grant, LeasedAgent, LeaseWork, Release } from '../shared/pool';
import type { TaskOutcome, TaskWorkflowInput } from '../shared/task';
import { addUsage, type Usage } from '../shared/usage';
import type { PoolOutbox } from './pool-outbox';
import { requestPrefix } from './request-ids';

/** The instance a task works on, once it has one. */
export interface AssignedAgent {
  agentId: string;
  agentType: string;
  memory: Memory;
  /** Its type runs offline: its steps are short (local activities). */
  offline: boolean;
}

/** The claim on the instance: from the plan's lease (`lease`) or granted by the pool to the task itself. */
interface Claim {
  requestId: string;
  agentId: string;
  /** Set for the leased instance the task started on: what the lease did with it before (reported on release). */
  lease?: LeaseWork;
}

/**
 * The agent instance a task holds: taken from its plan's lease, or asked of the pool (and given back, or kept for the
 * lease when the task completes on it). Workflow code: requests and releases go through the pool outbox.
 */
export class HeldAgent {
  private assigned: AssignedAgent | undefined;
  private claim: Claim | undefined;
  /** Tokens and cost on the current claim, reported to the pool with its release. */
  private usage: Usage | undefined;
  private readonly grants = new Map<string, Grant>();
  private readonly ownRequests = new Set<string>();
  private requests = 0;
  /** Instances that failed this task: the pool is asked for another. */
  private readonly failedAgents: string[] = [];
  /** The task completed on its leased instance and keeps it for the lease (no release to the pool). */
  kept: TaskOutcome['kept'];

  constructor(
    private readonly input: TaskWorkflowInput,
    private readonly outbox: PoolOutbox,
    /** Tells this holder's request ids from another's of the same task (its reviewer's: `review`). */
    private readonly role = '',
  ) {}

  /** The instance's id; the last one's after it was given back; undefined before the first. */
  get id(): string | undefined {
    return this.assigned?.agentId;
  }

  get type(): string {
    return this.assigned?.agentType ?? this.input.task.agentType;
  }

  get offline(): boolean {
    return this.assigned?.offline ?? false;
  }

  /** The instance the task works on; asking before it has one is a bug, failed as such (never retried). */
  get current(): AssignedAgent {
    if (!this.assigned)
      throw ApplicationFailure.nonRetryable(`task "${this.input.task.id}" has no agent yet`, Failure.TaskFailed);
    return this.assigned;
  }

  /** Starts on the instance the plan leased to this task: no round trip to the pool. */
  takeLeased(agent: LeasedAgent): void {
    this.claim = { requestId: agent.grantId, agentId: agent.agentId, lease: agent.prior ?? { completed: 0 } };
    const { agentId, agentType, memory, offline } = agent;
    this.assigned = { agentId, agentType, memory, offline };
  }

  /** True when the grant answers one of the task's own requests (it is then kept for `acquire`). */
  receive(grant: Grant): boolean {
    if (!this.ownRequests.has(grant.requestId)) return false;
    this.grants.set(grant.requestId, grant);
    return true;
  }

  /** Asks the pool for an instance of one of `types` (`prefer`: the one it had) and waits for the grant. */
  async acquire(types: string[], prefer?: string): Promise<void> {
    const info = workflowInfo();
    const requestId = `${requestPrefix()}/${this.role}${this.requests++}`;
    this.ownRequests.add(requestId);
    try {
      await this.outbox.sendNow({
        kind: 'acquire',
        request: {
          requestId,
          holder: info.workflowId,
          planId: this.input.planId,
          taskId: this.input.task.id,
          priority: this.input.task.priority,
          ...(this.input.settings.tenant !== undefined ? { tenant: this.input.settings.tenant } : {}),
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
    const grant = this.grants.get(requestId);
    this.grants.delete(requestId);
    this.ownRequests.delete(requestId);
    if (!grant?.agentId || grant.error)
      throw ApplicationFailure.nonRetryable(grant?.error ?? 'no agent granted', Failure.NoAgentType);
    this.claim = { requestId, agentId: grant.agentId };
    this.assigned = {
      agentId: grant.agentId,
      agentType: grant.agentType ?? types[0] ?? this.input.task.agentType,
      memory: grant.memory ?? [],
      offline: grant.offline === true,
    };
  }

  /** Grants for requests this task no longer has (late ones): straight back to the pool. */
  returnLate(grants: Grant[]): void {
    for (const g of grants) {
      if (g.agentId)
        this.outbox.send({
          kind: 'release',
          release: { requestId: g.requestId, agentId: g.agentId, outcome: 'cancelled' },
        });
    }
  }

  addUsage(u: Usage): void {
    this.usage = addUsage(this.usage, u);
  }

  /** The instance failed the task (its fault): the next request excludes it. */
  markFailed(): void {
    if (this.assigned) this.exclude(this.assigned.agentId);
  }

  /** Requests from now on exclude this instance (it failed the task, here or before the task workflow started). */
  exclude(agentId: string): void {
    this.failedAgents.push(agentId);
  }

  /** Done: a leased instance stays with the lease (the plan hands it to its next task); a granted one goes back. */
  async finish(memory: Memory | undefined): Promise<void> {
    if (this.claim?.lease) {
      const usage = this.usage;
      this.claim = undefined;
      this.usage = undefined;
      this.kept = { ...(memory !== undefined ? { memory } : {}), ...(usage ? { usage } : {}) };
      return;
    }
    await this.release('completed', memory);
  }

  async release(outcome: Release['outcome'], memory?: Memory): Promise<void> {
    const claim = this.claim;
    if (!claim) return;
    this.claim = undefined;
    const usage = addUsage(claim.lease?.usage, this.usage);
    // A leased instance's memory may have grown under this lease: the pool gets the current one back.
    memory ??= claim.lease ? this.assigned?.memory : undefined;
    this.usage = undefined;
    const completed = claim.lease ? claim.lease.completed + (outcome === 'completed' ? 1 : 0) : undefined;
    await CancellationScope.nonCancellable(() =>
      this.outbox.sendNow({
        kind: 'release',
        release: {
          requestId: claim.requestId,
          agentId: claim.agentId,
          outcome,
          ...(memory !== undefined ? { memory } : {}),
          ...(usage.modelCalls > 0 ? { usage } : {}),
          ...(completed ? { completed } : {}),
        },
      }),
    );
  }
}
