import type { TaskSpec } from '../shared/task';
import type { Assignment, TaskError, TaskState, TaskView } from '../shared/task';

/** What the DAG scheduler keeps of one task: its view's fields, plus its spec, place, output and whether it started. */
export interface TaskRecord extends Pick<
  TaskView,
  | 'state'
  | 'agentId'
  | 'attempts'
  | 'assignments'
  | 'error'
  | 'reason'
  | 'startedAt'
  | 'finishedAt'
  | 'subtasks'
  | 'revisions'
  | 'transitions'
> {
  spec: TaskSpec;
  index: number;
  output?: unknown;
  started?: boolean;
  /** It ran inline in this workflow (TaskView.inline): its output is kept here, not in a task workflow. */
  inline?: boolean;
  /** Reused from this earlier plan by a rerun (src/shared/rerun.ts): never run here; `output` refers to that plan's. */
  reusedFrom?: string;
}

/**
 * A finished task as carried across continue-as-new, packed small because a 10,000-task plan carries thousands:
 * [id, state, agentId, attempts, startedAt ms, finishedAt ms, extras]. Extras hold only what cannot be rebuilt: a
 * history of several assignments, an error, a reason, subtasks, the output of a task that ran inline.
 */
export type CarriedRecord = [string, TaskState, string | null, number, number | null, number | null, CarriedExtras?];
interface CarriedExtras {
  assignments?: Assignment[];
  error?: TaskError;
  reason?: string;
  subtasks?: TaskView[];
  revisions?: TaskView['revisions'];
  /** A task that ran inline: its output, which no task workflow holds. */
  inline?: true;
  output?: unknown;
}
export interface DagSnapshot {
  paused: boolean;
  /** Why dispatching stopped for good (the plan's budget ran out). */
  stopped?: string;
  records: CarriedRecord[];
}

/**
 * Starts a task's workflow, on `agent` when the executor leases agents; calls `onStarted` once it runs (so signals can
 * reach it) and resolves with its outcome.
 */
/** A finished task packed for the next run. */
export function packRecord(r: TaskRecord): CarriedRecord {
  const ms = (iso?: string) => (iso ? Date.parse(iso) : null);
  const extras: CarriedExtras = {};
  const single =
    r.assignments.length === 1 &&
    r.assignments[0]?.agentId === r.agentId &&
    r.assignments[0]?.agentType === r.spec.agentType &&
    r.assignments[0]?.outcome === r.state;
  if (r.assignments.length > 0 && !single) extras.assignments = r.assignments;
  if (r.error) extras.error = r.error;
  if (r.reason) extras.reason = r.reason;
  if (r.subtasks.length > 0) extras.subtasks = r.subtasks;
  if (r.revisions?.length) extras.revisions = r.revisions;
  if (r.inline) {
    extras.inline = true;
    extras.output = r.output;
  }
  const base: [string, TaskState, string | null, number, number | null, number | null] = [
    r.spec.id,
    r.state,
    r.agentId ?? null,
    r.attempts,
    ms(r.startedAt),
    ms(r.finishedAt),
  ];
  return Object.keys(extras).length > 0 ? [...base, extras] : base;
}

/**
 * A task as the previous run left it. A completed task's output is not carried: `outputRef` says how to refer to it
 * (its task workflow's result).
 */
export function unpackRecord(
  fresh: TaskRecord,
  packed: CarriedRecord,
  outputRef: ((taskId: string) => unknown) | undefined,
): TaskRecord {
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  const [, state, agentId, attempts, startedAt, finishedAt, extras = {}] = packed;
  const { spec } = fresh;
  return {
    ...fresh,
    state,
    attempts,
    ...(agentId ? { agentId } : {}),
    startedAt: iso(startedAt),
    finishedAt: iso(finishedAt),
    assignments:
      extras.assignments ??
      (agentId
        ? [
            {
              agentId,
              agentType: spec.agentType,
              outcome: state === 'completed' || state === 'cancelled' ? state : 'failed',
            },
          ]
        : []),
    ...(extras.error ? { error: extras.error } : {}),
    ...(extras.reason ? { reason: extras.reason } : {}),
    subtasks: extras.subtasks ?? [],
    ...(extras.revisions ? { revisions: extras.revisions } : {}),
    ...(extras.inline ? { inline: true } : {}),
    ...(state === 'completed' ? { output: 'output' in extras ? extras.output : outputRef?.(spec.id) } : {}),
  };
}
