/**
 * Measure (j), fair share between tenants (docs/security.md, "Fair share"): tenant A submits a big plan, then tenant B
 * a small one; how long B waits, and what A's throughput becomes, with fair share off and on. Each mode gets a tuned
 * rig of its own: off is FAIR_SHARE=false on a server without task queue fairness; on is FAIR_SHARE=true on a server
 * with `matching.enableFairness`.
 */
import type { PayloadWarnings } from './rig';
import { startRig } from './rig';
import { log, sleep, type Cleanups } from './util';

export interface FairOptions {
  /** Tasks of A's plan and of B's. */
  aTasks: number;
  bTasks: number;
  /** Each task's simulated latency: long enough that A's plan queues for agents. */
  latencyMs: number;
  /** How long after A's submission B submits (A's requests are then queued in the pool). */
  bAfterMs: number;
}

export interface FairRun {
  mode: 'off' | 'on';
  /** B: submission to completed result. */
  bMs: number;
  /** A: submission to completed result, and its tasks a second. */
  aMs: number;
  aTasksPerSec: number;
  ok: boolean;
  error?: string;
}

export interface FairResults {
  opts: FairOptions;
  runs: FairRun[];
}

const KEYS = {
  a: 'bench-tenant-a-key-0123456789abcdef',
  b: 'bench-tenant-b-key-0123456789abcdef',
};

async function submitAndWait(base: string, key: string, plan: unknown, deadlineMs: number): Promise<number> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const started = performance.now();
  const res = await fetch(`${base}/v1/plans`, { method: 'POST', headers, body: JSON.stringify(plan) });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  const { planId } = (await res.json()) as { planId: string };
  while (performance.now() - started < deadlineMs) {
    const r = await fetch(`${base}/v1/plans/${planId}/result?wait=30`, { headers });
    if (r.status === 200) {
      const body = (await r.json()) as { status: string };
      if (body.status !== 'completed') throw new Error(`plan ${planId} ended ${body.status}`);
      return performance.now() - started;
    }
  }
  throw new Error(`plan ${planId} did not complete within ${deadlineMs / 1_000} s`);
}

const planOf = (prefix: string, n: number, latencyMs: number) => ({
  maxConcurrency: Math.min(n, 200),
  tasks: Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    description: 'work',
    input: { simulate: { latencyMs } },
  })),
});

export async function measureFairShare(
  opts: FairOptions,
  bundle: Promise<{ code: string }>,
  warnings: PayloadWarnings,
  cleanups: Cleanups,
): Promise<FairResults> {
  const runs: FairRun[] = [];
  for (const mode of ['off', 'on'] as const) {
    const rig = await startRig('tuned', bundle, warnings, cleanups, {
      fairness: mode === 'on',
      env: {
        FAIR_SHARE: String(mode === 'on'),
        API_KEYS: JSON.stringify([
          { name: 'a', key: KEYS.a, scopes: ['read', 'submit'], tenant: 'tenant-a' },
          { name: 'b', key: KEYS.b, scopes: ['read', 'submit'], tenant: 'tenant-b' },
        ]),
        API_RATE_LIMIT_PER_MINUTE: '0',
      },
    });
    try {
      log(`[j] fair share ${mode}: A ${opts.aTasks} tasks, then B ${opts.bTasks}, ${opts.latencyMs} ms each ...`);
      const deadline = 600_000;
      const a = submitAndWait(rig.base, KEYS.a, planOf('a', opts.aTasks, opts.latencyMs), deadline);
      await sleep(opts.bAfterMs);
      const bMs = await submitAndWait(rig.base, KEYS.b, planOf('b', opts.bTasks, opts.latencyMs), deadline);
      const aMs = await a;
      runs.push({ mode, bMs, aMs, aTasksPerSec: opts.aTasks / (aMs / 1_000), ok: true });
      log(`[j] fair share ${mode}: B ${(bMs / 1_000).toFixed(1)} s, A ${(aMs / 1_000).toFixed(1)} s`);
    } catch (err) {
      runs.push({ mode, bMs: NaN, aMs: NaN, aTasksPerSec: NaN, ok: false, error: (err as Error).message });
    } finally {
      await rig.stop();
    }
  }
  return { opts, runs };
}

/** The report's lines for (j). */
export function fairReport(r: FairResults | undefined): string[] {
  if (!r) return [];
  const by = (m: 'off' | 'on') => r.runs.find((x) => x.mode === m);
  const off = by('off');
  const on = by('on');
  const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '—' : `${(ms / 1_000).toFixed(1)} s`);
  const tps = (x: FairRun | undefined) => (x && x.ok ? `${x.aTasksPerSec.toFixed(1)} tasks/s` : '—');
  const lines = [
    `**(j) fair share between tenants**: tenant A submits a ${r.opts.aTasks}-task plan, ${r.opts.bAfterMs} ms later tenant B a ${r.opts.bTasks}-task plan; every task an offline agent of ${r.opts.latencyMs} ms, maxConcurrency 200, MAX_AGENTS 100, tuned server.`,
    '',
    '| fair share | B: submitted → completed | A: submitted → completed | A throughput |',
    '| --- | --- | --- | --- |',
    `| off (FAIR_SHARE=false, no task queue fairness) | ${s(off?.bMs)} | ${s(off?.aMs)} | ${tps(off)} |`,
    `| on (FAIR_SHARE=true, matching.enableFairness) | ${s(on?.bMs)} | ${s(on?.aMs)} | ${tps(on)} |`,
    '',
  ];
  for (const x of r.runs) if (!x.ok) lines.push(`Note (j, ${x.mode}): ${x.error}`, '');
  return lines;
}
