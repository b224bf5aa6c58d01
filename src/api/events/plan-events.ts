import type { Rpc } from '../temporal-rpc';
import type { Client } from '@temporalio/client';
import { FINAL_TASK_STATES, type TaskView } from '../../shared/task';
import { type PlanView } from '../../shared/plan';
import type { FeedSource, Observation } from './event-feed';
import { streamedText } from './model-text';
import { diffPlan, seenOf, type PlanEvent, type PlanSeen } from './plan-diff';
import type { PlanViews } from '../plans/plan-views';
import { flattenTasks } from '../plans/tasks';

/** At most this many running model calls are read per poll (a describe each). */
const MAX_TEXT_READS = 50;
/** At most this many finished tasks' steps are read per poll (a query each, answered by replaying a closed workflow). */
const MAX_CATCH_UP = 5;
/**
 * At most this many running tasks are asked for their live step per poll (a query each), in turn: a big plan's poll
 * costs a bounded number of queries (bench (h)); a task not asked this time keeps the step it was last seen in.
 */
export const MAX_LIVE_READS = 25;

export interface PlanEventDeps {
  plans: PlanViews;
  client: Client;
  /** Agent types that call a model (their steps may stream text); cached by the caller. */
  modelTypes: () => Promise<ReadonlySet<string>>;
  rpc: Rpc;
  /** A task's own view from its task workflow (transitions included), after it closed. */
  finalView: (planId: string, taskId: string) => Promise<TaskView>;
}

/** One plan, polled: its status view, messages and closing (PlanViews.watch), plus its running model calls' text. */
export class PlanEventSource implements FeedSource {
  private seen?: PlanSeen;
  private readonly texts = new Map<string, string>();
  /** Running tasks as last read from their own workflows, and where the next poll's turn starts. */
  private readonly lastLive = new Map<string, TaskView>();
  private cursor = 0;

  constructor(
    private readonly planId: string,
    private readonly deps: PlanEventDeps,
  ) {}

  async observe(): Promise<Observation> {
    const {
      closed,
      view: polled,
      messages,
    } = await this.deps.plans.watch(this.planId, (running) => this.turn(running));
    const view = polled && this.withLastLive(polled);
    // GET /v1/plans/:planId, plus the bus's messages so far (later ones come as `message` events).
    const snapshot = { ...(view ?? { planId: this.planId, status: closed }), messages };
    const events: PlanEvent[] = [];
    if (!this.seen) this.seen = seenOf(view, messages);
    else if (view) events.push(...diffPlan(this.seen, await this.withFinalSteps(view), messages));
    if (view && !closed) events.push(...(await this.textEvents(view)));
    if (closed) events.push({ event: 'end', data: { status: closed } });
    return { snapshot, events, done: closed !== undefined };
  }

  /** This poll's share of the running tasks, taking turns so each is read every few polls. */
  private turn(running: TaskView[]): TaskView[] {
    if (running.length <= MAX_LIVE_READS) return running;
    const start = this.cursor % running.length;
    this.cursor = start + MAX_LIVE_READS;
    return [...running.slice(start), ...running.slice(0, start)].slice(0, MAX_LIVE_READS);
  }

  /** Running tasks not read this poll keep the live view they were last read with (never a step back to "assigned"). */
  private withLastLive(view: PlanView): PlanView {
    const tasks = view.tasks.map((t) => {
      if (FINAL_TASK_STATES.includes(t.state)) {
        this.lastLive.delete(t.id);
        return t;
      }
      if (t.transitions) {
        this.lastLive.set(t.id, t);
        return t;
      }
      const last = this.lastLive.get(t.id);
      return last && t.state !== 'pending' ? { ...last, ...(t.dependsOn ? { dependsOn: t.dependsOn } : {}) } : t;
    });
    return { ...view, tasks };
  }

  /**
   * A top-level task that finished since the last poll shows in the plan's view without its steps: read them from its
   * closed task workflow (a query, answered by a worker replaying its short history), at most MAX_CATCH_UP per poll,
   * so the stream still tells every lifecycle state in order. Past the cap, the final state comes alone.
   */
  private async withFinalSteps(view: PlanView): Promise<PlanView> {
    const seen = this.seen;
    if (!seen) return view;
    const finished = view.tasks
      .filter((t) => {
        const before = seen.tasks.get(t.id)?.state;
        return FINAL_TASK_STATES.includes(t.state) && before !== undefined && !FINAL_TASK_STATES.includes(before);
      })
      .filter((t) => t.assignments.length > 0 && !t.transitions && !t.inline)
      .slice(0, MAX_CATCH_UP);
    if (finished.length === 0) return view;
    const live = await Promise.all(finished.map((t) => this.deps.finalView(this.planId, t.id).catch(() => undefined)));
    const byId = new Map(live.filter((t): t is TaskView => t !== undefined).map((t) => [t.id, t]));
    return {
      ...view,
      tasks: view.tasks.map((t) => (byId.has(t.id) ? { ...t, transitions: byId.get(t.id)?.transitions } : t)),
    };
  }

  private async textEvents(view: PlanView): Promise<PlanEvent[]> {
    const models = await this.deps.modelTypes().catch(() => new Set<string>());
    if (models.size === 0) return [];
    const running = flattenTasks(view.tasks)
      .filter(({ task }) => (task.state === 'reasoning' || task.state === 'executing') && models.has(task.agentType))
      .slice(0, MAX_TEXT_READS);
    const found = await Promise.all(
      running.map(async (at) => ({
        at,
        text: await streamedText(this.deps.client, this.planId, at.task.id, this.deps.rpc).catch(() => undefined),
      })),
    );
    const events: PlanEvent[] = [];
    for (const { at, text } of found) {
      if (!text || this.texts.get(at.task.id) === `${text.step}|${text.chars}|${text.text}`) continue;
      this.texts.set(at.task.id, `${text.step}|${text.chars}|${text.text}`);
      events.push({
        event: 'text',
        data: {
          taskId: at.task.id,
          ...(at.path.length > 1 ? { path: at.path } : {}),
          step: text.step,
          text: text.text,
          chars: text.chars,
        },
      });
    }
    return events;
  }
}
