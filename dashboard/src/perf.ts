/**
 * What the page measures about itself (docs/dashboard.md, "Big plans"): when the plan graph first drew, how long its
 * layout took, and the frame budget while updates stream (requestAnimationFrame deltas and long tasks). The browser
 * test reads `window.__perf`.
 */
export interface FrameStats {
  frames: number;
  p50: number;
  p95: number;
  max: number;
  /** Frames that took longer than 50 ms (a missed beat the eye can see). */
  over50: number;
  longTasks: number;
  longTaskMs: number;
  longTaskMax: number;
}

export interface GraphFigures {
  nodes: number;
  edges: number;
  /** ms since navigation start when the graph of the plan first drew. */
  firstRenderMs?: number;
  /** ms the first snapshot took to arrive, since navigation start. */
  snapshotMs?: number;
  /** ms of the last ELK layout (in its worker). */
  layoutMs?: number;
  layouts: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
const round = (n: number): number => Math.round(n * 10) / 10;

class Perf {
  graph: GraphFigures = { nodes: 0, edges: 0, layouts: 0 };
  private deltas: number[] = [];
  private long: number[] = [];
  private running = false;
  private observer?: PerformanceObserver;

  startFrames(): void {
    this.deltas = [];
    this.long = [];
    this.running = true;
    let last = performance.now();
    const frame = (now: number) => {
      if (!this.running) return;
      this.deltas.push(now - last);
      last = now;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    try {
      this.observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) this.long.push(e.duration);
      });
      this.observer.observe({ type: 'longtask' });
    } catch {
      // no Long Tasks API in this browser: frame deltas only
    }
  }

  stopFrames(): FrameStats {
    this.running = false;
    this.observer?.disconnect();
    const sorted = [...this.deltas].sort((a, b) => a - b);
    return {
      frames: sorted.length,
      p50: round(quantile(sorted, 0.5)),
      p95: round(quantile(sorted, 0.95)),
      max: round(sorted[sorted.length - 1] ?? 0),
      over50: sorted.filter((d) => d > 50).length,
      longTasks: this.long.length,
      longTaskMs: round(this.long.reduce((a, b) => a + b, 0)),
      longTaskMax: round(Math.max(0, ...this.long)),
    };
  }
}

export const perf = new Perf();
(window as unknown as { __perf: Perf }).__perf = perf;
