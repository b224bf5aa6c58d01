import type { PoolView } from '../shared/pool';
import { AGENT_STATES, PLAN_STATUSES, type PlanStatus } from '../shared/status';

type Sample = [labels: Record<string, string>, value: number];

function family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = samples.map(([labels, value]) => {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${esc(v)}"`);
    return `${name}${l.length ? `{${l.join(',')}}` : ''} ${value}`;
  });
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines].join('\n');
}

/**
 * Prometheus text for the pool and the plans: agents by type and lifecycle state, the queue, model tokens / cost /
 * calls by agent type (counted by the pool since it started), and plans by status (from Temporal visibility).
 */
export function renderMetrics(pool: PoolView, plans: Partial<Record<PlanStatus, number>>): string {
  const byTypeState = new Map<string, number>();
  for (const a of pool.agents)
    byTypeState.set(`${a.type}\u0000${a.state}`, (byTypeState.get(`${a.type}\u0000${a.state}`) ?? 0) + 1);
  const types = [...new Set(pool.agents.map((a) => a.type))].sort();
  const agentSamples: Sample[] = types.flatMap((type) =>
    AGENT_STATES.map((state): Sample => [{ type, state }, byTypeState.get(`${type}\u0000${state}`) ?? 0]),
  );
  const usage = Object.entries(pool.usageByType ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    [
      family('agent_orchestrator_agents', 'gauge', 'Live agent instances by type and lifecycle state.', agentSamples),
      family('agent_orchestrator_agents_max', 'gauge', 'MAX_AGENTS: the cap on live instances.', [
        [{}, pool.maxAgents],
      ]),
      family('agent_orchestrator_agents_busy', 'gauge', 'Instances working on a task.', [[{}, pool.busy]]),
      family('agent_orchestrator_pool_queued', 'gauge', 'Tasks waiting for an agent instance.', [[{}, pool.queued]]),
      family(
        'agent_orchestrator_agent_failures',
        'gauge',
        'Failed tasks of the live instances, by type.',
        types.map((type) => [{ type }, pool.agents.filter((a) => a.type === type).reduce((n, a) => n + a.failures, 0)]),
      ),
      family(
        'agent_orchestrator_model_tokens_total',
        'counter',
        'Model tokens by agent type and direction, as the providers reported them.',
        usage.flatMap(([type, u]): Sample[] => [
          [{ type, direction: 'input' }, u.inputTokens],
          [{ type, direction: 'output' }, u.outputTokens],
        ]),
      ),
      family(
        'agent_orchestrator_model_cost_usd_total',
        'counter',
        "Model cost in USD by agent type (from the type's pricing).",
        usage.map(([type, u]) => [{ type }, u.costUsd]),
      ),
      family(
        'agent_orchestrator_model_calls_total',
        'counter',
        'Model calls by agent type.',
        usage.map(([type, u]) => [{ type }, u.modelCalls]),
      ),
      family(
        'agent_orchestrator_plans',
        'gauge',
        'Plans by status (Temporal visibility).',
        PLAN_STATUSES.filter((s) => plans[s] !== undefined).map((status) => [{ status }, plans[status] as number]),
      ),
    ].join('\n\n') + '\n'
  );
}
