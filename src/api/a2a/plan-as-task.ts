import { Role, TaskState, type Artifact, type Message, type Part, type Task } from '@a2a-js/sdk';
import type { PlanResult, PlanStatus, PlanView } from '../../shared/plan';
import type { TaskView } from '../../shared/task';
import { flattenTasks } from '../plans/tasks';

/*
 * A plan seen as an A2A task (docs/a2a.md): the A2A task id and context id are the plan id, its state comes from the
 * plan's status (and its tasks' states while it runs), its artifacts are the plan's outputs. Pure: no I/O.
 */

/** The A2A state of a plan with this status whose tasks are in these states. */
export function a2aStateOf(status: PlanStatus, tasks: readonly Pick<TaskView, 'state'>[]): TaskState {
  switch (status) {
    case 'completed':
    case 'partial':
      return TaskState.TASK_STATE_COMPLETED;
    case 'failed':
      return TaskState.TASK_STATE_FAILED;
    case 'cancelled':
      return TaskState.TASK_STATE_CANCELED;
    case 'running':
      if (tasks.some((t) => t.state === 'waiting')) return TaskState.TASK_STATE_INPUT_REQUIRED;
      if (tasks.every((t) => t.state === 'pending')) return TaskState.TASK_STATE_SUBMITTED;
      return TaskState.TASK_STATE_WORKING;
  }
}

export const FINAL_A2A_STATES: readonly TaskState[] = [
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
];

/** The A2A states a stream stops at: final, or waiting for the client (the next message answers). */
export const isInterrupting = (state: TaskState): boolean =>
  FINAL_A2A_STATES.includes(state) || state === TaskState.TASK_STATE_INPUT_REQUIRED;

export function textPart(text: string): Part {
  return { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

export function dataPart(value: unknown): Part {
  return { content: { $case: 'data', value }, metadata: undefined, filename: '', mediaType: 'application/json' };
}

/** An output as a part: text stays text, anything else is a data part. */
export const partOf = (output: unknown): Part => (typeof output === 'string' ? textPart(output) : dataPart(output));

export function agentMessage(planId: string, id: string, parts: Part[], metadata?: Record<string, unknown>): Message {
  return {
    messageId: id,
    contextId: planId,
    taskId: planId,
    role: Role.ROLE_AGENT,
    parts,
    metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The tasks waiting for a human, at any depth, with what they ask. */
export function waitingTasks(view: Pick<PlanView, 'tasks'>): TaskView[] {
  return flattenTasks(view.tasks)
    .map((t) => t.task)
    .filter((t) => t.state === 'waiting');
}

/** What the status says in words: the question of a task waiting for a human, or why the plan failed. */
function statusMessage(view: PlanView, state: TaskState, result?: PlanResult | null): Message | undefined {
  if (state === TaskState.TASK_STATE_INPUT_REQUIRED) {
    const asking = waitingTasks(view);
    const lines = asking.map((t) => {
      const what = t.input?.kind === 'approval' ? 'approval' : 'input';
      return `task "${t.id}" waits for ${what}${t.input?.description ? `: ${t.input.description}` : ''}`;
    });
    return agentMessage(
      view.planId,
      `${view.planId}:input:${asking.map((t) => t.id).join(',')}`,
      [textPart(lines.join('\n'))],
      {
        waiting: asking.map((t) => ({ taskId: t.id, kind: t.input?.kind ?? 'input' })),
      },
    );
  }
  const errors = Object.entries(result?.errors ?? {});
  if (state === TaskState.TASK_STATE_FAILED && errors.length > 0) {
    const text = errors.map(([id, e]) => `task "${id}" ${e.state}: ${e.message}`).join('\n');
    return agentMessage(view.planId, `${view.planId}:failed`, [textPart(text)], { errors: result?.errors });
  }
  return undefined;
}

/** One artifact per top-level output, named by its task. */
export function artifactsOf(result: PlanResult | null | undefined): Artifact[] {
  return Object.entries(result?.outputs ?? {}).map(([taskId, output]) => ({
    artifactId: taskId,
    name: taskId,
    description: `the output of task "${taskId}"`,
    parts: [partOf(output)],
    metadata: undefined,
    extensions: [],
  }));
}

/** The plan as an A2A task; `result` (when the plan closed) gives its artifacts. */
export function planAsTask(view: PlanView, result?: PlanResult | null): Task {
  const state = a2aStateOf(
    view.status,
    flattenTasks(view.tasks).map((t) => t.task),
  );
  return {
    id: view.planId,
    contextId: view.planId,
    status: {
      state,
      message: statusMessage(view, state, result),
      timestamp: view.closedAt ?? new Date().toISOString(),
    },
    artifacts: artifactsOf(result),
    history: [],
    metadata: {
      planStatus: view.status,
      progress: view.progress,
      ...(view.name ? { name: view.name } : {}),
      ...(view.reason ? { reason: view.reason } : {}),
    },
  };
}
