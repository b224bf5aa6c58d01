/**
 * History analysis: what the workflows of a run wrote, how long they held a workflow task open, how the events split
 * per task. Works from visibility and histories only, so it stays right when the workflow design changes (fewer or no
 * child workflows, nested children, local activities, a pool split into several workflows).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { mapLimit, sum } from './util';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

export interface Ev {
  kind: string;
  at: number;
  id: number;
  activity?: string;
  scheduledId?: number;
  signal?: string;
  /** workflowExecutionStarted: the workflow type. */
  workflowType?: string;
  /** childWorkflowExecutionStarted and friends: the child's execution. */
  child?: { workflowId: string; runId?: string };
  /** workflowExecutionContinuedAsNew: the next run. */
  newRunId?: string;
}

/** The event's kind from whichever `*EventAttributes` field it carries (no proto enums needed). */
function toEv(e: HistoryEvent): Ev {
  const rec = e as unknown as Record<string, unknown>;
  const key = Object.keys(rec).find((k) => k.endsWith('EventAttributes') && rec[k] != null) ?? 'unknown';
  const a = rec[key] as Record<string, unknown> | undefined;
  const exec = a?.workflowExecution as { workflowId?: string | null; runId?: string | null } | undefined;
  const kind = key.replace(/EventAttributes$/, '');
  return {
    kind,
    at: tsToMs(e.eventTime),
    id: Number(e.eventId),
    activity: (a?.activityType as { name?: string } | undefined)?.name ?? undefined,
    scheduledId: a?.scheduledEventId != null ? Number(a.scheduledEventId) : undefined,
    signal: typeof a?.signalName === 'string' ? a.signalName : undefined,
    workflowType:
      kind === 'workflowExecutionStarted'
        ? ((a?.workflowType as { name?: string } | undefined)?.name ?? undefined)
        : undefined,
    child:
      kind.startsWith('childWorkflowExecution') && exec?.workflowId
        ? { workflowId: exec.workflowId, runId: exec.runId ?? undefined }
        : undefined,
    newRunId: typeof a?.newExecutionRunId === 'string' && a.newExecutionRunId ? a.newExecutionRunId : undefined,
  };
}

/**
 * A workflow's events, read in pages of 200: a plan's events carry its tasks' inputs and outputs, and a page of the
 * server's default size can exceed the client's 4 MB message limit (seen in (e): 4.8 MB).
 */
export async function events(client: Client, workflowId: string, runId?: string): Promise<Ev[]> {
  const out: Ev[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, ...(runId ? { runId } : {}) },
      maximumPageSize: 200,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const e of page.history?.events ?? []) out.push(toEv(e as HistoryEvent));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return out;
}

/** Workflow-task dispatch latencies (scheduled → started): the hand-off from the server to the worker. */
export function wftQueueLatencies(evs: Ev[]): number[] {
  const byId = new Map(evs.map((e) => [e.id, e]));
  return evs
    .filter((e) => e.kind === 'workflowTaskStarted' && e.scheduledId !== undefined)
    .map((e) => e.at - (byId.get(e.scheduledId as number)?.at ?? e.at));
}

/** Workflow-task run times (started → completed): the worker's turn plus the server recording the commands. */
export function wftRunTimes(evs: Ev[]): number[] {
  const byId = new Map(evs.map((e) => [e.id, e]));
  return evs
    .filter((e) => e.kind === 'workflowTaskCompleted')
    .map((e) => {
      const started = byId.get(e.id - 1);
      return started?.kind === 'workflowTaskStarted' ? e.at - started.at : NaN;
    })
    .filter(Number.isFinite);
}

export interface Profile {
  events: number;
  workflowTasks: number;
  activities: number;
  /** MarkerRecorded events: local activities (and side effects, versions). */
  markers: number;
  signalsSent: number;
  signalsReceived: number;
  searchAttributeUpserts: number;
  childrenStarted: number;
}

const EMPTY_PROFILE: Profile = {
  events: 0,
  workflowTasks: 0,
  activities: 0,
  markers: 0,
  signalsSent: 0,
  signalsReceived: 0,
  searchAttributeUpserts: 0,
  childrenStarted: 0,
};

/** What one workflow's history (or several, concatenated) is made of. */
export function profile(evs: Ev[]): Profile {
  const count = (kind: string) => evs.filter((e) => e.kind === kind).length;
  return {
    events: evs.length,
    workflowTasks: count('workflowTaskCompleted'),
    activities: count('activityTaskScheduled'),
    markers: count('markerRecorded'),
    signalsSent: count('signalExternalWorkflowExecutionInitiated'),
    signalsReceived: count('workflowExecutionSignaled'),
    searchAttributeUpserts: count('upsertWorkflowSearchAttributes'),
    childrenStarted: count('startChildWorkflowExecutionInitiated'),
  };
}

export function addProfiles(ps: Profile[]): Profile {
  const out = { ...EMPTY_PROFILE };
  for (const p of ps) for (const k of Object.keys(out) as (keyof Profile)[]) out[k] += p[k];
  return out;
}

export function scaleProfile(p: Profile, by: number): Profile {
  const out = { ...p };
  for (const k of Object.keys(out) as (keyof Profile)[]) out[k] = p[k] / by;
  return out;
}

export interface Busy {
  /** Workflow tasks that overlapped the window. */
  wfts: number;
  /** Fraction of the window with a workflow task scheduled or running. */
  busy: number;
}

/** Fraction of [from, to] during which a workflow had a workflow task scheduled or running: it serializes on those. */
export function busyFraction(evs: Ev[], from: number, to: number): Busy {
  let busy = 0;
  let wfts = 0;
  let open: number | undefined;
  for (const e of evs) {
    if (e.kind === 'workflowTaskScheduled' && open === undefined) open = e.at;
    const closes = ['workflowTaskCompleted', 'workflowTaskFailed', 'workflowTaskTimedOut'].includes(e.kind);
    if (closes && open !== undefined) {
      const s = Math.max(open, from);
      const t = Math.min(e.at, to);
      if (t > s) {
        busy += t - s;
        wfts++;
      }
      open = undefined;
    }
  }
  return { wfts, busy: busy / Math.max(1, to - from) };
}

/** Time-weighted average of children in flight over [from, to]: how full a parent kept its window. */
export function avgInFlight(evs: Ev[], from: number, to: number): number {
  const closes = [
    'childWorkflowExecutionCompleted',
    'childWorkflowExecutionFailed',
    'childWorkflowExecutionCanceled',
    'childWorkflowExecutionTimedOut',
    'childWorkflowExecutionTerminated',
    'startChildWorkflowExecutionFailed',
  ];
  let inFlight = 0;
  let last = from;
  let area = 0;
  for (const e of evs) {
    const delta = e.kind === 'startChildWorkflowExecutionInitiated' ? 1 : closes.includes(e.kind) ? -1 : 0;
    if (delta === 0) continue;
    const at = Math.min(Math.max(e.at, from), to);
    area += inFlight * (at - last);
    last = at;
    inFlight += delta;
  }
  area += inFlight * (to - last);
  return area / Math.max(1, to - from);
}

// ---------------------------------------------------------------------------------------------------------------------
// Executions: found through visibility (and child events), each with its length and, when asked for, its events.

export interface Execution {
  workflowId: string;
  runId: string;
  type: string;
  /** Events in the run's history (from its events when fetched, else from describe). */
  historyLength: number;
  closeTime?: number;
  evs?: Ev[];
}

export interface Runs {
  /** Distinct workflow ids. */
  workflows: number;
  runs: number;
  maxHistory: number;
  totalEvents: number;
}

export function runsSummary(execs: Execution[]): Runs {
  return {
    workflows: new Set(execs.map((e) => e.workflowId)).size,
    runs: execs.length,
    maxHistory: Math.max(0, ...execs.map((e) => e.historyLength)),
    totalEvents: sum(execs.map((e) => e.historyLength)),
  };
}

const HISTORY_FETCHES = 8;

async function list(client: Client, query: string): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query })) out.push(wf);
  return out;
}

/**
 * Workflow executions whose id starts with `prefix` (e.g. the pool: `<poolId>`, `<poolId>-shard-3`), through
 * visibility's STARTS_WITH, or by listing everything when the server does not take it.
 */
export async function listByPrefix(client: Client, prefix: string): Promise<WorkflowExecutionInfo[]> {
  const found = await list(client, `WorkflowId STARTS_WITH '${prefix}'`).catch(() => list(client, ''));
  return found.filter((wf) => wf.workflowId.startsWith(prefix));
}

/** Visibility has no history length for an open run; describe has it for every run. */
async function lengthOf(client: Client, wf: WorkflowExecutionInfo): Promise<number> {
  if (wf.closeTime && wf.historyLength > 0) return wf.historyLength;
  const desc = await client.workflow
    .getHandle(wf.workflowId, wf.runId)
    .describe()
    .catch(() => undefined);
  return desc?.historyLength ?? wf.historyLength;
}

async function toExecution(client: Client, wf: WorkflowExecutionInfo, withEvents: boolean): Promise<Execution> {
  const exec: Execution = {
    workflowId: wf.workflowId,
    runId: wf.runId,
    type: wf.type,
    historyLength: 0,
    closeTime: wf.closeTime?.getTime(),
  };
  if (withEvents) {
    exec.evs = await events(client, wf.workflowId, wf.runId).catch(() => []);
    exec.historyLength = exec.evs.length;
  } else exec.historyLength = await lengthOf(client, wf);
  return exec;
}

/** Every run of workflows whose id starts with `prefix`, open at or after `since` (all when omitted). */
export async function prefixExecutions(
  client: Client,
  prefix: string,
  opts: { since?: number; withEvents?: boolean } = {},
): Promise<Execution[]> {
  const wfs = (await listByPrefix(client, prefix)).filter(
    (wf) => opts.since === undefined || !wf.closeTime || wf.closeTime.getTime() >= opts.since,
  );
  return mapLimit(wfs, HISTORY_FETCHES, (wf) => toExecution(client, wf, opts.withEvents ?? false));
}

/**
 * Every workflow execution a plan consists of: its own runs (continue-as-new), every execution tagged
 * `PlanId = '<planId>'`, every descendant of the plan workflow (visibility's RootWorkflowId, where the server has it)
 * and, when events are fetched, every child (and its continue-as-new runs) that the fetched histories started,
 * recursively. `withEvents` fetches every history (needed for profiles and busy fractions); without it the lengths
 * come from visibility and describe.
 */
export async function planExecutions(
  client: Client,
  planId: string,
  planWorkflowId: string,
  opts: { withEvents?: boolean } = {},
): Promise<Execution[]> {
  const withEvents = opts.withEvents ?? false;
  const found = new Map<string, WorkflowExecutionInfo>();
  const queries = [`WorkflowId = '${planWorkflowId}'`, `PlanId = '${planId}'`, `RootWorkflowId = '${planWorkflowId}'`];
  for (const q of queries) {
    for (const wf of await list(client, q).catch(() => [] as WorkflowExecutionInfo[])) found.set(wf.runId, wf);
  }
  const execs = await mapLimit([...found.values()], HISTORY_FETCHES, (wf) => toExecution(client, wf, withEvents));
  if (!withEvents) return execs;

  // Children (and next runs) the histories name that visibility did not list, until there are none left.
  const seen = new Set(execs.map((e) => e.runId));
  const seenIds = new Set(execs.map((e) => e.workflowId));
  let frontier = execs;
  while (frontier.length > 0) {
    const next: { workflowId: string; runId?: string }[] = [];
    for (const ex of frontier) {
      for (const e of ex.evs ?? []) {
        if (e.child && !(e.child.runId ? seen.has(e.child.runId) : seenIds.has(e.child.workflowId))) {
          next.push(e.child);
          if (e.child.runId) seen.add(e.child.runId);
          seenIds.add(e.child.workflowId);
        }
        if (e.newRunId && !seen.has(e.newRunId)) {
          next.push({ workflowId: ex.workflowId, runId: e.newRunId });
          seen.add(e.newRunId);
        }
      }
    }
    frontier = await mapLimit(next, HISTORY_FETCHES, async (c) => {
      const evs = await events(client, c.workflowId, c.runId).catch(() => [] as Ev[]);
      return {
        workflowId: c.workflowId,
        runId: c.runId ?? '',
        type: evs.find((e) => e.workflowType)?.workflowType ?? 'unknown',
        historyLength: evs.length,
        evs,
      };
    });
    execs.push(...frontier);
  }
  return execs;
}

/** The events of each workflow id (all its runs together), oldest first. */
export function eventsByWorkflow(execs: Execution[]): Map<string, Ev[]> {
  const out = new Map<string, Ev[]>();
  for (const ex of execs) {
    const evs = out.get(ex.workflowId) ?? [];
    evs.push(...(ex.evs ?? []));
    out.set(ex.workflowId, evs);
  }
  for (const evs of out.values()) evs.sort((a, b) => a.at - b.at || a.id - b.id);
  return out;
}

export interface TypeProfile {
  type: string;
  workflows: number;
  runs: number;
  /** The longest history of one run. */
  maxHistory: number;
  profile: Profile;
}

/** Per workflow type: how many workflows and runs, and what their histories hold in all. Most events first. */
export function profilesByType(execs: Execution[]): TypeProfile[] {
  const byType = new Map<string, Execution[]>();
  for (const ex of execs) {
    const xs = byType.get(ex.type) ?? [];
    xs.push(ex);
    byType.set(ex.type, xs);
  }
  return [...byType.entries()]
    .map(([type, xs]) => ({
      type,
      workflows: new Set(xs.map((x) => x.workflowId)).size,
      runs: xs.length,
      maxHistory: Math.max(0, ...xs.map((x) => x.historyLength)),
      profile: addProfiles(xs.map((x) => (x.evs ? profile(x.evs) : { ...EMPTY_PROFILE, events: x.historyLength }))),
    }))
    .sort((a, b) => b.profile.events - a.profile.events);
}
