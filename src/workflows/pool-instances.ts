/** An agent instance's own changes as the pool makes them: pure functions over its record, free of Temporal calls. */
import type { AgentInstance, AgentState } from '../shared/agent';
import type { AcquireRequest } from '../shared/pool';

/** The transitions an instance keeps (the pool carries the latest only when it packs them). */
const MAX_TRANSITIONS = 20;

/** A new instance, the `n`-th of its type, created and then idle. */
export function newInstance(type: string, n: number, at: string): AgentInstance {
  const inst: AgentInstance = {
    id: `${type}-${n}`,
    type,
    state: 'created',
    planId: null,
    taskId: null,
    holder: null,
    requestId: null,
    tasksCompleted: 0,
    failures: 0,
    consecutiveFailures: 0,
    createdAt: at,
    lastActiveAt: at,
    transitions: [{ state: 'created', at }],
    memory: [],
  };
  transitionTo(inst, 'idle', at);
  return inst;
}

/** The instance goes to `req`'s holder under `grantId`. */
export function assignTo(inst: AgentInstance, req: AcquireRequest, grantId: string, now: Date): void {
  const at = now.toISOString();
  inst.holder = req.holder;
  if (req.tenant !== undefined) inst.tenant = req.tenant;
  inst.requestId = grantId;
  inst.planId = req.planId;
  inst.taskId = req.taskId;
  inst.lastActiveAt = at;
  transitionTo(inst, 'assigned', at, req.taskId, req.planId);
}

export function transitionTo(
  inst: AgentInstance,
  state: AgentState,
  at: string,
  taskId?: string,
  planId?: string,
): void {
  inst.state = state;
  inst.transitions = [
    ...inst.transitions,
    { state, at, ...(taskId ? { taskId } : {}), ...(planId ? { planId } : {}) },
  ].slice(-MAX_TRANSITIONS);
}
