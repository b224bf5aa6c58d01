/** (h) Event streams: the same plan with 0 and with 100 SSE subscribers on GET /v1/plans/:planId/events. */
import { planWorkflowId } from '../../src/shared/ids';
import type { Sizes } from './options';
import type { Rig } from './rig';
import { log } from './util';

export const SUBSCRIBERS = 100;

export interface StreamedPlanRun {
  subscribers: number;
  ok: boolean;
  status: string;
  wallMs: number;
  tasksPerSec: number;
  /** The plan workflow's history length (its last run). */
  planHistory: number;
  /** Events each subscriber received (min, max), `end` included. */
  eventsPerSubscriber?: [number, number];
  /** Subscribers whose stream ended with `end`. */
  ended?: number;
  /** Why streams were refused (their distinct answers), if any were. */
  refused?: string[];
}

export interface SubscribersRun {
  tasks: number;
  quiet: StreamedPlanRun;
  watched: StreamedPlanRun;
}

/** Reads one event stream to its end, counting events; resolves with the count and whether `end` came. */
async function subscribe(
  url: string,
  abort: AbortSignal,
): Promise<{ events: number; ended: boolean; refused?: string }> {
  const res = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: abort });
  let events = 0;
  let ended = false;
  if (res.status !== 200) return { events, ended, refused: `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}` };
  if (!res.body) return { events, ended };
  const decoder = new TextDecoder();
  let tail = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      tail += decoder.decode(chunk, { stream: true });
      const blocks = tail.split('\n\n');
      tail = blocks.pop() ?? '';
      for (const b of blocks) {
        if (!b.includes('\ndata: ')) continue;
        events++;
        if (b.includes('event: end\n')) ended = true;
      }
    }
  } catch {
    // aborted
  }
  return { events, ended };
}

async function runPlan(rig: Rig, id: string, tasks: number, concurrency: number, subscribers: number) {
  const body = {
    id,
    name: `bench ${tasks} tasks, ${subscribers} subscribers`,
    mode: 'parallel',
    maxConcurrency: concurrency,
    tasks: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, description: 'bench task' })),
  };
  const t0 = Date.now();
  const post = await fetch(`${rig.base}/v1/plans`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (post.status !== 202) throw new Error(`plan not started: HTTP ${post.status} ${await post.text()}`);
  const abort = new AbortController();
  const streams = Array.from({ length: subscribers }, () =>
    subscribe(`${rig.base}/v1/plans/${id}/events`, abort.signal),
  );
  let status = 'timed out';
  for (let deadline = t0 + 10 * 60_000; Date.now() < deadline;) {
    const res = await fetch(`${rig.base}/v1/plans/${id}/result?wait=30`);
    if (res.status === 200) {
      status = ((await res.json()) as { status: string }).status;
      break;
    }
    await res.text();
  }
  const wallMs = Date.now() - t0;
  // Streams end by themselves after `end`; give them the watcher's next poll, then stop whatever is left.
  const timer = setTimeout(() => abort.abort(), 15_000);
  const seen = await Promise.all(streams);
  clearTimeout(timer);
  const desc = await rig.client.workflow.getHandle(planWorkflowId(id)).describe();
  const counts = seen.map((s) => s.events);
  const run: StreamedPlanRun = {
    subscribers,
    ok: status === 'completed',
    status,
    wallMs,
    tasksPerSec: (tasks / wallMs) * 1_000,
    planHistory: desc.historyLength,
    ...(subscribers > 0
      ? {
          eventsPerSubscriber: [Math.min(...counts), Math.max(...counts)] as [number, number],
          ended: seen.filter((s) => s.ended).length,
          refused: [...new Set(seen.flatMap((s) => (s.refused ? [s.refused] : [])))],
        }
      : {}),
  };
  return run;
}

/** The (b)-shaped plan (sizes.tasks tasks, parallel) run twice: nobody watching, then SUBSCRIBERS subscribers. */
export async function measureSubscribers(rig: Rig, sizes: Sizes, tag: string): Promise<SubscribersRun> {
  const quiet = await runPlan(rig, `bench-h0-${tag}`, sizes.tasks, sizes.concurrency, 0);
  log(`    0 subscribers: ${quiet.status}, ${Math.round(quiet.wallMs)} ms, ${quiet.tasksPerSec.toFixed(1)} tasks/s`);
  const watched = await runPlan(rig, `bench-h${SUBSCRIBERS}-${tag}`, sizes.tasks, sizes.concurrency, SUBSCRIBERS);
  log(
    `    ${SUBSCRIBERS} subscribers: ${watched.status}, ${Math.round(watched.wallMs)} ms, ${watched.tasksPerSec.toFixed(1)} tasks/s; ${watched.ended}/${SUBSCRIBERS} streams ended with \`end\`, ${watched.eventsPerSubscriber?.join('–')} events each${watched.refused?.length ? `; refused: ${watched.refused.join(' | ')}` : ''}`,
  );
  return { tasks: sizes.tasks, quiet, watched };
}

/** Throughput with the subscribers against without, and the history length difference. */
export function subscribersCost(h: SubscribersRun): { slowdown: number; extraHistory: number } {
  return {
    slowdown: h.quiet.tasksPerSec / h.watched.tasksPerSec,
    extraHistory: h.watched.planHistory - h.quiet.planHistory,
  };
}
