import type { AgentService } from '../agent-service';
import type { FeedSource, Observation } from './event-feed';

type PoolAnswer = Awaited<ReturnType<AgentService['agents']>>;
type AgentRow = PoolAnswer['agents'][number];

interface AgentSeen {
  type: string;
  state: string;
  taskId: string | null;
  planId: string | null;
}

/** Busy, idle and queued counts, in total and by agent type: the `pool` event. */
export function poolCounts(view: PoolAnswer) {
  const byType: Record<string, { busy: number; idle: number }> = {};
  let idle = 0;
  for (const a of view.agents) {
    const t = (byType[a.type] ??= { busy: 0, idle: 0 });
    if (a.state === 'idle') {
      idle++;
      t.idle++;
    } else if (a.state !== 'terminated' && a.state !== 'created') t.busy++;
  }
  return { busy: view.busy, idle, queued: view.queued, maxAgents: view.maxAgents, byType };
}

const rowOf = (a: AgentRow): AgentSeen => ({ type: a.type, state: a.state, taskId: a.taskId, planId: a.planId });

/**
 * The agent pool, polled (the same view as GET /v1/agents): an `agent` event when an instance appears, changes state or
 * task, or goes (`gone: true`); a `pool` event when the counts change.
 */
export class PoolEventSource implements FeedSource {
  private agents?: Map<string, AgentSeen>;
  private counts?: string;

  constructor(private readonly read: () => Promise<PoolAnswer>) {}

  async observe(): Promise<Observation> {
    const view = await this.read();
    const counts = poolCounts(view);
    const now = new Map(view.agents.map((a) => [a.id, rowOf(a)]));
    const events: Observation['events'] = [];
    if (this.agents) {
      for (const [agentId, a] of now) {
        const before = this.agents.get(agentId);
        if (before && before.state === a.state && before.taskId === a.taskId) continue;
        events.push({
          event: 'agent',
          data: {
            agentId,
            type: a.type,
            state: a.state,
            ...(before ? { previousState: before.state } : {}),
            ...(a.taskId ? { taskId: a.taskId } : {}),
            ...(a.planId ? { planId: a.planId } : {}),
          },
        });
      }
      for (const [agentId, before] of this.agents) {
        if (now.has(agentId)) continue;
        events.push({
          event: 'agent',
          data: { agentId, type: before.type, state: 'terminated', previousState: before.state, gone: true },
        });
      }
      const key = JSON.stringify(counts);
      if (key !== this.counts) events.push({ event: 'pool', data: counts });
    }
    this.agents = now;
    this.counts = JSON.stringify(counts);
    return { snapshot: view, events };
  }
}
