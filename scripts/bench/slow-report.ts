/** The report of measure (i), agents that wait: a table of its runs and the figures against the targets. */
import { callMs } from './mock-provider';
import { CALLS_PER_TASK, SLOW_TYPE, type SlowResults, type SlowRun } from './slow-agents';
import { fmt } from './util';

export const SLOW_TARGET = {
  /** Wall time against the floor of the same run, at most (moonshot 1.5). */
  floorRatio: 3,
  /** Peak model calls in flight with 1,000 agents, at least. */
  peakInFlight: 900,
  /** Worker memory per agent in flight above idle, MB, at most. */
  mbPerAgent: 1,
};

const cpuPerTask = (r: SlowRun) => (r.cpu.workersMs + r.cpu.serverMs + r.cpu.benchMs) / Math.max(r.tasks, 1);
const mbPerAgent = (r: SlowRun) => (r.peakRssMb - r.idleRssMb) / Math.max(r.peakInFlight, 1);

function row(s: SlowResults, r: SlowRun): string[] {
  const floor = s.floor && r.tasks === s.floor.tasks && r.agentType === SLOW_TYPE ? r.wallMs / s.floor.wallMs : NaN;
  return [
    r.label,
    r.ok ? `${fmt(r.wallMs / 1_000, 1)} s` : `**${r.error ?? 'failed'}** (${fmt(r.completed)} of ${fmt(r.tasks)})`,
    Number.isFinite(floor) ? `${fmt(floor, 2)}×` : '–',
    `${fmt(r.peakInFlight)}${r.calls > r.tasks * CALLS_PER_TASK ? ` (${fmt(r.calls)} calls for ${fmt(r.tasks * CALLS_PER_TASK)}: retried)` : ''}`,
    `${fmt(cpuPerTask(r), 1)} (workers ${fmt(r.cpu.workersMs / r.tasks, 1)}, server ${fmt(r.cpu.serverMs / r.tasks, 1)})`,
    r.eventsPerTask !== undefined ? fmt(r.eventsPerTask, 1) : '–',
    `${fmt(r.idleRssMb)} → ${fmt(r.peakRssMb)} MB: ${fmt(mbPerAgent(r) * 1_024)} KB per agent in flight`,
  ];
}

/** Markdown lines: the table, then the verdicts. */
export function slowReport(s: SlowResults | undefined): string[] {
  if (!s) return [];
  const l = s.latency;
  const head = [
    `**(i) Agents that wait**: every task is an agent of an OpenAI-compatible model type whose mock provider (a process of its own) answers each call in ${fmt(callMs(l))} ms (${fmt(l.firstTokenMs)} ms to the first token, then ${l.chunks} chunks ${l.chunkMs} ms apart), ${s.stream ? 'streamed (MODEL_STREAM_INTERVAL_MS 1,000: text into heartbeats)' : 'not streamed (MODEL_STREAM_INTERVAL_MS 0)'}; ${CALLS_PER_TASK} model calls (reason, execute) and a validate step per task; plans of up to 1,000 tasks (maxConcurrency = tasks), all submitted at once; MAX_AGENTS = tasks. Worker processes run the production worker (createWorker, buildDeps) with${Object.keys(s.workerEnv).length ? ` ${JSON.stringify(s.workerEnv)} on top of` : ''} the default sizing. CPU-ms per task counts the worker processes, the server and the bench process (API and load).`,
    '',
  ];
  const cells = [
    [
      'run',
      'wall time',
      'against the floor',
      'peak calls in flight',
      'CPU-ms per task',
      'history events per task',
      'worker RSS idle → peak',
    ],
    ['---', '---', '---', '---', '---', '---', '---'],
  ];
  for (const f of [s.floor, s.sdkFloor]) {
    if (!f) continue;
    cells.push([
      f.client === 'http'
        ? `the floor: a bare HTTP client (fetch), ${fmt(f.tasks)} agents × ${CALLS_PER_TASK} calls at once`
        : `the same calls through the AI SDK (${s.stream ? 'streamText' : 'generateText'}), as the worker makes them`,
      `${fmt(f.wallMs / 1_000, 1)} s`,
      s.floor ? `${fmt(f.wallMs / s.floor.wallMs, 2)}×` : '–',
      fmt(f.peakInFlight),
      `${fmt(f.cpuMs / f.tasks, 1)} (the client alone)`,
      '–',
      '–',
    ]);
  }
  if (s.bare) cells.push(row(s, s.bare));
  for (const r of s.orchestrator) cells.push(row(s, r));
  const table = cells.map((c) => `| ${c.join(' | ')} |`);

  const out = [...head, ...table, ''];
  // The targets speak of the floor's own workload: the first run of as many agents of the 3 s type.
  const first = s.orchestrator.find((r) => r.agentType === SLOW_TYPE && r.tasks === s.floor?.tasks);
  if (first && s.floor) {
    const ratio = first.wallMs / s.floor.wallMs;
    const mb = mbPerAgent(first);
    out.push(
      `Targets (${fmt(first.tasks)} agents, one worker): wall time ${fmt(ratio, 2)}× the floor (≤ ${SLOW_TARGET.floorRatio}×: ${ratio <= SLOW_TARGET.floorRatio ? '**met**' : '**not met**'}; moonshot ≤ 1.5×: ${ratio <= 1.5 ? 'met' : 'not met'}), peak ${fmt(first.peakInFlight)} calls in flight (≥ ${SLOW_TARGET.peakInFlight}: ${first.peakInFlight >= SLOW_TARGET.peakInFlight ? '**met**' : '**not met**'}), ${fmt(mb * 1_024)} KB per agent in flight (≤ 1 MB: ${mb <= SLOW_TARGET.mbPerAgent ? '**met**' : '**not met**'}).`,
      '',
    );
  }
  const big = s.orchestrator.find((r) => r.tasks >= 5_000);
  if (big) out.push(`${fmt(big.tasks)} agents: ${big.ok ? '**completed**' : `**not completed**: ${big.error}`}.`, '');
  for (const r of s.orchestrator) {
    const byType = Object.entries(r.eventsByType ?? {}).map(([t, n]) => `${t} ${fmt(n, 1)}`);
    const kinds = Object.entries(r.oneTask ?? {}).map(([k, n]) => `${k} ${n}`);
    if (byType.length > 0)
      out.push(
        `${r.label}: events per task by workflow type: ${byType.join(', ')}; one task's workflow: ${kinds.join(', ')}.`,
        '',
      );
  }
  for (const n of s.notes) out.push(`Note: ${n}`, '');
  return out;
}
