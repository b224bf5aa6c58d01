import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolView } from '../shared/pool';
import { AGENT_STATES } from '../shared/agent';
import { PLAN_STATUSES, type PlanStatus } from '../shared/plan';

/**
 * The API's Prometheus registry: the pool and the plans (read at each scrape: agents by type and lifecycle state, the
 * queue, model tokens / cost / calls by agent type as counted by the pool since it started, plans by status from
 * Temporal visibility), the HTTP requests this API process served, its open event streams, and its process metrics.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  /** Observed by the request middleware (src/observability/http.ts). */
  readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests served by this API process, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly agents = this.gauge(
    'agent_orchestrator_agents',
    'Live agent instances by type and lifecycle state.',
    ['type', 'state'],
  );
  private readonly agentsMax = this.gauge('agent_orchestrator_agents_max', 'MAX_AGENTS: the cap on live instances.');
  private readonly agentsBusy = this.gauge('agent_orchestrator_agents_busy', 'Instances working on a task.');
  private readonly queued = this.gauge('agent_orchestrator_pool_queued', 'Tasks waiting for an agent instance.');
  private readonly failures = this.gauge(
    'agent_orchestrator_agent_failures',
    'Failed tasks of the live instances, by type.',
    ['type'],
  );
  private readonly tokens = this.counter(
    'agent_orchestrator_model_tokens_total',
    'Model tokens by agent type and direction, as the providers reported them.',
    ['type', 'direction'],
  );
  private readonly cost = this.counter(
    'agent_orchestrator_model_cost_usd_total',
    "Model cost in USD by agent type (from the type's pricing).",
    ['type'],
  );
  private readonly calls = this.counter('agent_orchestrator_model_calls_total', 'Model calls by agent type.', ['type']);
  private readonly plans = this.gauge('agent_orchestrator_plans', 'Plans by status (Temporal visibility).', ['status']);
  private readonly streams = this.gauge(
    'agent_orchestrator_event_streams',
    'Event streams (Server-Sent Events) this API process has open.',
  );
  private readonly feeds = this.gauge(
    'agent_orchestrator_event_feeds',
    'Plans (and the pool) this API process watches for its event streams, lingering ones included.',
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter(name: string, help: string, labelNames: string[]): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  /** Sets the pool and plan families to what the pool and visibility say now (they are not counted here). */
  update(
    pool: PoolView,
    plans: Partial<Record<PlanStatus, number>>,
    events: { feeds: number; subscribers: number },
  ): void {
    this.streams.set(events.subscribers);
    this.feeds.set(events.feeds);
    for (const m of [this.agents, this.failures, this.tokens, this.cost, this.calls, this.plans]) m.reset();
    const types = [...new Set(pool.agents.map((a) => a.type))].sort();
    for (const type of types) {
      for (const state of AGENT_STATES) this.agents.set({ type, state }, 0);
      this.failures.set({ type }, 0);
    }
    for (const a of pool.agents) {
      this.agents.inc({ type: a.type, state: a.state });
      this.failures.inc({ type: a.type }, a.failures);
    }
    this.agentsMax.set(pool.maxAgents);
    this.agentsBusy.set(pool.busy);
    this.queued.set(pool.queued);
    for (const [type, u] of Object.entries(pool.usageByType ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      this.tokens.inc({ type, direction: 'input' }, u.inputTokens);
      this.tokens.inc({ type, direction: 'output' }, u.outputTokens);
      this.cost.inc({ type }, u.costUsd);
      this.calls.inc({ type }, u.modelCalls);
    }
    for (const status of PLAN_STATUSES) {
      const n = plans[status];
      if (n !== undefined) this.plans.set({ status }, n);
    }
  }

  /** Prometheus text exposition of everything above. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
