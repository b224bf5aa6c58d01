import { FINAL_TASK_STATES, type TaskState } from '../../shared/task';
import { type MailLogEntry } from '../../shared/agent-mail';
import { type PlanView } from '../../shared/plan';
import { flattenTasks } from '../plans/tasks';

/** One event of a plan's stream, before the feed numbers it (docs/events.md lists them). */
export interface PlanEvent {
  event: 'task' | 'revision' | 'message' | 'input' | 'usage' | 'plan' | 'text' | 'end';
  data: unknown;
}

interface TaskSeen {
  state: TaskState;
  attempts: number;
  assignments: number;
  /** Verdicts on its outputs already told. */
  revisions: number;
  /** Transitions (`at|state`) already told, so each lifecycle step is told once, in order. */
  transitions: Set<string>;
}

/** What the stream has told so far; the next view is diffed against it. */
export interface PlanSeen {
  tasks: Map<string, TaskSeen>;
  messages: Map<string, string>;
  usage?: string;
  plan?: string;
}

const pathOf = (path: string[]) => (path.length > 1 ? { path } : {});
const messageKey = (m: MailLogEntry) => `${m.state}|${m.deliveries.map((d) => `${d.taskId}:${d.state}`).join(',')}`;
const planKey = (v: PlanView) => JSON.stringify({ status: v.status, progress: v.progress, paused: v.paused });

/** The baseline: everything in this view counts as told (the subscriber gets it as the `snapshot`). */
export function seenOf(view: PlanView | undefined, messages: MailLogEntry[]): PlanSeen {
  const seen: PlanSeen = { tasks: new Map(), messages: new Map(messages.map((m) => [m.id, messageKey(m)])) };
  if (!view) return seen;
  for (const { task } of flattenTasks(view.tasks)) {
    seen.tasks.set(task.id, {
      state: task.state,
      attempts: task.attempts,
      assignments: task.assignments.length,
      revisions: task.revisions?.length ?? 0,
      transitions: new Set((task.transitions ?? []).map((t) => `${t.at}|${t.state}`)),
    });
  }
  if (view.usage) seen.usage = JSON.stringify(view.usage.total);
  seen.plan = planKey(view);
  return seen;
}

/**
 * The events between what was told (`seen`, updated in place) and this view: per task every lifecycle state in order
 * (from the task workflow's transitions when the view has them, so short steps between two polls are not lost), new
 * attempts and reassignments, human-input requests opened and answered; new or changed bus messages; usage; the plan's
 * status and progress.
 */
export function diffPlan(seen: PlanSeen, view: PlanView, messages: MailLogEntry[]): PlanEvent[] {
  const events: PlanEvent[] = [];
  for (const { task, path } of flattenTasks(view.tasks)) {
    const before = seen.tasks.get(task.id);
    const told: TaskSeen = before ?? {
      state: task.state,
      attempts: 0,
      assignments: 0,
      revisions: 0,
      transitions: new Set(),
    };
    let state: TaskState | undefined = before?.state;
    const reassigned = before !== undefined && before.assignments > 0 && task.assignments.length > before.assignments;
    const base = {
      taskId: task.id,
      ...pathOf(path),
      agentType: task.agentType,
    };
    const tell = (next: TaskState, agentId = task.agentId) => {
      events.push({
        event: 'task',
        data: {
          ...base,
          state: next,
          ...(state !== undefined ? { previousState: state } : {}),
          ...(task.attempts > 0 ? { attempt: task.attempts } : {}),
          ...(agentId ? { agentId } : {}),
          ...(next === 'failed' && task.error ? { error: task.error } : {}),
          ...(reassigned ? { reassigned: true } : {}),
        },
      });
      if (state === 'waiting' && next !== 'waiting')
        events.push({ event: 'input', data: { taskId: task.id, ...pathOf(path), answered: true, state: next } });
      if (next === 'waiting' && state !== 'waiting')
        events.push({
          event: 'input',
          data: { taskId: task.id, ...pathOf(path), agentId: task.agentId, agentType: task.agentType, ...task.input },
        });
      state = next;
    };
    for (const t of task.transitions ?? []) {
      const key = `${t.at}|${t.state}`;
      if (told.transitions.has(key)) continue;
      told.transitions.add(key);
      if (t.state !== state) tell(t.state, t.agentId);
    }
    const told0 = events.length;
    if (task.state !== state) tell(task.state);
    const retried = before !== undefined && before.attempts > 0 && task.attempts > before.attempts;
    // A new attempt or a new agent in the same state, with nothing else to tell about this task.
    if (
      events.length === told0 &&
      state === task.state &&
      (retried || reassigned) &&
      !FINAL_TASK_STATES.includes(task.state)
    )
      tell(task.state);
    // Each verdict on its outputs once (a rejection sends the task back to executing: the reasons are here).
    for (const revision of (task.revisions ?? []).slice(told.revisions))
      events.push({ event: 'revision', data: { ...base, ...revision } });
    told.revisions = Math.max(told.revisions, task.revisions?.length ?? 0);
    told.state = task.state;
    told.attempts = task.attempts;
    told.assignments = task.assignments.length;
    seen.tasks.set(task.id, told);
  }
  for (const m of messages) {
    const key = messageKey(m);
    if (seen.messages.get(m.id) === key) continue;
    seen.messages.set(m.id, key);
    events.push({ event: 'message', data: m });
  }
  if (view.usage) {
    const key = JSON.stringify(view.usage.total);
    if (key !== seen.usage) {
      seen.usage = key;
      events.push({ event: 'usage', data: { total: view.usage.total, byTask: view.usage.byTask } });
    }
  }
  const plan = planKey(view);
  if (plan !== seen.plan) {
    seen.plan = plan;
    events.push({ event: 'plan', data: { status: view.status, progress: view.progress, paused: view.paused } });
  }
  return events;
}
