import { AGENT_STATES } from '../../src/shared/agent';
import type { AgentRow, AgentState, PoolSnapshot } from './types';

const isAgentState = (s: unknown): s is AgentState => (AGENT_STATES as readonly unknown[]).includes(s);

/** The agent pool as the page knows it: the snapshot, then `agent` and `pool` events (or polls) applied. */
export class PoolModel {
  readonly agents = new Map<string, AgentRow>();
  maxAgents = 0;
  busy = 0;
  queued = 0;
  idle?: number;
  peakBusy?: number;
  loaded = false;
  version = 0;

  applySnapshot(view: PoolSnapshot): void {
    this.loaded = true;
    this.maxAgents = view.maxAgents;
    this.busy = view.busy;
    this.queued = view.queued;
    this.peakBusy = view.peakBusy;
    this.idle = undefined;
    this.agents.clear();
    for (const a of view.agents) this.agents.set(a.id, a);
    this.version++;
  }

  /** Applies one event of GET /v1/agents/events; unknown events are ignored. */
  apply(event: string, data: unknown): void {
    const d = (data ?? {}) as Record<string, unknown>;
    if (event === 'snapshot') return this.applySnapshot(data as PoolSnapshot);
    if (event === 'agent') {
      const id = String(d.agentId ?? d.id);
      const state = isAgentState(d.state) ? d.state : undefined;
      if (d.removed === true || d.gone === true || state === undefined) this.agents.delete(id);
      else {
        const was = this.agents.get(id);
        this.agents.set(id, {
          ...(was ?? { planId: null, taskId: null }),
          id,
          type: typeof d.type === 'string' ? d.type : (was?.type ?? '?'),
          state,
          planId: typeof d.planId === 'string' ? d.planId : null,
          taskId: typeof d.taskId === 'string' ? d.taskId : null,
        });
      }
    } else if (event === 'pool') {
      if (typeof d.busy === 'number') this.busy = d.busy;
      if (typeof d.queued === 'number') this.queued = d.queued;
      if (typeof d.maxAgents === 'number') this.maxAgents = d.maxAgents;
      if (typeof d.idle === 'number') this.idle = d.idle;
    } else return;
    this.version++;
  }

  /** Instances by type, then by lifecycle state. */
  byType(): Map<string, Map<string, number>> {
    const out = new Map<string, Map<string, number>>();
    for (const a of this.agents.values()) {
      const states = out.get(a.type) ?? new Map<string, number>();
      states.set(a.state, (states.get(a.state) ?? 0) + 1);
      out.set(a.type, states);
    }
    return out;
  }
}
