import type { TaskSpec } from '../shared/task';
import type { TaskState } from '../shared/task';
import type { Shortfall } from './agent-lease';

/** What the queue needs of a task record. */
export interface ReadyEntry {
  spec: TaskSpec;
  /** Position in the plan: ties of priority go to the earlier task. */
  index: number;
  state: TaskState;
}

/** The agent types a task may run on, best fit first. */
export const typesOf = (spec: TaskSpec): string[] =>
  spec.eligibleTypes.length > 0 ? spec.eligibleTypes : [spec.agentType];

const before = (a: ReadyEntry, b: ReadyEntry): boolean =>
  a.spec.priority > b.spec.priority || (a.spec.priority === b.spec.priority && a.index < b.index);

/** A binary heap ordered by priority, then plan order. */
class Heap<T extends ReadyEntry> {
  readonly items: T[] = [];

  push(x: T): void {
    const h = this.items;
    h.push(x);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i] as T, h[parent] as T)) break;
      [h[i], h[parent]] = [h[parent] as T, h[i] as T];
      i = parent;
    }
  }

  pop(): T | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as T, h[m] as T)) m = l;
        if (r < h.length && before(h[r] as T, h[m] as T)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as T, h[i] as T];
        i = m;
      }
    }
    return top;
  }

  /** The best entry still pending (entries of tasks that ended while queued are dropped here, lazily). */
  top(): T | undefined {
    while (this.items.length > 0 && this.items[0]?.state !== 'pending') this.pop();
    return this.items[0];
  }
}

/**
 * Tasks whose dependencies are met, waiting to start: one heap per set of eligible agent types, so a pass can start
 * the best task that an available agent fits and count, per set of types, how many agents are missing. A pass costs
 * O(log n) per launch, not a scan of the plan (a 10,000-task plan would otherwise spend its workflow tasks sorting).
 */
export class ReadyQueue<T extends ReadyEntry> {
  private readonly heaps = new Map<string, { types: string[]; heap: Heap<T> }>();

  push(entry: T): void {
    const types = typesOf(entry.spec);
    const key = types.join('|');
    let slot = this.heaps.get(key);
    if (!slot) this.heaps.set(key, (slot = { types, heap: new Heap<T>() }));
    slot.heap.push(entry);
  }

  hasReady(): boolean {
    for (const { heap } of this.heaps.values()) if (heap.top()) return true;
    return false;
  }

  /** Takes the best ready task among those `canStart` accepts (by its types); undefined when there is none. */
  pop(canStart: (types: string[]) => boolean = () => true): T | undefined {
    let best: { heap: Heap<T>; top: T } | undefined;
    for (const { types, heap } of this.heaps.values()) {
      const top = heap.top();
      if (top && (!best || before(top, best.top)) && canStart(types)) best = { heap, top };
    }
    return best?.heap.pop();
  }

  /**
   * How many of the ready tasks, per set of types, could start if they had an agent: `room` in all (what the plan's
   * maxConcurrency leaves), shared out by priority.
   */
  shortfalls(room: number): Shortfall[] {
    const slots = [...this.heaps.values()]
      .map((s) => ({ ...s, top: s.heap.top() }))
      .filter((s): s is typeof s & { top: T } => s.top !== undefined)
      .sort((a, b) => (before(a.top, b.top) ? -1 : 1));
    const out: Shortfall[] = [];
    for (const s of slots) {
      if (room <= 0) break;
      let count = 0;
      for (const e of s.heap.items) if (e.state === 'pending' && ++count >= room) break;
      room -= count;
      out.push({ types: s.types, count, taskId: s.top.spec.id, priority: s.top.spec.priority });
    }
    return out;
  }
}
