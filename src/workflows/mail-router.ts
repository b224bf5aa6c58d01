import { getExternalWorkflowHandle } from '@temporalio/workflow';
import { taskWorkflowId } from '../shared/ids';
import type { AgentMail, DeliveryState, MailLogEntry } from '../shared/agent-mail';
import type { DagExecutor } from './dag';
import { deliverMessageSignal } from './messages';

type Delivery = MailLogEntry['deliveries'][number];

/** Messages a plan's log carries across continue-as-new (besides those still waiting for their task). */
export const MAIL_LOG_KEPT = 1_000;

export interface RouterSnapshot {
  log: MailLogEntry[];
  /** `recipient`: a sub-agent the message waits for at `taskId`, its coordinator (absent: the task itself). */
  held: { taskId: string; messageId: string; recipient?: string }[];
}

/**
 * The plan's message bus. Messages arrive as signals (so they are in history and replay), are de-duplicated by id,
 * and go to the recipient task workflow as a signal once it runs; a message for a task that has not started waits
 * for it, one for a finished task is undeliverable. Deterministic.
 */
export class MessageRouter {
  private readonly log: MailLogEntry[] = [];
  private readonly seen = new Set<string>();
  private readonly held = new Map<string, { message: AgentMail; delivery: Delivery; entry: MailLogEntry }[]>();

  constructor(
    private readonly planId: string,
    private readonly dag: () => DagExecutor,
    carried?: RouterSnapshot,
  ) {
    for (const entry of carried?.log ?? []) {
      this.log.push(entry);
      this.seen.add(entry.id);
    }
    for (const { taskId, messageId, recipient } of carried?.held ?? []) {
      const entry = this.log.find((e) => e.id === messageId);
      const delivery = entry?.deliveries.find((d) => d.taskId === (recipient ?? taskId) && d.state === 'pending');
      if (!entry || !delivery) continue;
      const { state: _s, deliveries: _d, reason: _r, ...message } = entry;
      this.held.set(taskId, [...(this.held.get(taskId) ?? []), { message, delivery, entry }]);
    }
  }

  /**
   * The log and the messages still waiting for their task, for a continued-as-new run. The log carried is bounded: the
   * last MAIL_LOG_KEPT messages and every one still held (large bodies are claim checks, so each entry is small), so
   * a plan's messages cannot outgrow what continue-as-new can carry; de-duplication by id holds over those.
   */
  snapshot(): RouterSnapshot {
    const recent = this.log.slice(-MAIL_LOG_KEPT);
    const kept = new Set(recent);
    const waiting = [...this.held.values()].flatMap((list) => list.map((h) => h.entry)).filter((e) => !kept.has(e));
    return {
      log: [...new Set(waiting)].concat(recent),
      held: [...this.held.entries()].flatMap(([taskId, list]) =>
        list.map((h) => ({
          taskId,
          messageId: h.message.id,
          ...(h.delivery.taskId !== taskId ? { recipient: h.delivery.taskId } : {}),
        })),
      ),
    };
  }

  entries(): MailLogEntry[] {
    return this.log;
  }

  route(message: AgentMail): void {
    if (this.seen.has(message.id)) return;
    this.seen.add(message.id);
    const entry: MailLogEntry = { ...message, state: 'pending', deliveries: [] };
    this.log.push(entry);
    const dag = this.dag();
    let targets: string[];
    if (message.to === '*') {
      const senderTask = dag.has(message.from) ? message.from : dag.taskOfAgent(message.from);
      targets = dag.runningTaskIds().filter((t) => t !== senderTask);
      if (targets.length === 0) entry.reason = 'no running agent to broadcast to';
    } else {
      const target = dag.has(message.to) ? message.to : dag.taskOfAgent(message.to);
      // A sub-agent's message goes to the coordinator above it, which holds it until the sub-agent starts.
      const above = target ? undefined : dag.subtreeOf(message.to);
      targets = target ? [target] : above ? [above] : [];
      if (!target && !above) entry.reason = `no task or agent "${message.to}" in this plan`;
      if (above) {
        this.deliver(entry, message, above, message.to);
        targets = [];
      }
    }
    for (const taskId of targets) this.deliver(entry, message, taskId);
    this.settle(entry);
  }

  /** Messages held for a task that is starting now: they become its initial inbox. */
  takeInbox(taskId: string): AgentMail[] {
    const held = (this.held.get(taskId) ?? []).filter((h) => h.delivery.state === 'pending');
    this.held.delete(taskId);
    const now = new Date().toISOString();
    for (const h of held) {
      h.delivery.state = 'delivered';
      h.delivery.at = now;
      this.settle(h.entry);
    }
    return held.map((h) => h.message);
  }

  /** Called once a task's workflow runs: whatever arrived between its launch and now is signalled to it. */
  flush(taskId: string): void {
    const held = this.held.get(taskId) ?? [];
    this.held.delete(taskId);
    for (const h of held) this.signal(h.entry, h.message, h.delivery, taskId);
  }

  /**
   * The task ended: messages still held for it never reached it (it ran inline, with no workflow to signal, or it
   * ended before its workflow started).
   */
  ended(taskId: string): void {
    for (const h of this.held.get(taskId) ?? []) {
      h.delivery.state = 'undeliverable';
      h.entry.reason ??= `task "${h.delivery.taskId}" ended before the message reached it`;
      this.settle(h.entry);
    }
    this.held.delete(taskId);
  }

  /** At the end of the plan, held messages whose task never started are undeliverable. */
  closeUndelivered(): void {
    for (const list of this.held.values()) {
      for (const h of list) {
        h.delivery.state = 'undeliverable';
        h.entry.reason ??= `task "${h.delivery.taskId}" never started`;
        this.settle(h.entry);
      }
    }
    this.held.clear();
  }

  /** Hands `message` to task `taskId` (the recipient, or the coordinator above a sub-agent recipient). */
  private deliver(entry: MailLogEntry, message: AgentMail, taskId: string, recipient = taskId): void {
    const delivery: Delivery = { taskId: recipient, state: 'pending' };
    entry.deliveries.push(delivery);
    const dag = this.dag();
    const state = dag.stateOf(taskId);
    if (state === 'pending' || (!dag.isStarted(taskId) && dag.runningTaskIds().includes(taskId))) {
      this.held.set(taskId, [...(this.held.get(taskId) ?? []), { message, delivery, entry }]);
    } else if (dag.isStarted(taskId)) {
      this.signal(entry, message, delivery, taskId);
    } else {
      delivery.state = 'undeliverable';
      entry.reason ??= `task "${taskId}" already ended ${state}`;
    }
  }

  private signal(entry: MailLogEntry, message: AgentMail, delivery: Delivery, taskId: string): void {
    getExternalWorkflowHandle(taskWorkflowId(this.planId, taskId))
      .signal(deliverMessageSignal, message)
      .then(
        () => {
          delivery.state = 'delivered';
          delivery.at = new Date().toISOString();
        },
        () => {
          delivery.state = 'undeliverable';
          entry.reason ??= `task "${taskId}" ended before the message reached it`;
        },
      )
      .finally(() => this.settle(entry));
  }

  private settle(entry: MailLogEntry): void {
    const states = entry.deliveries.map((d) => d.state);
    const state: DeliveryState = states.includes('pending')
      ? 'pending'
      : states.includes('delivered')
        ? 'delivered'
        : 'undeliverable';
    entry.state = state;
  }
}
