import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { AgentMail } from '../../shared/agent-mail';
import { taskWorkflowId } from '../../shared/ids';
import { FINAL_TASK_STATES, type HumanInput, type TaskState, type TaskView } from '../../shared/task';
import {
  agentMessageSignal,
  cancelPlanSignal,
  cancelTaskSignal,
  pausePlanSignal,
  planStatusQuery,
  resumePlanSignal,
  taskInputUpdate,
} from '../../workflows/messages';
import { ApiError } from '../errors';
import { MessageTooLarge, packMessageBody } from '../../storage/message-bodies';
import { statusOf, type PlanLookup } from './plan-lookup';
import type { PlanViews } from './plan-views';
import { findTask } from './tasks';

/** What the API tells a running plan: cancel it or a task, pause, resume, a message, a human's answer. */
export class PlanControl {
  constructor(
    private readonly lookup: PlanLookup,
    private readonly plans: PlanViews,
  ) {}

  /** The plan's handle, or a 409 naming `action` when it has closed. */
  private async runningHandle(planId: string, action: string) {
    const desc = await this.lookup.describe(planId);
    if (desc.status.name !== 'RUNNING')
      throw new ApiError('CONFLICT', `plan "${planId}" is already closed (${statusOf(desc)}); cannot ${action}`);
    return this.lookup.handle(planId);
  }

  async cancel(planId: string, reason?: string): Promise<void> {
    const handle = await this.runningHandle(planId, 'cancel');
    await this.lookup.rpc(() => handle.signal(cancelPlanSignal, { reason }));
  }

  async cancelTask(planId: string, taskId: string, reason?: string): Promise<TaskView> {
    const handle = await this.runningHandle(planId, 'cancel a task');
    const view = await this.lookup.rpc(() => handle.query(planStatusQuery));
    const task = view.tasks.find((t) => t.id === taskId);
    if (!task) throw new ApiError('NOT_FOUND', `plan "${planId}" has no top-level task "${taskId}"`);
    if (FINAL_TASK_STATES.includes(task.state))
      throw new ApiError('CONFLICT', `task "${taskId}" already ended ${task.state}`);
    await this.lookup.rpc(() => handle.signal(cancelTaskSignal, { taskId, reason }));
    return task;
  }

  async pause(planId: string, paused: boolean): Promise<void> {
    const handle = await this.runningHandle(planId, paused ? 'pause' : 'resume');
    await this.lookup.rpc(() => (paused ? handle.signal(pausePlanSignal) : handle.signal(resumePlanSignal)));
  }

  /** Puts a message on the plan's bus (de-duplicated by id). */
  async sendMessage(
    planId: string,
    msg: { id?: string; from?: string; to: string; body: unknown },
  ): Promise<AgentMail> {
    const handle = await this.runningHandle(planId, 'send a message');
    let body: unknown;
    try {
      body = await packMessageBody(msg.body, this.lookup.claimCheck, this.lookup.config.MESSAGE_MAX_BYTES);
    } catch (err) {
      if (err instanceof MessageTooLarge)
        throw new ApiError('PAYLOAD_TOO_LARGE', `${err.message}: send a reference to the data instead`);
      throw err;
    }
    const message: AgentMail = {
      id: msg.id ?? randomUUID(),
      from: msg.from ?? 'api',
      to: msg.to,
      body,
      sentAt: new Date().toISOString(),
    };
    await this.lookup.rpc(() => handle.signal(agentMessageSignal, message));
    return message;
  }

  /** Delivers a human's decision to a waiting task through a Workflow Update; returns the task's new state. */
  async taskInput(planId: string, taskId: string, input: HumanInput): Promise<TaskState> {
    const view = await this.plans.status(planId);
    const task = findTask(view.tasks, taskId)?.task;
    if (!task) throw new ApiError('NOT_FOUND', `plan "${planId}" has no task "${taskId}"`);
    if (task.state !== 'waiting')
      throw new ApiError('CONFLICT', `task "${taskId}" is not waiting for input (it is ${task.state})`);
    try {
      return await this.lookup.rpc(
        () =>
          this.lookup.client.workflow
            .getHandle(taskWorkflowId(planId, taskId))
            .executeUpdate(taskInputUpdate, { args: [input] }),
        Math.max(this.lookup.config.TEMPORAL_RPC_TIMEOUT_MS, 10_000),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new ApiError('CONFLICT', err.cause?.message ?? err.message);
      if (err instanceof WorkflowNotFoundError)
        throw new ApiError('CONFLICT', `task "${taskId}" is not waiting for input (it has ended)`);
      throw err;
    }
  }
}
