import { TaskState, type Artifact, type Message, type Part, type StreamResponse, type Task } from '@a2a-js/sdk';
import {
  ContentTypeNotSupportedError,
  InvalidAgentResponseError,
  RequestMalformedError,
  TaskNotFoundError,
  UnsupportedOperationError,
  VersionNotSupportedError,
} from '@a2a-js/sdk/errors';
import { ApplicationFailure } from '@temporalio/common';
import { Failure } from '../../shared/errors';

/* A remote A2A task as a step follows it: its events folded into one Task, its outcome, its output. Pure but for errors. */

/** The states a remote task stops at: final, or waiting for us. */
const FINAL: readonly TaskState[] = [
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
];
/** Which status a task is in: its time and message id (a question asked anew has another). */
export const statusKeyOf = (task: Task): string =>
  `${task.status?.timestamp ?? ''}|${task.status?.message?.messageId ?? ''}`;

/**
 * The task stopped: final, or waiting for us. `answered`: the status of the question we just answered, which the
 * remote agent may still show for a moment (its task as stored, before our answer is taken): not a new question.
 */
export function stopsAt(task: Task | undefined, answered?: string): task is Task {
  if (!task) return false;
  const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
  if (state === TaskState.TASK_STATE_INPUT_REQUIRED) return answered === undefined || statusKeyOf(task) !== answered;
  return [...FINAL, TaskState.TASK_STATE_AUTH_REQUIRED].includes(state);
}

/** A remote agent that answered with a message and no task: as a completed task holding that message. */
export function taskOfMessage(m: Message): Task {
  return {
    id: m.taskId,
    contextId: m.contextId,
    status: { state: TaskState.TASK_STATE_COMPLETED, message: m, timestamp: undefined },
    artifacts: [],
    history: [],
    metadata: undefined,
  };
}

function withArtifact(artifacts: Artifact[], next: Artifact, append: boolean): Artifact[] {
  const at = artifacts.findIndex((a) => a.artifactId === next.artifactId);
  if (at < 0) return [...artifacts, next];
  const merged = append ? { ...next, parts: [...(artifacts[at]?.parts ?? []), ...next.parts] } : next;
  return artifacts.map((a, i) => (i === at ? merged : a));
}

/** The task after one event of its stream. */
export function applyEvent(task: Task | undefined, e: StreamResponse): Task | undefined {
  const p = e.payload;
  if (!p) return task;
  const base = (taskId: string, contextId: string): Task =>
    task ?? { id: taskId, contextId, status: undefined, artifacts: [], history: [], metadata: undefined };
  switch (p.$case) {
    case 'task':
      return { ...p.value, artifacts: p.value.artifacts.length > 0 ? p.value.artifacts : (task?.artifacts ?? []) };
    case 'message':
      return taskOfMessage(p.value);
    case 'statusUpdate':
      return { ...base(p.value.taskId, p.value.contextId), status: p.value.status };
    case 'artifactUpdate': {
      const t = base(p.value.taskId, p.value.contextId);
      return p.value.artifact ? { ...t, artifacts: withArtifact(t.artifacts, p.value.artifact, p.value.append) } : t;
    }
  }
}

const valueOf = (part: Part): unknown =>
  part.content?.$case === 'text' || part.content?.$case === 'data' || part.content?.$case === 'url'
    ? part.content.value
    : part.content?.$case === 'raw'
      ? { filename: part.filename, mediaType: part.mediaType, bytes: part.content.value.length }
      : undefined;

/** Text of a message's text parts. */
export const textOf = (m: Message | undefined): string =>
  (m?.parts ?? []).flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('\n');

/**
 * What a completed remote task produced: its one artifact's one part as it is (text, data), several parts as a list,
 * several artifacts by name; without artifacts, its status message's text.
 */
export function outputOf(task: Task): unknown {
  const one = (a: Artifact) => (a.parts.length === 1 && a.parts[0] ? valueOf(a.parts[0]) : a.parts.map(valueOf));
  if (task.artifacts.length === 1 && task.artifacts[0]) return one(task.artifacts[0]);
  if (task.artifacts.length > 1) return Object.fromEntries(task.artifacts.map((a) => [a.name || a.artifactId, one(a)]));
  return textOf(task.status?.message);
}

/** A remote task that ended other than completed: the step fails, not retried (a retry would find the same end). */
export function endedBadly(task: Task, who: string): ApplicationFailure {
  const state = TaskState[task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED] ?? 'unknown';
  const why = textOf(task.status?.message);
  return ApplicationFailure.nonRetryable(
    `the remote agent ${who} ended task ${task.id} ${state.replace('TASK_STATE_', '').toLowerCase()}${why ? `: ${why}` : ''}`,
    Failure.RemoteAgentFailed,
  );
}

const REFUSALS = [
  RequestMalformedError,
  UnsupportedOperationError,
  VersionNotSupportedError,
  ContentTypeNotSupportedError,
  InvalidAgentResponseError,
];

/**
 * A failed call to a remote agent as the step's failure: a task it no longer knows, or a request it refuses, fails the
 * step for good; anything else (unreachable, 5xx, a dropped stream) is retried, and the retry resumes the same task.
 */
export function remoteFailure(err: unknown, who: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof TaskNotFoundError)
    return ApplicationFailure.nonRetryable(
      `the remote agent ${who} no longer knows the task: ${message}`,
      Failure.RemoteAgentFailed,
    );
  if (REFUSALS.some((E) => err instanceof E))
    return ApplicationFailure.nonRetryable(`the remote agent ${who} refused: ${message}`, Failure.RemoteAgentFailed);
  return ApplicationFailure.create({
    type: Failure.RemoteAgentUnavailable,
    message: `the remote agent ${who} could not be reached: ${message}`,
  });
}
