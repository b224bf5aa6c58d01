import {
  CancellationScope,
  log,
  allHandlersFinished,
  getExternalWorkflowHandle,
  condition,
  continueAsNew,
  isCancellation,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { expandPlan } from '../shared/plan-codec';
import { settingsOf, taskDefaults } from './lazy-schemas';
import type { Grant } from '../shared/pool';
import { addUsage, overBudget, ZERO_USAGE, type Usage, type UsageReport } from '../shared/usage';
import { planIdOfWorkflowId } from '../shared/ids';
import { PlanIdKey, PlanStatusKey } from '../shared/search-attributes';
import { taskResultRef } from '../shared/claim-check';
import { type TaskView } from '../shared/task';
import { type PlanResult, type PlanStatus, type PlanView, type PlanWorkflowInput } from '../shared/plan';
import { pinnedWhenVersioned } from './versioning';
import { AgentLease } from './agent-lease';
import { requestPrefix } from './request-ids';
import { taskStarter, stopForBudget } from './children';
import { PoolOutbox } from './pool-outbox';
import { DagExecutor } from './dag';
import {
  agentLeaseQuery,
  agentMessageSignal,
  agentsGrantedSignal,
  yieldAgentsSignal,
  cancelPlanSignal,
  cancelTaskSignal,
  pausePlanSignal,
  planMessagesQuery,
  planProgressQuery,
  inlineTaskOutputQuery,
  planStatusQuery,
  rerunSourceQuery,
  resumePlanSignal,
  taskAssignedSignal,
  usageAckSignal,
  usageReportSignal,
} from './messages';
import { MessageRouter } from './mail-router';
import { reusedOrigins, reusedTasks } from '../shared/rerun';

/** Temporal rejects payloads over 2 MB; keep the continue-as-new input under this. */
const MAX_CARRY_BYTES = 1_900_000;

/**
 * Runs one plan as a DAG of child `agentTaskWorkflow`s (id `plan-<planId>`). Honours dependsOn, maxConcurrency and the
 * failure policy; answers `planStatus`; takes cancel / pause / resume signals. It always completes with a PlanResult,
 * whose `status` says how the plan ended. Deterministic; safe to replay.
 */
export async function planWorkflow(input: PlanWorkflowInput): Promise<PlanResult> {
  const spec = 'typeSets' in input.plan ? expandPlan(input.plan, taskDefaults) : input.plan;
  // A schedule starts every run from one template: each run's id is its own workflow id's (the time appended).
  const plan = input.schedule ? { ...spec, id: planIdOfWorkflowId(workflowInfo().workflowId) } : spec;
  const settings = settingsOf(input.settings);
  const carried = input.carried;
  const startedAt = carried?.startedAt ?? new Date(workflowInfo().startTime).toISOString();
  let status: PlanStatus = 'running';
  let closedAt: string | null = null;

  // Agents come on lease from the pool: the plan assigns them to its tasks itself and hands back what it cannot use.
  const onGrants = (grants: Grant[]) => {
    lease.receive(grants);
    dag.poke();
  };
  const outbox = new PoolOutbox(settings.poolId);
  const info = workflowInfo();
  const lease = new AgentLease(info.workflowId, requestPrefix, plan.id, (m) => outbox.send(m), settings.tenant);
  setHandler(agentsGrantedSignal, onGrants);
  setHandler(yieldAgentsSignal, (count) => lease.yieldBack(count));
  setHandler(agentLeaseQuery, () => lease.view());

  // Token and cost accounting from the task workflows' model calls; past the budget nothing new starts and the running
  // tasks are told to stop before their next model call.
  const usage: UsageReport = carried?.usage ?? {
    total: ZERO_USAGE,
    byAgentType: {},
    byTask: {},
  };
  const count = (taskId: string, agentType: string, u: Usage) => {
    usage.total = addUsage(usage.total, u);
    usage.byAgentType[agentType] = addUsage(usage.byAgentType[agentType], u);
    usage.byTask[taskId] = addUsage(usage.byTask[taskId], u);
  };
  // Without a budget, top-level tasks report their usage with their outcome (BudgetGate.account).
  const countUnreported = (taskId: string, byAgentType: Record<string, Usage>) => {
    for (const [agentType, u] of Object.entries(byAgentType)) count(taskId, agentType, u);
  };
  const router = new MessageRouter(plan.id, () => dag, carried?.router);
  const reused = reusedTasks(input.rerun);
  const dag: DagExecutor = new DagExecutor(
    plan.tasks,
    { failurePolicy: plan.failurePolicy, maxConcurrency: plan.maxConcurrency },
    taskStarter({
      planId: plan.id,
      settings,
      failurePolicy: plan.failurePolicy,
      maxConcurrency: plan.maxConcurrency,
      depth: 0,
      ...(input.rerun ? { rerun: input.rerun } : {}),
      ...(plan.budget?.maxTokens !== undefined || plan.budget?.maxCostUsd !== undefined ? { budgeted: true } : {}),
    }),
    {
      takeInbox: (taskId) => router.takeInbox(taskId),
      onStarted: (taskId) => router.flush(taskId),
      onEnded: (taskId) => router.ended(taskId),
      outputRef: (taskId) => taskResultRef(plan.id, taskId),
      lease,
      onUsage: (taskId, byAgentType) => countUnreported(taskId, byAgentType),
      reused,
    },
    carried?.dag,
  );
  // Past the history budget the plan stops launching, lets its running tasks finish, and continues as new.
  // Leave room for the events the running tasks still add while draining (about six each), so the history stays under
  // Temporal's 10,240-event warning.
  const yieldAt = Math.max(settings.planHistoryLimit - 6 * plan.maxConcurrency, settings.planHistoryLimit / 4);
  dag.shouldYield = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= yieldAt;
  setHandler(agentMessageSignal, (message) => router.route(message));
  setHandler(planMessagesQuery, () => router.entries());
  setHandler(taskAssignedSignal, ({ taskId, agentId }) => dag.setAgent(taskId, agentId));

  setHandler(usageReportSignal, ({ taskId, agentType, usage: u, replyTo, seq }) => {
    count(taskId, agentType, u);
    if (!dag.stopReason && overBudget(usage.total, plan.budget)) {
      log.info('plan budget exhausted', { planId: plan.id, usage: usage.total, budget: plan.budget });
      stopForBudget(dag, plan.id);
    }
    // The reporting task waits for this before its next model call, so no call starts once the budget is spent.
    if (replyTo && seq !== undefined) {
      getExternalWorkflowHandle(replyTo)
        .signal(usageAckSignal, { seq, exhausted: dag.stopReason !== undefined })
        .catch(() => undefined);
    }
  });

  setHandler(planStatusQuery, (): PlanView => ({
    planId: plan.id,
    name: plan.name,
    status,
    mode: plan.mode,
    failurePolicy: plan.failurePolicy,
    paused: dag.paused,
    progress: dag.progress(),
    tasks: withUsage(dag.views()),
    usage: usageReport(),
    ...(dag.stopReason ? { reason: dag.stopReason } : {}),
    ...(input.schedule ? { schedule: input.schedule } : {}),
    ...(input.rerun ? { rerunOf: input.rerun.of } : {}),
    startedAt,
    closedAt,
  }));
  /** Each task's tokens and cost, at every depth (sub-agents report theirs to the plan too). */
  function withUsage(views: TaskView[]): TaskView[] {
    return views.map((t) => {
      const own = usage.byTask[t.id];
      const subtasks = t.subtasks.length > 0 ? withUsage(t.subtasks) : t.subtasks;
      return { ...t, subtasks, ...(own ? { usage: own } : {}) };
    });
  }
  /** The usage so far; a rerun's says which tasks it reused (they cost it nothing). */
  function usageReport(): UsageReport {
    return reused.size > 0 ? { ...usage, reused: [...reused.keys()] } : usage;
  }
  // What a rerun of this plan starts from: its spec, and the outputs no task workflow holds.
  setHandler(rerunSourceQuery, () => ({
    plan: input.plan,
    ...(input.rerun ? { rerun: input.rerun } : {}),
    kept: dag.inlineOutputs(),
  }));
  setHandler(planProgressQuery, () => ({ status, progress: dag.progress(), paused: dag.paused }));
  setHandler(inlineTaskOutputQuery, (taskId) => dag.inlineOutput(taskId));
  setHandler(cancelPlanSignal, () => dag.cancelAll());
  setHandler(cancelTaskSignal, ({ taskId, reason }) => {
    dag.cancelTask(taskId, reason);
  });
  setHandler(pausePlanSignal, () => dag.setPaused(true));
  setHandler(resumePlanSignal, () => dag.setPaused(false));

  // The API starts plans with PlanStatus=running already; only a plan started otherwise needs the upsert. A schedule's
  // action cannot know each run's id, so a scheduled plan sets its PlanId itself (with PlanStatus: one upsert).
  if (!carried && input.schedule) {
    upsertSearchAttributes([
      { key: PlanIdKey, value: plan.id },
      { key: PlanStatusKey, value: 'running' },
    ]);
  } else if (!carried && workflowInfo().typedSearchAttributes.get(PlanStatusKey) !== 'running')
    upsertSearchAttributes([{ key: PlanStatusKey, value: 'running' }]);
  let outcome: 'done' | 'yield' = 'done';
  try {
    outcome = await dag.run();
  } catch (err) {
    // `temporal workflow cancel` cancels the root scope: the DAG has cancelled and drained its tasks; close cleanly.
    if (!isCancellation(err)) throw err;
  }
  while (outcome === 'yield') {
    // The next run leases afresh; grants still on their way to this one are handed back by the next.
    lease.close();
    await outbox.flush();
    await condition(allHandlersFinished);
    // Outputs stay in the task workflows' results; the next run carries references (resolved by the API and the
    // activities), so the carried state stays small whatever the tasks produced.
    const next: PlanWorkflowInput = {
      plan: input.plan,
      settings: input.settings,
      ...(input.schedule ? { schedule: input.schedule } : {}),
      carried: {
        startedAt,
        runs: (carried?.runs ?? 1) + 1,
        dag: dag.snapshot(),
        router: router.snapshot(),
        ...(usage.total.modelCalls > 0 ? { usage } : {}),
      },
      ...(input.rerun ? { rerun: input.rerun } : {}),
    };
    if (JSON.stringify(next).length < MAX_CARRY_BYTES) await continueAsNew<typeof planWorkflow>(next);
    // Too big to carry (huge messages or errors): run on in this history rather than fail to continue.
    log.warn('plan state too large to continue-as-new; running on in this history', { planId: plan.id });
    dag.shouldYield = () => false;
    outcome = await dag.run();
  }

  lease.close();
  await CancellationScope.nonCancellable(() => outbox.flush());
  router.closeUndelivered();
  // Out of budget with work left undone: partial, keeping what was produced (the reason says why).
  const cutByBudget = dag.stopReason !== undefined && dag.hasRequiredFailure();
  if (dag.isCancelled()) status = 'cancelled';
  else if (cutByBudget) status = 'partial';
  else if (dag.failedFast) status = 'failed';
  else if (!dag.hasRequiredFailure()) status = 'completed';
  else status = dag.anyCompleted() ? 'partial' : 'failed';
  closedAt = new Date().toISOString();
  upsertSearchAttributes([{ key: PlanStatusKey, value: status }]);
  return {
    planId: plan.id,
    status,
    // Many mid-sized outputs could add up past the 2 MB result limit: then they go by reference (the API resolves them).
    outputs: dag.outputsToHandOn(),
    errors: dag.errors(),
    ...(cutByBudget ? { reason: dag.stopReason } : {}),
    ...(usage.total.modelCalls > 0 || reused.size > 0 ? { usage: usageReport() } : {}),
    ...(dag.hasSubAgents() ? { nested: true } : {}),
    ...revisionsOf(dag.views()),
    ...(input.rerun ? { rerunOf: input.rerun.of, reused: reusedOrigins(input.rerun) } : {}),
  };
}

pinnedWhenVersioned(planWorkflow);

/** The result's `revisions`: each top-level task's verdicts, when any task had some. */
function revisionsOf(tasks: TaskView[]): Pick<PlanResult, 'revisions'> {
  const withSome = tasks.filter((t) => t.revisions && t.revisions.length > 0);
  return withSome.length > 0 ? { revisions: Object.fromEntries(withSome.map((t) => [t.id, t.revisions ?? []])) } : {};
}
