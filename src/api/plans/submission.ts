import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { executionSettings } from '../../config';
import { planWorkflowId } from '../../shared/ids';
import { checkPlan } from '../../shared/plan-check';
import { compactPlan, type CompactPlan } from '../../shared/plan-codec';
import type { PlanLinks, PlanSpec, PlanStatus, PlanWorkflowInput } from '../../shared/plan';
import type { Registry } from '../../shared/registry';
import { PlanIdKey, PlanStatusKey, RerunOfKey, SubmitterKey, TenantKey } from '../../shared/search-attributes';
import type { RerunSeed } from '../../shared/rerun';
import { TASK_DEFAULTS } from '../../shared/task';
import type { planWorkflow } from '../../workflows/plan';
import type { Principal } from '../auth';
import { ApiError, invalid, isTemporalUnavailable } from '../errors';
import { statusOf, type PlanLookup } from './plan-lookup';
import { planTenant, tenantOf } from './tenant-gate';

/** Leaves room under Temporal's 2 MB payload limit for the rest of the workflow input. */
const MAX_PLAN_PAYLOAD = 1_500_000;

export interface SubmitAnswer {
  planId: string;
  workflowId: string;
  status: PlanStatus;
  links: PlanLinks;
}

/** A checked plan, ready to start: what `prepare` gives `start` and `existing`. */
export interface PreparedPlan {
  plan: PlanSpec;
  compact: CompactPlan;
  /** The body named the plan's id (a resubmission can then name an existing plan). */
  idGiven: boolean;
  bodyHash: string;
  /** Tasks declared at every depth: what the tenant's tasks-in-flight limit counts. */
  taskCount: number;
}

/** A rerun's start: the source plan's tenant and the seed (src/shared/rerun.ts). */
export interface Fork {
  tenant: string;
  seed: RerunSeed;
}

export interface Submitted {
  created: boolean;
  answer: SubmitAnswer;
}

/** Stable JSON: the same body with keys in another order hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The hash of a request body: the same body with keys in another order hashes the same (resubmissions). */
export const bodyHashOf = (body: unknown): string => createHash('sha256').update(canonical(body)).digest('hex');

/** Tasks at every depth of a plan (declared subtasks included). */
function countTasks(tasks: readonly { subtasks?: readonly unknown[] }[]): number {
  return tasks.reduce(
    (n, t) => n + 1 + (t.subtasks ? countTasks(t.subtasks as { subtasks?: readonly unknown[] }[]) : 0),
    0,
  );
}

/** POST /v1/plans: checks a plan, starts its workflow, or answers for the plan a resubmission names. */
export class PlanSubmission {
  constructor(
    private readonly lookup: PlanLookup,
    /** The live registry (the pool's); `fallback` (the file's) when Temporal cannot be asked, so bad input still gets its 400. */
    private readonly registry: () => Promise<Registry>,
    private readonly fallback: Registry,
  ) {}

  /**
   * Checks a submitted plan (400 naming every problem, 413 when too big) and readies it for starting; nothing is
   * started and no quota is consulted yet.
   */
  async prepare(body: unknown): Promise<PreparedPlan> {
    const registry = await this.registry().catch((err: unknown) => {
      if (isTemporalUnavailable(err)) return this.fallback;
      throw err;
    });
    const { config } = this.lookup;
    const checked = checkPlan(
      body,
      registry,
      { maxTasks: config.PLAN_MAX_TASKS, allowSimulate: config.ALLOW_SIMULATE },
      () => randomUUID(),
    );
    if (!checked.ok) throw invalid('plan', checked.issues);
    const { plan } = checked;
    const compact = compactPlan(plan, TASK_DEFAULTS);
    const size = JSON.stringify(compact).length;
    if (size > MAX_PLAN_PAYLOAD) {
      throw new ApiError(
        'PAYLOAD_TOO_LARGE',
        `the plan is ${size} bytes once normalized; the limit is ${MAX_PLAN_PAYLOAD} (Temporal payloads are capped at 2 MB)`,
      );
    }
    return {
      plan,
      compact,
      idGiven: typeof body === 'object' && body !== null && (body as { id?: unknown }).id !== undefined,
      bodyHash: bodyHashOf(body),
      taskCount: countTasks(plan.tasks),
    };
  }

  /**
   * How a prepared plan's workflow starts: its id, input (the compact plan and the settings the API stamps), search
   * attributes, memo, fairness key and summary. The one builder of them: a submission starts with it, a schedule's
   * action is made of it (api/schedules). `who`: the request's principal: the key's name is stamped as the Submitter
   * search attribute (quotas count by it), its tenant as the Tenant search attribute, in the memo and in the settings.
   * `fork`: a rerun's (api/plans/rerun.ts): the source plan's tenant (an admin's rerun stays in it) and the seed, which
   * the plan takes and the RerunOf search attribute names.
   */
  startOptions(prepared: PreparedPlan, who: Principal | undefined, fork?: Fork) {
    const { plan, compact, bodyHash } = prepared;
    const { config } = this.lookup;
    const count = plan.tasks.length;
    const tenant = fork?.tenant ?? tenantOf(who);
    const input: PlanWorkflowInput = {
      plan: compact,
      settings: { ...executionSettings(config), tenant },
      ...(fork ? { rerun: fork.seed } : {}),
    };
    return {
      workflowId: planWorkflowId(plan.id),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input] as [PlanWorkflowInput],
      typedSearchAttributes: [
        { key: PlanIdKey, value: plan.id },
        { key: PlanStatusKey, value: 'running' },
        { key: TenantKey, value: tenant },
        ...(who ? [{ key: SubmitterKey, value: who.name }] : []),
        ...(fork ? [{ key: RerunOfKey, value: fork.seed.of }] : []),
      ] satisfies SearchAttributePair[],
      memo: {
        bodyHash,
        tenant,
        tasks: prepared.taskCount,
        ...(plan.name ? { name: plan.name } : {}),
        ...(fork ? { rerunOf: fork.seed.of } : {}),
      },
      // Every task queue task of the plan (its own, its task workflows', their steps') inherits the fairness key.
      ...(config.FAIR_SHARE ? { priority: { fairnessKey: tenant } } : {}),
      staticSummary:
        `${plan.name ?? plan.id} · ${plan.mode} · ${count} task${count === 1 ? '' : 's'}` +
        (fork ? ` · rerun of ${fork.seed.of}` : ''),
    };
  }

  /**
   * Starts a prepared plan; an existing plan with the same id and body answers as it is (`created: false`), one with
   * another body (or another tenant's) is a 409. `who`: the request's principal (startOptions).
   */
  async start(prepared: PreparedPlan, who: Principal | undefined, fork?: Fork): Promise<Submitted> {
    const { plan } = prepared;
    const { client, rpc } = this.lookup;
    const options = this.startOptions(prepared, who, fork);
    try {
      await rpc(() =>
        client.workflow.start<typeof planWorkflow>('planWorkflow', {
          ...options,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        }),
      );
      return {
        created: true,
        answer: {
          planId: plan.id,
          workflowId: options.workflowId,
          status: 'running',
          links: this.lookup.links(plan.id),
        },
      };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const known = await this.existing(prepared, who, fork?.tenant);
      if (!known) throw err;
      return known;
    }
  }

  /**
   * The plan a resubmission names, when it exists with the same body (`created: false`); a 409 when it exists with
   * another body; undefined when there is none (or the body gave no id, so it names none).
   */
  async existing(
    prepared: PreparedPlan,
    who: Principal | undefined,
    tenant = tenantOf(who),
  ): Promise<Submitted | undefined> {
    if (!prepared.idGiven) return undefined;
    const { plan, bodyHash } = prepared;
    const workflowId = planWorkflowId(plan.id);
    let desc: WorkflowExecutionDescription;
    try {
      desc = await this.lookup.rpc(() => this.lookup.handle(plan.id).describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    // Another tenant's plan of that id answers as one with another body: nothing says whose it is.
    if (desc.memo?.bodyHash !== bodyHash || planTenant(desc) !== tenant) {
      throw new ApiError('CONFLICT', `plan "${plan.id}" already exists with a different body`);
    }
    return {
      created: false,
      answer: { planId: plan.id, workflowId, status: statusOf(desc), links: this.lookup.links(plan.id) },
    };
  }
}
