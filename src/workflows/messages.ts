import { defineQuery, defineSignal, defineUpdate, type SignalDefinition } from '@temporalio/workflow';
import type { AcquireRequest, Grant, LeaseView, PoolRequest, PoolView, Release } from '../shared/pool';
import type { AgentType } from '../shared/agent-type';
import type { Usage } from '../shared/usage';
import type { AgentMail, MailLogEntry } from '../shared/agent-mail';
import type { HumanInput, TaskState, TaskView } from '../shared/task';
import type { PlanView, PlanWorkflowInput } from '../shared/plan';
import type { RerunSeed } from '../shared/rerun';

/** The plan's live status: what `GET /v1/plans/:id` serves and `temporal workflow query --type planStatus` prints. */
export const planStatusQuery = defineQuery<PlanView>('planStatus');
/** Just the plan's status and counts: cheap even for a 10,000-task plan, where planStatus is megabytes. */
export const planProgressQuery = defineQuery<Pick<PlanView, 'status' | 'progress' | 'paused'>>('planProgress');
/** One task workflow's live lifecycle state, with its sub-agents' states. */
export const taskStatusQuery = defineQuery<TaskView>('taskStatus');
/**
 * The output of a task that ran inline in the plan's workflow (TaskView.inline), or what a reused task was seeded with
 * (TaskView.reused: a reference to the plan that ran it, or the value); undefined for any other task.
 */
export const inlineTaskOutputQuery = defineQuery<unknown, [string]>('inlineTaskOutput');

/**
 * What a rerun of the plan starts from (POST /v1/plans/:planId/rerun): its spec as submitted, its own rerun seed (a
 * chain reuses from the plans that ran the tasks) and the outputs of its tasks that ran inline (no task workflow holds them).
 */
export const rerunSourceQuery = defineQuery<{
  plan: PlanWorkflowInput['plan'];
  rerun?: RerunSeed;
  kept: Record<string, unknown>;
}>('rerunSource');

/** Cancels the whole plan: running tasks end `cancelled`, nothing new starts, the plan ends `cancelled`. */
export const cancelPlanSignal = defineSignal<[{ reason?: string }]>('cancelPlan');
/** Cancels one task (and its subtree); its dependents are skipped. */
export const cancelTaskSignal = defineSignal<[{ taskId: string; reason?: string }]>('cancelTask');
/** Paused plans start no new tasks; running ones finish. */
export const pausePlanSignal = defineSignal<[]>('pausePlan');
export const resumePlanSignal = defineSignal<[]>('resumePlan');

/** A message for an agent of the plan (by task id or agent id) or for all running agents (`to: "*"`). Sent to the plan. */
export const agentMessageSignal = defineSignal<[AgentMail]>('agentMessage');
/** The plan's message log, with each message's delivery state. */
export const planMessagesQuery = defineQuery<MailLogEntry[]>('planMessages');
/** The plan hands a message to a running task workflow; it goes into the agent's inbox for its next step. */
export const deliverMessageSignal = defineSignal<[AgentMail]>('deliverMessage');
/** A task workflow tells its plan which agent instance took the task, so messages can be addressed by agent id. */
export const taskAssignedSignal = defineSignal<[{ taskId: string; agentId: string }]>('taskAssigned');
/** A task workflow reports the tokens and cost of one model call to its plan (which keeps the budget). */
export const usageReportSignal =
  defineSignal<[{ taskId: string; agentType: string; usage: Usage; replyTo?: string; seq?: number }]>('usageReport');
/** The plan's answer to a usage report (sent to `replyTo`): whether the budget still allows another model call. */
export const usageAckSignal = defineSignal<[{ seq: number; exhausted: boolean }]>('usageAck');
/** The plan's budget is spent: the task stops before its next model call, and its sub-agents with it. */
export const budgetExhaustedSignal = defineSignal<[]>('budgetExhausted');
/** A human's decision for a task in state `waiting`; rejected unless the task is waiting. Returns the task's new state. */
export const taskInputUpdate = defineUpdate<TaskState, [HumanInput]>('taskInput');

// ---- Agent pool (entity workflow, id from AGENT_POOL_ID) ----

/** A task workflow asks for an agent instance, or a plan for a lease of several; the pool answers with agentsGrantedSignal. */
export const acquireAgentSignal = defineSignal<[AcquireRequest]>('acquireAgent');
/** A task workflow is done with its instance (completed, failed or cancelled). */
export const releaseAgentSignal = defineSignal<[Release]>('releaseAgent');
/** A task workflow gave up waiting (it was cancelled): drop its request or free what it was granted. */
export const cancelAcquireSignal = defineSignal<[{ requestId: string; onlyQueued?: boolean }]>('cancelAcquire');
/** Worker start-up: the registry file's types (upserted) and MAX_AGENTS. */
export const configurePoolSignal = defineSignal<[{ types: AgentType[]; maxAgents: number }]>('configurePool');
/** The pool hands instances (or errors) to the workflow that asked: every grant of one pass for it in one signal. */
export const agentsGrantedSignal = defineSignal<[Grant[]]>('agentsGranted');
/**
 * Fair share: the pool asks a lease holder to give this many more of its instances back as their tasks finish, instead
 * of taking them on to its next tasks, because another tenant waits while this one holds more than its share.
 */
export const yieldAgentsSignal = defineSignal<[number]>('yieldAgents');
/** A lease holder (a plan, or a coordinator for its sub-agents): which leased instance is on which task right now. */
export const agentLeaseQuery = defineQuery<LeaseView>('agentLease');
export const poolStatusQuery = defineQuery<PoolView>('poolStatus');
export const registryQuery = defineQuery<AgentType[]>('registry');
/** Register or replace an agent type; validated. */
export const upsertAgentTypeUpdate = defineUpdate<AgentType, [unknown]>('upsertAgentType');
/** Remove an agent type; rejected while it has busy instances. */
export const removeAgentTypeUpdate = defineUpdate<void, [string]>('removeAgentType');
/** Terminate an idle instance; rejected while it is busy. */
export const terminateAgentUpdate = defineUpdate<void, [string]>('terminateAgent');

/** The pool signal that carries a message, with its argument: one mapping for the workflow and the activity side. */
export function poolSignalOf(message: PoolRequest): [SignalDefinition<[unknown]>, unknown] {
  switch (message.kind) {
    case 'acquire':
      return [acquireAgentSignal as SignalDefinition<[unknown]>, message.request];
    case 'release':
      return [releaseAgentSignal as SignalDefinition<[unknown]>, message.release];
    case 'cancel':
      return [
        cancelAcquireSignal as SignalDefinition<[unknown]>,
        { requestId: message.requestId, ...(message.onlyQueued ? { onlyQueued: true } : {}) },
      ];
    case 'configure':
      return [
        configurePoolSignal as SignalDefinition<[unknown]>,
        { types: message.input.types, maxAgents: message.input.settings.maxAgents },
      ];
  }
}
