import type {
  MailLogEntry,
  PlanLinks,
  PlanProgress,
  PlanStatus,
  PlanStatusView,
  TaskError,
  TaskView,
  Usage,
} from './types';

/** One task at any depth, as the graph and the lists show it. */
export interface TaskNode {
  id: string;
  /** The coordinator whose sub-agent this is. */
  parent?: string;
  path: string[];
  state: string;
  agentId?: string;
  agentType?: string;
  attempts: number;
  /** Sibling tasks it waits for: the graph's edges. */
  dependsOn: string[];
  error?: TaskError;
  reason?: string;
  usage?: Usage;
  /** A rerun reused its output: it did not run in this plan; `reusedFrom` is the plan that ran it. */
  reusedFrom?: string;
}

export interface InputRequest {
  taskId: string;
  path?: string[];
  /** Whatever the API says about the request (prompt, kind, timeout...). */
  details: Record<string, unknown>;
}

export interface StreamedText {
  step?: string;
  text: string;
}

const FINAL = new Set(['completed', 'failed', 'skipped', 'cancelled']);
export const isFinalState = (state: string): boolean => FINAL.has(state);

/**
 * A plan as the page knows it: the first snapshot, then every event of its stream (or every poll) applied to it. Plain
 * mutable state: views read it when they render; `structure` counts changes of nodes and edges (the graph lays out
 * again), `changed` holds the tasks whose state changed since the graph last drew them.
 */
export class PlanModel {
  planId: string;
  name?: string;
  mode?: string;
  status: PlanStatus | string = 'running';
  paused = false;
  progress?: PlanProgress;
  usage?: Usage;
  usageByTask: Record<string, Usage> = {};
  links?: PlanLinks;
  reason?: string;
  /** The plan this one was forked from (a rerun: POST /v1/plans/:planId/rerun). */
  rerunOf?: string;
  ended = false;
  loaded = false;
  readonly tasks = new Map<string, TaskNode>();
  readonly messages = new Map<string, MailLogEntry>();
  readonly inputs = new Map<string, InputRequest>();
  readonly texts = new Map<string, StreamedText>();
  structure = 0;
  version = 0;
  private readonly changed = new Set<string>();

  constructor(planId: string) {
    this.planId = planId;
  }

  /** The ids whose state changed since the last call. */
  drainChanged(): string[] {
    const ids = [...this.changed];
    this.changed.clear();
    return ids;
  }

  applySnapshot(view: PlanStatusView): void {
    this.loaded = true;
    this.name = view.name;
    this.mode = view.mode;
    this.status = view.status;
    this.paused = view.paused;
    this.progress = view.progress;
    this.reason = view.reason;
    this.rerunOf = view.rerunOf;
    if (view.links) this.links = view.links;
    if (view.usage) {
      this.usage = view.usage.total;
      this.usageByTask = view.usage.byTask ?? {};
    }
    const visit = (tasks: TaskView[], above: string[]) => {
      for (const t of tasks) {
        const path = [...above, t.id];
        this.upsert(t.id, path, {
          state: t.state,
          agentType: t.agentType,
          attempts: t.attempts,
          ...(t.agentId ? { agentId: t.agentId } : {}),
          ...(t.error ? { error: t.error } : {}),
          ...(t.reason ? { reason: t.reason } : {}),
          ...(t.usage ? { usage: t.usage } : {}),
          ...(t.dependsOn ? { dependsOn: t.dependsOn } : {}),
          ...(t.reused && t.reusedFrom ? { reusedFrom: t.reusedFrom } : {}),
        });
        if (t.state === 'waiting' && t.input)
          this.inputs.set(t.id, { taskId: t.id, path, details: { ...t.input } as Record<string, unknown> });
        visit(t.subtasks ?? [], path);
      }
    };
    visit(view.tasks, []);
    if (view.status !== 'running') this.ended = true;
    this.version++;
  }

  /** Applies one event of GET /v1/plans/:planId/events; unknown events are ignored. */
  apply(event: string, data: unknown): void {
    const d = (data ?? {}) as Record<string, unknown>;
    switch (event) {
      case 'snapshot': {
        // A stream's snapshot (its first event, and the first after a reconnect that could not resume) carries the
        // bus's messages so far: the `message` events missed while disconnected are in it.
        const { messages } = data as { messages?: MailLogEntry[] };
        if (Array.isArray(messages)) this.applyMessages(messages);
        this.applySnapshot(data as PlanStatusView);
        return;
      }
      case 'task': {
        const taskId = String(d.taskId);
        const path = Array.isArray(d.path) ? (d.path as string[]) : undefined;
        this.upsert(taskId, path, {
          ...(typeof d.state === 'string' ? { state: d.state } : {}),
          ...(typeof d.attempt === 'number' ? { attempts: d.attempt } : {}),
          ...(typeof d.attempts === 'number' ? { attempts: d.attempts } : {}),
          ...(typeof d.agentId === 'string' ? { agentId: d.agentId } : {}),
          ...(typeof d.agentType === 'string' ? { agentType: d.agentType } : {}),
          ...(d.error ? { error: d.error as TaskError } : {}),
        });
        break;
      }
      case 'plan':
        if (typeof d.status === 'string') this.status = d.status;
        if (d.progress) this.progress = d.progress as PlanProgress;
        if (typeof d.paused === 'boolean') this.paused = d.paused;
        break;
      case 'usage': {
        const total = d.total as Usage | undefined;
        if (total) this.usage = total;
        if (d.byTask) this.usageByTask = { ...this.usageByTask, ...(d.byTask as Record<string, Usage>) };
        break;
      }
      case 'message': {
        const m = data as MailLogEntry;
        if (m && typeof m.id === 'string') this.messages.set(m.id, m);
        break;
      }
      case 'input': {
        const taskId = String(d.taskId);
        if (d.answered) this.inputs.delete(taskId);
        else
          this.inputs.set(taskId, {
            taskId,
            ...(Array.isArray(d.path) ? { path: d.path as string[] } : {}),
            details: d,
          });
        break;
      }
      case 'text':
        this.texts.set(String(d.taskId), {
          text: typeof d.text === 'string' ? d.text : '',
          ...(typeof d.step === 'string' ? { step: d.step } : {}),
        });
        break;
      case 'end':
        if (typeof d.status === 'string') this.status = d.status;
        this.ended = true;
        break;
      default:
        return;
    }
    this.version++;
  }

  /** Messages of the bus (GET /v1/plans/:planId/messages), replacing what is known of each. */
  applyMessages(messages: MailLogEntry[]): void {
    for (const m of messages) this.messages.set(m.id, m);
    this.version++;
  }

  /** Tasks waiting for a human, whether an `input` event or only their state said so. */
  waiting(): InputRequest[] {
    return [...this.inputs.values()];
  }

  messagesOf(task: TaskNode): MailLogEntry[] {
    const me = new Set([task.id, ...(task.agentId ? [task.agentId] : [])]);
    return [...this.messages.values()].filter(
      (m) => me.has(m.from) || me.has(m.to) || (m.to === '*' && m.deliveries?.some((d) => d.taskId === task.id)),
    );
  }

  private upsert(id: string, path: string[] | undefined, fields: Partial<TaskNode>): void {
    let node = this.tasks.get(id);
    if (!node) {
      const where = path ?? [id];
      node = {
        id,
        path: where,
        state: 'pending',
        attempts: 0,
        dependsOn: [],
        ...(where.length > 1 ? { parent: where[where.length - 2] } : {}),
      };
      this.tasks.set(id, node);
      this.structure++;
      this.changed.add(id);
    } else if (path && path.length > 1 && !node.parent) {
      node.parent = path[path.length - 2];
      node.path = path;
      this.structure++;
    }
    if (fields.dependsOn && fields.dependsOn.join() !== node.dependsOn.join()) this.structure++;
    if (fields.state !== undefined && fields.state !== node.state) this.changed.add(id);
    Object.assign(node, fields);
    // A task in `waiting` waits for a human: listed even when no `input` event said so (polling).
    if (node.state === 'waiting') {
      if (!this.inputs.has(id)) this.inputs.set(id, { taskId: id, path: node.path, details: {} });
    } else this.inputs.delete(id);
  }
}
