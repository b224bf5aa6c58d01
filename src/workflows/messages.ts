import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AgentMessage, HumanInput, MessageLogEntry, PlanView, TaskState, TaskView } from '../shared/status';

/** The plan's live status: what `GET /v1/plans/:id` serves and `temporal workflow query --type planStatus` prints. */
export const planStatusQuery = defineQuery<PlanView>('planStatus');
/** One task workflow's live lifecycle state, with its sub-agents' states. */
export const taskStatusQuery = defineQuery<TaskView>('taskStatus');

/** Cancels the whole plan: running tasks end `cancelled`, nothing new starts, the plan ends `cancelled`. */
export const cancelPlanSignal = defineSignal<[{ reason?: string }]>('cancelPlan');
/** Cancels one task (and its subtree); its dependents are skipped. */
export const cancelTaskSignal = defineSignal<[{ taskId: string; reason?: string }]>('cancelTask');
/** Paused plans start no new tasks; running ones finish. */
export const pausePlanSignal = defineSignal<[]>('pausePlan');
export const resumePlanSignal = defineSignal<[]>('resumePlan');

/** A message for an agent of the plan (by task id or agent id) or for all running agents (`to: "*"`). Sent to the plan. */
export const agentMessageSignal = defineSignal<[AgentMessage]>('agentMessage');
/** The plan's message log, with each message's delivery state. */
export const planMessagesQuery = defineQuery<MessageLogEntry[]>('planMessages');
/** The plan hands a message to a running task workflow; it goes into the agent's inbox for its next step. */
export const deliverMessageSignal = defineSignal<[AgentMessage]>('deliverMessage');
/** A task workflow tells its plan which agent instance took the task, so messages can be addressed by agent id. */
export const taskAssignedSignal = defineSignal<[{ taskId: string; agentId: string }]>('taskAssigned');
/** A human's decision for a task in state `waiting`; rejected unless the task is waiting. Returns the task's new state. */
export const taskInputUpdate = defineUpdate<TaskState, [HumanInput]>('taskInput');
