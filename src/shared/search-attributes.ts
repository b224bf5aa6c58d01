import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import definitions from './custom-search-attributes.json';

/**
 * Custom search attributes: filter plans and tasks in the Web UI and `temporal workflow list --query`.
 *
 * custom-search-attributes.json is the one list of them: the worker registers what is missing from it at start
 * (src/temporal/namespace-setup.ts) and docker/temporal-namespace.sh registers the same file's names in docker-compose. All are Keyword.
 */
export type SearchAttributeName = keyof typeof definitions;

function keyword(name: SearchAttributeName) {
  if (definitions[name] !== 'Keyword') throw new Error(`search attribute ${name}: only Keyword is supported`);
  return defineSearchAttributeKey(name, SearchAttributeType.KEYWORD);
}

export const PlanIdKey = keyword('PlanId');
export const TaskIdKey = keyword('TaskId');
export const AgentTypeKey = keyword('AgentType');
export const AgentIdKey = keyword('AgentId');
export const LifecycleStateKey = keyword('LifecycleState');
export const PlanStatusKey = keyword('PlanStatus');
/** The name of the API key a plan was submitted with (docs/security.md): quotas count running plans by it. */
export const SubmitterKey = keyword('Submitter');
/** The tenant a plan belongs to (src/shared/tenant.ts): listings, quotas and the Web UI filter plans by it. */
export const TenantKey = keyword('Tenant');
/** The schedule that started a plan (docs/schedules.md); Temporal's own TemporalScheduledById says the same. */
export const ScheduleKey = keyword('Schedule');

/** The plan a rerun was forked from (POST /v1/plans/:planId/rerun): finds every fork of a plan. */
export const RerunOfKey = keyword('RerunOf');

export const SEARCH_ATTRIBUTES = (Object.keys(definitions) as SearchAttributeName[]).map(keyword);
