/** The table, the analysis under it, and docs/benchmarks.md (newest run first, older runs kept below). */
import { subscribersCost, SUBSCRIBERS } from './events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { busyCores, cpuPerTask, cpuText } from './cpu';
import { CORES, ROOT, serverDescription, type Env } from './environment';
import { scaleProfile, type Profile, type TypeProfile } from './history';
import type { BusyWorkflow, PlanRun, VariantResults } from './measures';
import { HISTORY_LIMIT, HISTORY_WARN, MAX_AGENTS, TARGET, type Options, type Variant } from './options';
import type { PayloadWarnings } from './rig';
import type { SlowResults } from './slow-agents';
import { slowReport } from './slow-report';
import { fairReport, type FairResults } from './fair-share';
import { fmt, median, pct, percent, sum } from './util';

export interface Results {
  env: Env;
  opts: Options;
  /** In the order they ran. */
  variants: VariantResults[];
  warnings: PayloadWarnings;
  notes: string[];
  /** Measure (i), agents that wait, on a server of its own. */
  slow?: SlowResults;
  /** Measure (j), fair share between tenants, on servers of their own. */
  fair?: FairResults;
}

const DOC = join(ROOT, 'docs/benchmarks.md');
const MARKER = '<!-- Newest run first. `npm run bench` inserts its section below this line and keeps older ones. -->';

/** Where measure (i) runs. */
const SLOW_SETUP =
  'a tuned dev server of its own (' +
  serverDescription('tuned') +
  '); worker processes of their own; the mock provider in a process of its own; API, floor client and load generator in the bench process; all on 127.0.0.1';

const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

// ---------------------------------------------------------------------------------------------------------------------
// Derived figures

/** (b)/(c) throughput. */
const ratioBC = (v: VariantResults) => (v.b && v.c ? v.b.tasksPerSec / v.c.tasksPerSec : NaN);

/** History events per task of a plan run: every execution of the plan plus the pool's events while it ran. */
const eventsPerTask = (b: PlanRun | undefined) =>
  b && b.planEvents !== undefined && b.tasks > 0 ? (b.planEvents + (b.pool?.eventsInWindow ?? 0)) / b.tasks : NaN;

function gFigures(v: VariantResults) {
  const cpuB = v.b ? cpuPerTask(v.b.cpu, v.b.completed) : NaN;
  const cpuC = v.c ? cpuPerTask(v.c.cpu, v.c.tasks) : NaN;
  const evB = eventsPerTask(v.b);
  const evC = v.c ? v.c.profile.events / v.c.tasks : NaN;
  return { cpuB, cpuC, cpuRatio: cpuB / cpuC, evB, evC, evRatio: evB / evC };
}

function eVerdict(v: VariantResults, b: PlanRun | undefined) {
  if (!v.e) return undefined;
  const e = v.e;
  const perTask = e.completed > 0 ? e.wallMs / e.completed : NaN;
  const perTaskB = b && b.completed > 0 ? b.wallMs / b.completed : NaN;
  const slowdown = perTask / perTaskB;
  const overWarn = (e.plan?.maxHistory ?? 0) > HISTORY_WARN || (e.pool?.runs.maxHistory ?? 0) > HISTORY_WARN;
  return { ok: e.ok && !overWarn && slowdown <= TARGET.eSlowdown, perTask, slowdown, overWarn };
}

const fOverB = (v: VariantResults) => (v.f && v.b ? v.f.tasksPerSec / v.b.tasksPerSec : NaN);

// ---------------------------------------------------------------------------------------------------------------------
// The table: one column per server

interface RowSpec {
  key: string;
  measure: string;
  cell: (v: VariantResults) => string | undefined;
  target?: string;
  met?: (v: VariantResults) => boolean | undefined;
}

function rowSpecs(r: Results): RowSpec[] {
  const s = r.opts.sizes;
  const runs = r.variants.find((v) => v.a)?.a?.totalMs.length ?? s.runs;
  return [
    {
      key: 'a',
      measure: `one-task plan, HTTP submit → result (${runs} runs after ${s.warmup} warm-up)`,
      cell: (v) => v.a && `p50 **${fmt(median(v.a.totalMs), 1)} ms**, p99 ${fmt(pct(v.a.totalMs, 99), 1)} ms`,
      target: `p50 ≤ ${TARGET.aP50Ms} ms`,
      met: (v) => v.a && median(v.a.totalMs) <= TARGET.aP50Ms,
    },
    {
      key: 'b',
      measure: `${fmt(s.tasks)}-task parallel plan, maxConcurrency ${s.concurrency}, MAX_AGENTS ${MAX_AGENTS}`,
      cell: (v) => v.b && `${v.b.status}, ${fmt(v.b.wallMs / 1_000, 1)} s, **${fmt(v.b.tasksPerSec, 1)} tasks/s**`,
    },
    {
      key: 'c',
      measure: `bare Temporal: ${fmt(s.tasks)} × 3 lifecycle activities, ${s.concurrency} at a time, one workflow`,
      cell: (v) => v.c && `${fmt(v.c.wallMs / 1_000, 1)} s, **${fmt(v.c.tasksPerSec, 1)} tasks/s**`,
    },
    {
      key: 'b/c',
      measure: 'orchestrator throughput relative to bare Temporal',
      cell: (v) => (v.b && v.c ? `**${ratioBC(v).toFixed(2)}**` : undefined),
      target: `≥ ${TARGET.ratio}`,
      met: (v) => (v.b && v.c ? v.b.ok && ratioBC(v) >= TARGET.ratio : undefined),
    },
    {
      key: 'd',
      measure: `pool acquire → grant, ${s.rounds} sequential rounds; whole cycle with release`,
      cell: (v) =>
        v.d &&
        `p50 **${fmt(median(v.d.acquireMs))} ms**, p99 ${fmt(pct(v.d.acquireMs, 99))} ms; cycle p50 ${fmt(median(v.d.cycleMs))} ms, p99 ${fmt(pct(v.d.cycleMs, 99))} ms`,
      target: 'reported',
    },
    {
      key: 'e',
      measure: `${fmt(s.bigTasks)}-task parallel plan, maxConcurrency ${s.concurrency} (${r.opts.eVariant ?? '–'} server only)`,
      cell: (v) => {
        const e = v.e;
        const verdict = eVerdict(v, v.b);
        if (!e || !verdict) return undefined;
        return e.ok
          ? `completed in ${fmt(e.wallMs / 1_000, 1)} s, ${fmt(verdict.perTask, 2)} ms/task = **${verdict.slowdown.toFixed(2)}× (b)**; plan ${e.plan?.runs} run(s), longest ${fmt(e.plan?.maxHistory)} events; pool longest ${fmt(e.pool?.runs.maxHistory)}`
          : `**${e.status}**${e.error ? `: ${e.error.slice(0, 300)}` : ''} after ${fmt(e.wallMs / 1_000, 1)} s (${fmt(e.completed)} tasks)`;
      },
      target: `completes, every history < ${fmt(HISTORY_WARN)} events, ≤ ${TARGET.eSlowdown}× (b) per task`,
      met: (v) => eVerdict(v, v.b)?.ok,
    },
    {
      key: 'f',
      measure: `${fmt(s.plans)} plans of ${s.planTasks} sequential tasks, submitted at once over HTTP, each result long-polled`,
      cell: (v) => {
        const f = v.f;
        if (!f) return undefined;
        const done = f.ok ? '' : `${fmt(f.completedTasks)} of ${fmt(f.plans * f.tasksPerPlan)} tasks, `;
        return `${done}**${fmt(f.tasksPerSec, 1)} tasks/s** = **${fOverB(v).toFixed(2)}× (b)**, ${v.c ? (f.tasksPerSec / v.c.tasksPerSec).toFixed(2) : '–'}× (c); per plan p50 ${fmt(median(f.planMs))} ms, p99 ${fmt(pct(f.planMs, 99))} ms`;
      },
      target: `≥ ${TARGET.fOverB} × (b)`,
      met: (v) => (v.f && v.b ? v.f.ok && fOverB(v) >= TARGET.fOverB : undefined),
    },
    {
      key: 'h',
      measure: `${fmt(s.tasks)}-task parallel plan with 0 and with ${SUBSCRIBERS} SSE subscribers on its event stream`,
      cell: (v) => {
        const h = v.h;
        if (!h) return undefined;
        const c = subscribersCost(h);
        return `${fmt(h.quiet.tasksPerSec, 1)} vs ${fmt(h.watched.tasksPerSec, 1)} tasks/s = **${c.slowdown.toFixed(2)}× slower**; plan history ${fmt(h.quiet.planHistory)} vs ${fmt(h.watched.planHistory)} events; ${h.watched.ended ?? 0}/${SUBSCRIBERS} streams ended`;
      },
      target: 'no measurable slowdown (≤ 1.1×, run-to-run noise ±20 %)',
      met: (v) => (v.h ? v.h.quiet.ok && v.h.watched.ok && subscribersCost(v.h).slowdown <= 1.1 : undefined),
    },
    {
      key: 'g',
      measure: 'cost per task, orchestrator (b) against bare Temporal (c): CPU-ms (node + server), history events',
      cell: (v) => {
        if (!v.b || !v.c) return undefined;
        const g = gFigures(v);
        return `**${fmt(g.cpuB, 1)}** vs ${fmt(g.cpuC, 1)} CPU-ms = **${fmt(g.cpuRatio, 1)}×**; ${fmt(g.evB, 1)} vs ${fmt(g.evC, 1)} events = ${fmt(g.evRatio, 1)}×`;
      },
      target: `CPU ≤ ${TARGET.gCpuRatio}× (c)`,
      met: (v) => {
        const g = gFigures(v);
        return Number.isFinite(g.cpuRatio) ? g.cpuRatio <= TARGET.gCpuRatio : undefined;
      },
    },
  ];
}

export function rows(r: Results): string[][] {
  const names = r.variants.map((v) => v.variant);
  const out: string[][] = [['', 'Measure', ...names, 'Target', 'Met']];
  for (const spec of rowSpecs(r)) {
    const cells = r.variants.map((v) => spec.cell(v));
    if (cells.every((c) => c === undefined)) continue;
    const verdicts = r.variants
      .map((v) => [v.variant, spec.met?.(v)] as const)
      .filter((x): x is readonly [Variant, boolean] => x[1] !== undefined);
    const metText =
      verdicts.length === 1 && r.variants.length === 1
        ? met(verdicts[0]?.[1] ?? false)
        : verdicts.map(([name, ok]) => `${name} ${met(ok)}`).join(', ');
    out.push([spec.key, spec.measure, ...cells.map((c) => c ?? '–'), spec.target ?? '', metText]);
  }
  return out;
}

function table(cells: string[][]): string {
  const [head, ...body] = cells;
  const line = (c: string[]) => `| ${c.join(' | ')} |`;
  return [line(head ?? []), line((head ?? []).map(() => '---')), ...body.map(line)].join('\n');
}

export function consoleTable(cells: string[][]): string {
  const plain = cells.map((r) => r.map((c) => c.replace(/\*\*/g, '')));
  const widths = plain[0]?.map((_, i) => Math.max(...plain.map((r) => (r[i] ?? '').length))) ?? [];
  return plain.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------
// Analysis

const describeProfile = (p: Profile | undefined, digits = 0): string =>
  p
    ? [
        `${fmt(p.events, digits)} events`,
        `${fmt(p.workflowTasks, digits)} workflow tasks`,
        `${fmt(p.activities, digits)} activities`,
        ...(p.markers > 0 ? [`${fmt(p.markers, digits)} markers (local activities)`] : []),
        `${fmt(p.signalsSent, digits)} signals sent`,
        `${fmt(p.signalsReceived, digits)} received`,
        `${fmt(p.searchAttributeUpserts, digits)} search-attribute upserts`,
        ...(p.childrenStarted > 0 ? [`${fmt(p.childrenStarted, digits)} children started`] : []),
      ].join(', ')
    : '–';

const describeTypes = (types: TypeProfile[], perTask?: number): string =>
  types
    .map((t) => {
      const n = t.workflows === 1 ? '' : ` ×${fmt(t.workflows)}`;
      const runs = t.runs > t.workflows ? ` (${fmt(t.runs)} runs)` : '';
      const p = perTask ? scaleProfile(t.profile, perTask) : t.profile;
      return `\`${t.type}\`${n}${runs}: ${describeProfile(p, perTask ? 1 : 0)}`;
    })
    .join('; ');

const describeBusy = (b: BusyWorkflow, extra = ''): string =>
  `${b.role === 'other' ? `\`${b.type}\` ` : `${b.role} `}\`${b.workflowId}\` ${percent(b.busy.busy)} (${fmt(b.busy.wfts)} workflow tasks${extra})`;

/**
 * Workflows other than the plan and the pool that were busy > 50 %: each one when there are few of a type, else the
 * count of that type, the median and the three busiest.
 */
function describeOthers(others: BusyWorkflow[]): string[] {
  const byType = new Map<string, BusyWorkflow[]>();
  for (const x of others) byType.set(x.type, [...(byType.get(x.type) ?? []), x]);
  return [...byType.entries()].flatMap(([type, xs]) => {
    if (xs.length <= 5) return xs.map((x) => describeBusy(x));
    const shares = xs.map((x) => x.busy.busy);
    return [
      `${fmt(xs.length)} \`${type}\` workflows (median ${percent(median(shares))}, busiest ${xs
        .slice(0, 3)
        .map((x) => `\`${x.workflowId}\` ${percent(x.busy.busy)}`)
        .join(', ')})`,
    ];
  });
}

/** "stock 12 ms, tuned 3 ms" (or just "12 ms" with one server). */
function perVariant(r: Results, f: (v: VariantResults) => string | undefined): string {
  const parts = r.variants.map((v) => [v.variant, f(v)] as const).filter(([, s]) => s !== undefined);
  return r.variants.length === 1 ? (parts[0]?.[1] ?? '–') : parts.map(([n, s]) => `${n} ${s}`).join(', ');
}

function analyseLatency(r: Results): string[] {
  const withA = r.variants.filter((v) => v.a);
  if (withA.length === 0) return [];
  const out: string[] = [];
  const runs = withA[0]?.a?.totalMs.length ?? 0;
  const head = ['Phase', ...withA.map((v) => (withA.length === 1 ? 'ms' : `${v.variant} ms`))];
  const phaseRows = (withA[0]?.a?.phases ?? []).map((p, i) => [
    p.name,
    ...withA.map((v) => fmt(v.a?.phases[i]?.ms, 1)),
  ]);
  if (withA.some((v) => v.a?.unattributedMs !== undefined))
    phaseRows.push([
      'not attributed (a milestone of the phases around it is not in the histories)',
      ...withA.map((v) => fmt(v.a?.unattributedMs, 1)),
    ]);
  phaseRows.push(['whole, p50', ...withA.map((v) => fmt(median(v.a?.totalMs ?? []), 1))]);
  out.push(
    `**(a)** Where the time of a one-task plan goes (median of each phase over ${runs} runs, from the plan's and the task workflow's histories; client and server share the clock; "–": that phase's events are not in the histories):`,
    '',
    `| ${head.join(' | ')} |`,
    `| --- | ${head
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
    ...phaseRows.map((row) => `| ${row.join(' | ')} |`),
    '',
  );
  const last = withA[withA.length - 1] as VariantResults;
  const workflows = last.a?.workflows ?? [];
  out.push(
    `Per plan (${last.variant} server, last run): ${workflows.length > 0 ? describeTypes(workflows) : 'no history found'}. Workflow-task dispatch (scheduled → started): ${perVariant(r, (v) => v.a && `p50 ${fmt(median(v.a.wftQueueMs), 1)} ms, p90 ${fmt(pct(v.a.wftQueueMs, 90), 1)} ms`)}, over ${fmt(last.a?.wftQueueMs.length)} workflow tasks.`,
  );
  const missed = withA.filter((v) => median(v.a?.totalMs ?? []) > TARGET.aP50Ms);
  if (missed.length > 0) {
    const hops = sum(workflows.map((w) => w.profile.workflowTasks)) + 2;
    const why = missed.map((v) => {
      const dispatch = median(v.a?.wftQueueMs ?? []);
      return dispatch >= 20
        ? `On the ${v.variant} server each hop that goes through the server's transfer queue waits for its next read: it reads its single shard's transfer queue at most 20 times a second (\`history.transferProcessorMaxPollRPS\` = 20), which is the ~${fmt(dispatch)} ms median dispatch above; LATENCY_TUNING (the tuned server, what \`npm start\` runs) raises it to 1,000. On a production server (several shards, default poll rate) the same hops are cheaper, but the count of hops stays.`
        : Number.isFinite(dispatch)
          ? `On the ${v.variant} server dispatch is fast (p50 ${fmt(dispatch, 1)} ms), so what is left is the number of hops itself.`
          : `On the ${v.variant} server no workflow-task dispatch could be read from the histories.`;
    });
    const metOn = withA.filter((v) => !missed.includes(v)).map((v) => v.variant);
    out.push(
      '',
      `Missed${metOn.length > 0 ? ` on the ${missed.map((v) => v.variant).join(' and ')} server (met on the ${metOn.join(' and ')} one)` : ''}. A one-task plan is a chain of about ${fmt(hops)} sequential hops (every workflow task of the plan's workflows, the pool's turn, the grant). ${why.join(' ')} What would reach ≤ ${TARGET.aP50Ms} ms in the code: fewer hops per task — run short lifecycle steps as local activities (or one activity for reason → execute → validate, with heartbeats), so they cost no workflow task each; drop the \`taskAssigned\` signal to the plan (the plan can learn the agent id from the task's result or a query); and, for plans of one task, let the plan acquire the agent itself or run the task inline instead of as a child workflow.`,
    );
  }
  out.push('');
  return out;
}

function analyseThroughput(r: Results, v: VariantResults): string[] {
  const { b, c } = v;
  if (!b || !c) return [];
  const out: string[] = [];
  const label = r.variants.length > 1 ? `, ${v.variant}` : '';
  const ratio = ratioBC(v);
  const g = gFigures(v);
  out.push(
    `**(b) vs (c)${label}**: ${fmt(b.tasksPerSec, 1)} against ${fmt(c.tasksPerSec, 1)} tasks/s (ratio ${ratio.toFixed(2)}). CPU during (b): ${cpuText(b.cpu)}; during (c): ${cpuText(c.cpu)}. That is **${fmt(g.cpuB, 1)} CPU-ms per task for the orchestrator against ${fmt(g.cpuC, 1)} for bare Temporal** (${fmt(g.cpuRatio, 1)}×, row g).`,
    '',
  );
  if (b.workflows && b.planEvents !== undefined) {
    const poolShare = b.pool
      ? ` plus the pool's share: ${fmt(b.pool.eventsInWindow)} events written by ${fmt(b.pool.runs.workflows)} pool workflow(s) (ids starting with the pool id, ${fmt(b.pool.runs.runs)} run(s)) while the plan ran, ${fmt(b.pool.eventsInWindow / b.tasks, 1)} per task`
      : '';
    out.push(
      `Per task, the plan's ${fmt(sum(b.workflows.map((t) => t.workflows)))} workflows (the plan and every child it started, nested ones included; ${fmt(b.planEvents)} events in all) write ${describeTypes(b.workflows, b.tasks)};${poolShare}: about **${fmt(g.evB, 1)} history events per task**. Bare Temporal writes ${fmt(g.evC, 1)} events and ${fmt(c.profile.workflowTasks / c.tasks, 2)} workflow tasks per task (${describeProfile(c.profile)} in all). Pool peak: ${b.peakBusy ?? '–'} busy instances of ${MAX_AGENTS}.`,
      '',
    );
  }
  if (b.busy) {
    const plan = b.busy.filter((x) => x.role === 'plan');
    const pool = b.busy.filter((x) => x.role === 'pool');
    const others = b.busy.filter((x) => x.role === 'other').sort((x, y) => y.busy.busy - x.busy.busy);
    const listed = [
      ...plan.map((x) =>
        describeBusy(
          x,
          `, dispatch p50 ${fmt(b.planWftQueueMs)} ms, run p50 ${fmt(b.planWftRunMs)} ms; on average ${fmt(b.inFlight)} children in flight of the ${r.opts.sizes.concurrency} allowed`,
        ),
      ),
      ...pool.map((x) => describeBusy(x)),
      ...describeOthers(others),
    ];
    const queued =
      others.length > 0
        ? ` The other workflows over 50 % mostly waited for their workflow tasks to be picked up (dispatch p50 ${fmt(b.otherWftQueueMs)} ms across the plan's other workflows): there the worker's workflow-task throughput, not one workflow, is what serializes.`
        : ' No other workflow of the plan was over 50 %.';
    out.push(
      `Serialization: share of (b) during which a workflow had a workflow task queued or running — ${listed.join('; ')}.${queued} A workflow takes its events one workflow task at a time, so near 100 % it is a serial bottleneck; bare Temporal's single workflow instead batches hundreds of activity completions per workflow task (${fmt(c.profile.workflowTasks)} workflow tasks for ${fmt(c.tasks)} tasks)${c.busy !== undefined ? `, and had one open ${Math.round(c.busy * 100)} % of (c)` : ''}.`,
      '',
    );
  }
  if (ratio < TARGET.ratio || g.cpuRatio > TARGET.gCpuRatio) {
    const saturated = busyCores(b.cpu) >= 0.75 * CORES;
    out.push(
      `Missed${label ? ` (${v.variant})` : ''}: ${[ratio < TARGET.ratio ? `(b)/(c) ${ratio.toFixed(2)} < ${TARGET.ratio}` : '', g.cpuRatio > TARGET.gCpuRatio ? `(g) ${fmt(g.cpuRatio, 1)}× > ${TARGET.gCpuRatio}×` : ''].filter(Boolean).join(', ')}. ${
        saturated
          ? `The machine is CPU-bound in both runs (${fmt(busyCores(b.cpu), 2)} and ${fmt(busyCores(c.cpu), 2)} of ${CORES} cores), so the throughput ratio is essentially the ratio of CPU per task: the orchestrator does ${fmt(g.cpuRatio, 1)}× the work per task.`
          : `The CPU is not saturated (${fmt(busyCores(b.cpu), 2)} of ${CORES} cores during (b)), so the serial workflow tasks above, and the hops per task, set the pace.`
      } To reach both targets the per-task cost has to come down to about ${fmt(Math.min(1 / TARGET.ratio, TARGET.gCpuRatio), 1)}× bare Temporal's: fewer workflow tasks and events per task — run the lifecycle steps as local activities or one fused activity, upsert search attributes once per task rather than per lifecycle step, and drop per-task signals to the plan; if a workflow's busy share above stays near 100 %, split it (e.g. shard the pool) so its work is not serialized through one workflow.`,
      '',
    );
  }
  return out;
}

function analyseConcurrent(r: Results, v: VariantResults): string[] {
  const f = v.f;
  if (!f) return [];
  const label = r.variants.length > 1 ? `, ${v.variant}` : '';
  const ratio = fOverB(v);
  const cpuF = cpuPerTask(f.cpu, f.completedTasks);
  const cpuB = v.b ? cpuPerTask(v.b.cpu, v.b.completed) : NaN;
  const pool = (f.poolBusy ?? []).map((x) => describeBusy(x));
  const out = [
    `**(f)${label}**: ${fmt(f.completedTasks)} tasks of ${fmt(f.plans)} plans in ${fmt(f.wallMs / 1_000, 1)} s, ${fmt(f.tasksPerSec, 1)} tasks/s = ${ratio.toFixed(2)}× (b) and ${v.c ? (f.tasksPerSec / v.c.tasksPerSec).toFixed(2) : '–'}× (c). Each plan took p50 ${fmt(median(f.planMs))} ms, p99 ${fmt(pct(f.planMs, 99))} ms from its POST to its result. CPU: ${cpuText(f.cpu)}, ${fmt(cpuF, 1)} CPU-ms per task ((b): ${fmt(cpuB, 1)}).${pool.length > 0 ? ` Pool workflows busy: ${pool.join('; ')}.` : ''}${f.error ? ` Problems: ${f.error}.` : ''}${f.bare ? ` The same load on bare Temporal (${fmt(f.bare.workflows)} workflows of ${fmt(f.tasksPerPlan)} sequential tasks, each task 3 activities, started at once from the client): ${fmt(f.bare.tasksPerSec, 1)} tasks/s = ${(f.bare.tasksPerSec / (v.b?.tasksPerSec ?? NaN)).toFixed(2)}× (b), ${fmt(cpuPerTask(f.bare.cpu, f.bare.tasks), 1)} CPU-ms per task; (f) is ${(f.tasksPerSec / f.bare.tasksPerSec).toFixed(2)}× that.` : ''}`,
  ];
  if (v.b && !(f.ok && ratio >= TARGET.fOverB)) {
    const why: string[] = [];
    if (cpuF > 1.2 * cpuB)
      why.push(
        `each task costs ${fmt(cpuF / cpuB, 1)}× the CPU of a task in (b): a plan of ${f.tasksPerPlan} tasks pays for its own plan workflow (start, workflow tasks, search attributes, result) over only ${f.tasksPerPlan} tasks`,
      );
    if ((f.poolBusy ?? []).some((x) => x.busy.busy > 0.9))
      why.push('the pool had a workflow task open over 90 % of the time');
    if (f.tasksPerPlan > 1)
      why.push(
        `the ${f.tasksPerPlan} tasks of a plan run one after the other, so at most ${fmt(f.plans)} tasks are in flight and each plan's hops add up in sequence`,
      );
    out.push(
      '',
      `Missed (target ≥ ${TARGET.fOverB}× (b))${why.length > 0 ? `: ${why.join('; ')}` : ''}. What would reach it: a cheaper plan workflow for small plans (fewer workflow tasks and upserts per plan, no child workflow per task when a plan has a handful of tasks), so the fixed cost per plan is not much more than the cost of a task.`,
    );
  }
  out.push('');
  return out;
}

function analyseCost(r: Results, v: VariantResults): string[] {
  if (!v.b || !v.c) return [];
  const label = r.variants.length > 1 ? `, ${v.variant}` : '';
  const g = gFigures(v);
  const { tasks, workflows, pool } = v.b;
  const shares: [string, number][] = [
    ...(workflows ?? []).map((t) => [`\`${t.type}\``, t.profile.events / tasks] as [string, number]),
    ...(pool ? [['pool', pool.eventsInWindow / tasks] as [string, number]] : []),
  ].sort((x, y) => y[1] - x[1]);
  if (!Number.isFinite(g.cpuRatio) && !Number.isFinite(g.evRatio)) return [];
  return [
    `**(g)${label}**: ${fmt(g.cpuB, 1)} CPU-ms and ${fmt(g.evB, 1)} history events per task for the orchestrator during (b), ${fmt(g.cpuC, 1)} and ${fmt(g.evC, 1)} for bare Temporal during (c): ${fmt(g.cpuRatio, 1)}× the CPU (target ≤ ${TARGET.gCpuRatio}×${Number.isFinite(g.cpuRatio) ? `, ${met(g.cpuRatio <= TARGET.gCpuRatio)}` : ''}) and ${fmt(g.evRatio, 1)}× the events. (b)'s events per task by where they are written: ${shares.map(([k, n]) => `${k} ${fmt(n, 1)}`).join(', ') || '–'}.`,
    '',
  ];
}

function analyseE(r: Results): string[] {
  const v = r.variants.find((x) => x.e);
  const e = v?.e;
  const verdict = v && eVerdict(v, v.b);
  if (!v || !e || !verdict) return [];
  const b = v.b;
  const facts: string[] = [];
  if (e.ok)
    facts.push(
      `completed in ${fmt(e.wallMs / 1_000, 1)} s, ${fmt(verdict.perTask, 2)} ms per task against ${fmt(b ? b.wallMs / Math.max(1, b.completed) : NaN, 2)} in (b) on the same server (${verdict.slowdown.toFixed(2)}×)`,
    );
  else if (e.status.startsWith('not started'))
    facts.push(`the plan was not accepted: ${e.error ?? ''} (body ${fmt(e.bodyBytes / 1_048_576, 2)} MB)`);
  else if (e.timedOut) facts.push(`${e.status}: ${e.error ?? ''}; the plan was then terminated to clean up`);
  else facts.push(`it ended ${e.status}: ${e.error ?? ''}`);
  if (e.plan)
    facts.push(
      `the plan workflow ran ${e.plan.runs} run(s) (continue-as-new), the longest ${fmt(e.plan.maxHistory)} events, ${fmt(e.plan.totalEvents)} in all`,
    );
  if (e.planEvents !== undefined)
    facts.push(
      `the plan's workflows wrote ${fmt(e.planEvents)} events, ${fmt(eventsPerTask(e), 1)} per task with the pool's share`,
    );
  if (e.pool)
    facts.push(
      `the pool (${fmt(e.pool.runs.workflows)} workflow(s)) ran ${e.pool.runs.runs} run(s) during (e), the longest ${fmt(e.pool.runs.maxHistory)} events`,
    );
  const planBusy = e.busy?.find((x) => x.role === 'plan');
  const poolShares = (e.busy ?? []).filter((x) => x.role === 'pool').map((x) => x.busy.busy);
  const poolBusy = poolShares.length > 0 ? Math.max(...poolShares) : NaN;
  if (e.inFlight !== undefined)
    facts.push(
      `on average ${fmt(e.inFlight)} children were in flight (of ${r.opts.sizes.concurrency}; (b): ${fmt(b?.inFlight)}), the plan's workflow tasks ran p50 ${fmt(e.planWftRunMs)} ms ((b): ${fmt(b?.planWftRunMs)} ms), the plan had a workflow task open ${percent(planBusy?.busy.busy)} of the time and the busiest pool workflow ${percent(poolBusy)}`,
    );
  facts.push(`CPU: ${cpuText(e.cpu)}, ${fmt(cpuPerTask(e.cpu, e.completed), 1)} CPU-ms per task`);
  const out = [`**(e)${r.variants.length > 1 ? `, ${v.variant}` : ''}** ${facts.join('; ')}.`];
  if (!verdict.ok) {
    const why: string[] = [];
    if (verdict.overWarn) why.push(`a history went over the ${fmt(HISTORY_WARN)}-event warning`);
    if (e.ok && verdict.slowdown > TARGET.eSlowdown)
      why.push(
        `time per task is ${verdict.slowdown.toFixed(2)}× (b)${
          e.inFlight !== undefined && b?.inFlight !== undefined && e.inFlight < 0.8 * b.inFlight
            ? `: the window was kept less full (${fmt(e.inFlight)} against ${fmt(b.inFlight)} in flight) — each of the ${e.plan ? e.plan.runs - 1 : '?'} continue-as-new drains the running tasks first`
            : ''
        }${
          (e.planWftRunMs ?? 0) > 1.5 * (b?.planWftRunMs ?? Infinity)
            ? `; each plan workflow task takes longer (p50 ${fmt(e.planWftRunMs)} against ${fmt(b?.planWftRunMs)} ms): its per-pass work grows with the plan's size`
            : ''
        }`,
      );
    const pw = r.warnings;
    if (pw.errors > 0)
      why.push(
        `a workflow-task completion carried a payload over Temporal's 2 MB limit (${fmt(pw.maxErrorBytes / 1_048_576, 2)} MB at \`${pw.errorPaths.join('`, `')}\`), so that workflow could not go on`,
      );
    else if (!e.ok && !e.status.startsWith('not started'))
      why.push('see the status above; the run was bounded by its deadline');
    out.push(
      '',
      `Missed${why.length ? `: ${why.join('; ')}` : ''}. What would reach it: keep the per-pass scheduling work independent of the plan size (a ready queue instead of scanning every task), keep the window full across continue-as-new (hand running children over instead of draining, or run tasks in batches of ~1,000 through intermediate child workflows, each with its own history), and carry only unfinished tasks' state into the next run.`,
    );
  }
  out.push('');
  return out;
}

function analyseHistories(r: Results, v: VariantResults): string[] {
  const planType = v.b?.busy?.find((x) => x.role === 'plan')?.type;
  const longest: [string, number | undefined][] = [
    ['pool (any workflow, any run)', v.pool?.maxHistory],
    ['plan (b)', v.b?.plan?.maxHistory],
    ...(v.b?.workflows ?? [])
      .filter((t) => t.type !== planType)
      .map((t) => [`\`${t.type}\` (b)`, t.maxHistory] as [string, number]),
    ['bare workflow (c)', v.c?.profile.events],
    ['round-trip workflow (d)', v.d?.events],
    ['plan (e)', v.e?.plan?.maxHistory],
  ];
  const over = (n: number | undefined) => (n ?? 0) > HISTORY_WARN;
  const listed = longest
    .filter(([, n]) => n !== undefined && Number.isFinite(n))
    .map(([k, n]) => `${k} ${fmt(n)}${over(n) ? ' (**over the warning**)' : ''}`);
  if (listed.length === 0 && !v.pool) return [];
  const visibility = v.overWarn.map((w) => `${w.type} \`${w.workflowId}\` ${fmt(w.historyLength)}`);
  return [
    `**History lengths${r.variants.length > 1 ? `, ${v.variant}` : ''}** (events; warning at ${fmt(HISTORY_WARN)}, limit ${fmt(HISTORY_LIMIT)}): ${listed.join('; ')}. The pool ran ${fmt(v.pool?.workflows)} workflow(s), ${fmt(v.pool?.runs)} run(s), ${fmt(v.pool?.totalEvents)} events in all. ${
      visibility.length > 0
        ? `Executions over the warning (visibility \`HistoryLength > ${HISTORY_WARN}\`): ${visibility.join('; ')}.`
        : `No closed execution on the server went over the warning (visibility \`HistoryLength > ${HISTORY_WARN}\`).`
    }`,
    '',
  ];
}

/** What each number means and, where a target is missed, why and what would reach it, from this run's evidence. */
export function analysis(r: Results): string[] {
  const out: string[] = [...analyseLatency(r)];
  for (const v of r.variants) out.push(...analyseThroughput(r, v));
  for (const v of r.variants) out.push(...analyseCost(r, v));
  for (const v of r.variants) out.push(...analyseConcurrent(r, v));
  const withD = r.variants.filter((v) => v.d);
  if (withD.length > 0) {
    const slow = withD.some((v) => median(v.a?.wftQueueMs ?? []) >= 20);
    out.push(
      `**(d)** acquire → grant ${perVariant(r, (v) => v.d && `p50 ${fmt(median(v.d.acquireMs))} ms, p99 ${fmt(pct(v.d.acquireMs, 99))} ms`)} with an otherwise idle pool: the request to the pool, the pool's workflow task, the grant signal back and a workflow task of the requester. The whole cycle with the release: ${perVariant(r, (v) => v.d && `p50 ${fmt(median(v.d.cycleMs))} ms`)}.${slow ? ' Multiples of ~50 ms are the transfer-queue reads of (a).' : ''}`,
      '',
    );
  }
  out.push(...analyseE(r));
  for (const v of r.variants) out.push(...analyseHistories(r, v));
  const pw = r.warnings;
  if (pw.count > 0 || pw.errors > 0)
    out.push(
      `**Payload sizes**: the SDK warned ${fmt(pw.count)} time(s) of a payload over its 512 KB warning limit (largest ${fmt(pw.maxBytes / 1_048_576, 2)} MB)${
        pw.errors > 0
          ? ` and **refused ${fmt(pw.errors)} workflow-task completion(s) whose payload was over Temporal's 2 MB limit** (largest ${fmt(pw.maxErrorBytes / 1_048_576, 2)} MB, at \`${pw.errorPaths.join('`, `')}\`): the workflow task fails and is retried, and the workflow makes no progress until it is terminated`
          : ''
      }.`,
      '',
    );
  for (const v of r.variants) for (const n of v.notes) out.push(`Note (${v.variant}): ${n}`, '');
  for (const n of r.notes) out.push(`Note: ${n}`, '');
  out.push(...slowReport(r.slow));
  out.push(...fairReport(r.fair));
  return out;
}

function section(r: Results): string {
  const only = r.variants.length === 1 ? ` (${r.variants[0]?.variant} server only)` : '';
  return [
    `## ${r.env.date}${r.opts.quick ? ' (quick)' : ''}${only}`,
    '',
    `- Code: ${r.env.code}`,
    `- Machine: ${r.env.machine}; ${r.env.os}; Node ${r.env.node}`,
    ...r.variants.map((v) => `- Server, ${v.variant}: ${serverDescription(v.variant)}`),
    ...(r.variants.length > 0
      ? [
          `- Temporal: ${r.env.temporalCli}; SDK @temporalio/worker ${r.env.sdk}; worker, API and load generator in one Node process, all on 127.0.0.1; the servers run one after the other`,
          `- Settings: MAX_AGENTS ${MAX_AGENTS} (every agent type's maxInstances raised to ${MAX_AGENTS}, so MAX_AGENTS is the cap that binds), offline runtime with no simulated latency, retries 50 → 200 ms`,
        ]
      : []),
    ...(r.slow ? [`- (i): ${SLOW_SETUP}; Temporal: ${r.env.temporalCli}; SDK @temporalio/worker ${r.env.sdk}`] : []),
    '',
    ...(r.variants.length > 0 ? [table(rows(r)), ''] : []),
    ...analysis(r),
    '',
  ].join('\n');
}

const PREAMBLE = `# Benchmarks

\`npm run bench\` (\`scripts/bench.ts\`, modules in \`scripts/bench/\`) measures on two Temporal dev servers of its own,
one after the other (in memory, headless, free port, 127.0.0.1 only): **stock**, the CLI's default dynamic config, and
**tuned**, with \`LATENCY_TUNING\` from \`scripts/dev-server.ts\`, which is what \`npm start\` runs
(\`history.transferProcessorMaxPollRPS=1000\` instead of 20). Each server gets an in-process worker on its own task
queue and pool (workflows from \`scripts/bench-workflows.ts\`: the production ones plus two bench-only baselines) and an
in-process HTTP API. The table has one column per server:

- **(a)** one-task plan, \`POST /v1/plans\` → \`GET /v1/plans/:id/result?wait=30\`, 50 runs after 5 warm-up runs.
  Target: p50 ≤ 100 ms on the tuned server (the one \`npm start\` runs).
- **(b)** a 1,000-task parallel plan (instant agents: offline runtime, no simulated latency), maxConcurrency 200,
  MAX_AGENTS 100: wall time from submission to result, tasks/s.
- **(c)** the same work on bare Temporal: one workflow running reason → execute → validate (the worker's own activities)
  for 1,000 tasks, 200 at a time, no pool, no child workflows. Target: (b)/(c) ≥ 0.5.
- **(d)** pool acquire → grant → release round trip, 200 times in sequence, timed in workflow time.
- **(e)** a 10,000-task parallel plan, on the tuned server only: does it complete, time per task against (b), history
  lengths of the plan and pool workflows against Temporal's warning (10,240 events) and limit (51,200). Target:
  completes, no warning, time per task within 1.5× of (b). Bounded by a 15-minute deadline (\`BENCH_E_TIMEOUT_SECONDS\`).
- **(f)** 200 plans of 2 sequential tasks each, submitted at once over HTTP, each result long-polled
  (\`GET /v1/plans/:id/result?wait=…\`): tasks/s, against (b) and (c) of the same server. Target: ≥ 0.8 × (b).
- **(g)** cost per task of (b) against (c): CPU-ms (node + Temporal server) and history events (every workflow of the
  plan, nested children included, plus what the pool's workflows wrote meanwhile). Target: CPU ≤ 2.5× (c).
- **(h)** the plan of (b) run twice, first with nobody watching, then with 100 clients on its event stream
  (\`GET /v1/plans/:id/events\`, opened right after submission, read to \`end\`): tasks/s of both, the plan's history
  length of both. Target: no measurable slowdown (≤ 1.1×). \`--only=h\` runs just this measure.
- **(i)** agents that wait (\`scripts/bench/slow-agents.ts\`), on a tuned server of its own after the others: every task
  is an agent of an OpenAI-compatible model type whose mock provider (a process of its own) answers each call in 3 s
  (2 s to the first token, then 20 chunks 50 ms apart, streamed); 2 model calls per task. Measured in one run: the
  floor (a bare HTTP client making the same calls, every agent at once), the same calls through the AI SDK, bare
  Temporal (the same activities from one workflow on a worker sized like ours), and the orchestrator on worker
  processes: 1,000 agents, with the default sizing, with 100 activity slots (before) and with WORKER_TUNER=resource;
  500 agents of a slower model (20 s to the first token), with and without 100 activity slots, and with
  MODEL_MAX_CONCURRENCY 100 on 1 and on 2 workers (scale-out); 5,000 agents. Reported: wall time against the floor, peak calls in flight (counted by the provider),
  CPU-ms and history events per task, worker memory per agent in flight. Targets: ≤ 3× the floor, ≥ 900 calls in
  flight, ≤ 1 MB per agent, 5,000 agents complete.
- **(j)** fair share between tenants (\`scripts/bench/fair-share.ts\`), on two tuned servers of its own: tenant A
  submits a 2,000-task plan (400 with \`--quick\`), a second later tenant B a 10-task plan, every task an offline
  agent of 200 ms; B's time from submission to result and A's throughput, with fair share off (\`FAIR_SHARE=false\`, no
  task queue fairness) and on. \`--only=j\` runs just this measure.

\`npm run bench -- --quick\` is a smoke run (smaller sizes, (f) with 50 plans, no (e); leaves this file alone);
\`--stock\` or \`--tuned\` measures on that server only. The dev server (SQLite, one history shard, sharing 2 cores with
the worker) is for comparing versions of this code on one machine, not for throughput records. Each run below says
what it ran on; the analysis under each table is generated from that run's histories. Runs before the stock/tuned
columns measured one server per run, marked "(tuned server)" when it was tuned.

${MARKER}
`;

export async function writeDoc(r: Results): Promise<string> {
  const sec = section(r);
  let doc = `${PREAMBLE}\n${sec}`;
  if (existsSync(DOC)) {
    const old = readFileSync(DOC, 'utf8');
    const i = old.indexOf(MARKER);
    if (i >= 0) {
      // The description above the runs is the code's (what each measure is today); the runs below it stay as written.
      const after = old.slice(i + MARKER.length).replace(/^\n+/, '');
      doc = `${PREAMBLE}\n${sec}${after ? `\n${after}` : ''}`;
    }
  }
  // Formatted the way `prettier --check` expects, so the generated file passes the lint.
  const options = (await resolveConfig(DOC)) ?? {};
  writeFileSync(DOC, await format(doc.replace(/\n{3,}/g, '\n\n'), { ...options, filepath: DOC }));
  return DOC;
}
