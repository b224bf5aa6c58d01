import {
  log,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { PoolActivities } from '../activities/pool';
import type { AgentTypeVerdict, Grant, PoolInput } from '../shared/pool';
import { PoolState } from './pool-state';
import type { Yield } from './fair-share';
import {
  acquireAgentSignal,
  agentsGrantedSignal,
  yieldAgentsSignal,
  cancelAcquireSignal,
  configurePoolSignal,
  poolStatusQuery,
  registryQuery,
  releaseAgentSignal,
  removeAgentTypeUpdate,
  terminateAgentUpdate,
  upsertAgentTypeUpdate,
} from './messages';
import { describeIssues } from '../shared/zod-issues';
import { agentTypes } from './lazy-schemas';
import { Failure } from '../shared/errors';

/** Temporal rejects payloads over 2 MB; keep the continue-as-new input under this. */
const MAX_CARRY_BYTES = 1_900_000;

const { closedWorkflows } = proxyActivities<PoolActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 3 },
  summary: 'check holders of busy agents',
});

const { vetAgentTypes } = proxyLocalActivities<PoolActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
  summary: "check agent types against this worker's policy",
});

/**
 * Agent types are checked against the worker's policy (vetAgentTypes) before the pool takes them: a signal or update
 * reaches the pool from anyone with access to Temporal. Histories from before record no check, and replay without one.
 */
const VET_AGENT_TYPES = 'vet-agent-types';

/**
 * The agent pool: one entity workflow owning every live agent instance, the registry of agent types, and the queue of
 * tasks waiting for an agent. Signals in, grants out (signals to the waiting task workflows); a periodic sweep frees
 * instances whose task workflow died. Continues-as-new with its whole state so history stays bounded. Deterministic.
 */
export async function agentPoolWorkflow(input: PoolInput): Promise<void> {
  // A fresh pool's types came with its start, which anyone with access to Temporal can send: checked below, before the
  // pool grants anything (the registry is published at once: the API reads it to check plans).
  const vetStart = !input.snapshot && patched(VET_AGENT_TYPES);
  const state = new PoolState(input.settings, input.types, input.snapshot);
  // The registry is also in the memo, so the API can read it with describe(), which needs no worker (a query does).
  // `applied`: the types a worker's registry file brought (readiness compares the API's file with it).
  const publishRegistry = () =>
    upsertMemo({ registry: state.registry(), ...(state.applied.length > 0 ? { applied: state.applied } : {}) });
  /** The types the worker's policy allows; the others are recorded as refused (the pool's view, the worker's log). */
  async function admit(raw: unknown[]): Promise<AgentTypeVerdict> {
    const verdict = await vetAgentTypes(raw).catch((err: unknown) => {
      if (isCancellation(err)) throw err;
      // Refusing what could not be checked keeps the pool running; the sender can send it again.
      const reason = `could not be checked: ${String(err)}`;
      return { accepted: [], refused: raw.map((t) => ({ name: String((t as { name?: unknown })?.name), reason })) };
    });
    if (verdict.refused.length > 0) {
      state.refuse(verdict.refused, now());
      for (const r of verdict.refused) log.warn(`agent type "${r.name}" refused by the worker: ${r.reason}`);
      touch();
    }
    return verdict;
  }
  publishRegistry();
  let dirty = true;
  let inFlightGrants = 0;
  const now = () => new Date();
  const touch = () => {
    dirty = true;
  };

  setHandler(acquireAgentSignal, (req) => {
    state.request(req);
    touch();
  });
  setHandler(releaseAgentSignal, (rel) => {
    state.release(rel, now());
    touch();
  });
  setHandler(cancelAcquireSignal, ({ requestId, onlyQueued }) => {
    if (onlyQueued) state.withdraw(requestId);
    else state.cancel(requestId, now());
    touch();
  });
  setHandler(configurePoolSignal, async ({ types, maxAgents }) => {
    const vetted = patched(VET_AGENT_TYPES);
    for (const t of vetted ? (await admit(types)).accepted : types) state.upsertType(t);
    if (vetted) state.applied = types.map((t) => String(t.name));
    state.settings = { ...state.settings, maxAgents };
    publishRegistry();
    touch();
  });
  setHandler(poolStatusQuery, () => state.view());
  setHandler(registryQuery, () => state.registry());
  setHandler(
    upsertAgentTypeUpdate,
    async (raw) => {
      const type = agentTypes().parseStoredAgentType(raw);
      const refused = patched(VET_AGENT_TYPES) ? (await admit([raw])).refused[0] : undefined;
      if (refused)
        throw ApplicationFailure.create({
          type: Failure.BadInput,
          message: `agent type "${type.name}" refused by the worker: ${refused.reason}`,
        });
      state.upsertType(type);
      publishRegistry();
      touch();
      return type;
    },
    {
      validator: (raw) => {
        const parsed = agentTypes().AgentType.safeParse(raw);
        if (!parsed.success) {
          throw ApplicationFailure.create({
            type: Failure.BadInput,
            message: describeIssues(parsed.error.issues),
          });
        }
      },
    },
  );
  setHandler(
    removeAgentTypeUpdate,
    (name) => {
      sendGrants(state.removeType(name, now()));
      publishRegistry();
      touch();
    },
    {
      validator: (name) => {
        if (!state.getType(name))
          throw ApplicationFailure.create({ type: Failure.NotFound, message: `no agent type "${name}"` });
        const busy = state.busyCount(name);
        if (busy > 0)
          throw ApplicationFailure.create({
            type: Failure.Conflict,
            message: `agent type "${name}" has ${busy} busy instance(s)`,
          });
      },
    },
  );
  setHandler(
    terminateAgentUpdate,
    (agentId) => {
      state.terminate(agentId, now(), 'terminated by request');
      touch();
    },
    {
      validator: (agentId) => {
        const inst = state.instance(agentId);
        if (!inst || inst.state === 'terminated')
          throw ApplicationFailure.create({ type: Failure.NotFound, message: `no agent "${agentId}"` });
        if (inst.holder !== null) {
          throw ApplicationFailure.create({
            type: Failure.Conflict,
            message: `agent "${agentId}" is busy with task "${inst.taskId}" of plan "${inst.planId}"`,
          });
        }
      },
    },
  );

  /** One signal per holder per pass, however many instances it was granted. */
  function sendGrants(grants: Grant[]): void {
    const byHolder = new Map<string, Grant[]>();
    for (const g of grants) byHolder.set(g.holder, [...(byHolder.get(g.holder) ?? []), g]);
    for (const [holder, list] of byHolder) {
      inFlightGrants++;
      getExternalWorkflowHandle(holder)
        .signal(agentsGrantedSignal, list)
        .catch(() => {
          for (const g of list) state.ungrant(g.requestId, now()); // the holder is gone: free the instances
        })
        .finally(() => {
          inFlightGrants--;
          touch();
        });
    }
  }

  /** Fair share: asks lease holders for instances back (a holder that has closed owes nothing). */
  function sendYields(yields: Yield[]): void {
    for (const { holder, count } of yields) {
      getExternalWorkflowHandle(holder)
        .signal(yieldAgentsSignal, count)
        .catch(() => state.forgetOwed(holder));
    }
  }

  if (vetStart) {
    const { refused } = await admit(input.types);
    for (const r of refused) state.removeType(r.name, now());
    if (refused.length > 0) publishRegistry();
  }

  let lastSweep = Date.now();
  let tooBigToCarry = false;
  for (;;) {
    // A timer only when something is due (an idle TTL or a sweep): each timer costs history events.
    const wait = waitMs();
    if (wait === undefined) await condition(() => dirty);
    else await condition(() => dirty, wait);
    dirty = false;
    state.expire(now());
    sendGrants(state.schedule(now()));
    sendYields(state.yields());

    const sweepDue = Date.now() - lastSweep >= state.settings.sweepIntervalSeconds * 1_000;
    if (sweepDue && (state.holders().length > 0 || state.queuedHolders().length > 0)) {
      lastSweep = Date.now();
      const held = state.holders();
      const queued = state.queuedHolders();
      // A sweep that cannot ask (Temporal busy or briefly away) is skipped, not fatal: the pool would lose its state.
      const closed = new Set(
        await closedWorkflows([...new Set([...held.map((h) => h.holder), ...queued.map((q) => q.holder)])]).catch(
          (err: unknown) => {
            if (isCancellation(err)) throw err;
            log.warn('pool sweep skipped: could not check holders', { error: String(err) });
            return [] as string[];
          },
        ),
      );
      for (const h of held)
        if (closed.has(h.holder))
          state.release({ requestId: h.requestId, agentId: h.agentId, outcome: 'failed' }, now());
      for (const q of queued) if (closed.has(q.holder)) state.cancel(q.requestId, now());
      if (closed.size > 0) touch();
    }

    const info = workflowInfo();
    if (!tooBigToCarry && (info.continueAsNewSuggested || info.historyLength >= state.settings.historyLimit)) {
      await condition(() => inFlightGrants === 0 && allHandlersFinished());
      // Whatever arrived while we waited is in the state we carry over.
      const next: PoolInput = { settings: state.settings, types: state.registry(), snapshot: state.snapshot() };
      if (JSON.stringify(next).length < MAX_CARRY_BYTES) await continueAsNew<typeof agentPoolWorkflow>(next);
      // Failing to continue would wedge the pool; running on in this history at least keeps serving.
      log.warn('pool state too large to continue-as-new; running on in this history', {
        instances: state.view().active,
      });
      tooBigToCarry = true;
    }
  }

  function waitMs(): number | undefined {
    const expiry = state.msUntilNextExpiry(now());
    const sweep =
      state.holders().length > 0 || state.queuedHolders().length > 0
        ? state.settings.sweepIntervalSeconds * 1_000
        : undefined;
    const candidates = [expiry, sweep].filter((x): x is number => x !== undefined).map((x) => Math.max(x, 10));
    return candidates.length > 0 ? Math.min(...candidates) : undefined;
  }
}
