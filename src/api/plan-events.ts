import type { Client } from '@temporalio/client';
import type { PlanView } from '../shared/status';
import type { FeedSource, Observation } from './event-feed';
import { streamedText } from './model-text';
import { diffPlan, seenOf, type PlanEvent, type PlanSeen } from './plan-diff';
import type { PlanService } from './plan-service';
import { flattenTasks } from './plan-tasks';

/** At most this many running model calls are read per poll (a describe each). */
const MAX_TEXT_READS = 50;

export interface PlanEventDeps {
  plans: PlanService;
  client: Client;
  /** Agent types that call a model (their steps may stream text); cached by the caller. */
  modelTypes: () => Promise<ReadonlySet<string>>;
  rpc: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** One plan, polled: its status view, messages and closing (PlanService.watch), plus its running model calls' text. */
export class PlanEventSource implements FeedSource {
  private seen?: PlanSeen;
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly planId: string,
    private readonly deps: PlanEventDeps,
  ) {}

  async observe(): Promise<Observation> {
    const { closed, view, messages } = await this.deps.plans.watch(this.planId);
    const snapshot = view ?? { planId: this.planId, status: closed };
    const events: PlanEvent[] = [];
    if (!this.seen) this.seen = seenOf(view, messages);
    else if (view) events.push(...diffPlan(this.seen, view, messages));
    if (view && !closed) events.push(...(await this.textEvents(view)));
    if (closed) events.push({ event: 'end', data: { status: closed } });
    return { snapshot, events, done: closed !== undefined };
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
