import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes (all Keyword): filter plans and tasks in the Web UI and `temporal workflow list --query`. */
export const PlanIdKey = defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD);
export const TaskIdKey = defineSearchAttributeKey('TaskId', SearchAttributeType.KEYWORD);
export const AgentTypeKey = defineSearchAttributeKey('AgentType', SearchAttributeType.KEYWORD);
export const AgentIdKey = defineSearchAttributeKey('AgentId', SearchAttributeType.KEYWORD);
export const LifecycleStateKey = defineSearchAttributeKey('LifecycleState', SearchAttributeType.KEYWORD);
export const PlanStatusKey = defineSearchAttributeKey('PlanStatus', SearchAttributeType.KEYWORD);

/** The name of the API key a plan was submitted with (docs/security.md): quotas count running plans by it. */
export const SubmitterKey = defineSearchAttributeKey('Submitter', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [
  PlanIdKey,
  TaskIdKey,
  AgentTypeKey,
  AgentIdKey,
  LifecycleStateKey,
  PlanStatusKey,
  SubmitterKey,
];
