/** Small helpers shared by the benchmark modules: logging, formatting, percentiles, bounded concurrency. */
const started = Date.now();

export const log = (msg: string): void =>
  console.log(`[bench +${((Date.now() - started) / 1_000).toFixed(1)}s] ${msg}`);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A number for a table or a sentence; "–" for a missing or non-finite one. */
export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** `x` as a percentage, "–" when unknown. */
export const percent = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? '–' : `${fmt(x * 100)} %`;

/** Nearest-rank percentile (p99 of 50 samples is the largest one); NaN for no samples. */
export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const median = (xs: number[]): number => pct(xs, 50);

export const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);

/** `fn` over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Undoes what was set up, newest first; each step runs once even if unwinding is asked for twice (e.g. on SIGINT). */
export class Cleanups {
  private readonly steps: { what: string; fn: () => Promise<void> }[] = [];

  add(what: string, fn: () => Promise<void>): void {
    this.steps.push({ what, fn });
  }

  get size(): number {
    return this.steps.length;
  }

  /** Runs and drops the steps added after the first `keep` ones; each is given 30 s. */
  async unwind(keep = 0): Promise<void> {
    while (this.steps.length > keep) {
      const step = this.steps.pop();
      if (!step) break;
      const timeout = new Promise<void>((r) => setTimeout(r, 30_000).unref());
      const done = step.fn().catch((err: unknown) => log(`cleanup of ${step.what} failed: ${(err as Error).message}`));
      await Promise.race([done, timeout]);
    }
  }
}
