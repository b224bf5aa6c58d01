import { ApplicationFailure, condition } from '@temporalio/workflow';
import { Failure } from '../shared/errors';
import type { HumanInput, InputRequest, TaskSpec, TaskState } from '../shared/task';

/**
 * A task's question to a human (approval or input, `requiresApproval` / `awaitInput`): asked once, answered by the
 * `taskInput` update, or settled by the task's `onInputTimeout` when nobody answers in time. Workflow code.
 */
export class HumanQuestion {
  private decision: HumanInput | undefined;
  private asked = false;
  /** A remote A2A agent's question (its task is input-required), asked each time it comes, whatever the task declares. */
  private remote?: { question?: string };
  /** The human's data, handed to the execute step. */
  answer: unknown;

  constructor(private readonly task: TaskSpec) {}

  /** The task asks a human and has not asked yet. */
  get due(): boolean {
    return (this.task.requiresApproval || this.task.awaitInput) && !this.asked;
  }

  /** A remote agent asks: the next wait is for the answer to `question`. */
  reopen(question: string | undefined): void {
    this.remote = question ? { question } : {};
    this.decision = undefined;
  }

  request(since: string | undefined): InputRequest {
    const { task, remote } = this;
    const description = remote ? (remote.question ?? task.description) : task.description;
    return {
      kind: task.requiresApproval && !remote ? 'approval' : 'input',
      ...(description ? { description } : {}),
      since,
      timeoutSeconds: task.inputTimeoutSeconds,
      onTimeout: task.onInputTimeout,
    };
  }

  /** The update's validator: an answer is taken only while the task waits for one. */
  validate(input: HumanInput, state: TaskState): void {
    if (state !== 'waiting') throw new Error(`task "${this.task.id}" is not waiting for input (it is ${state})`);
    if (typeof input?.approved !== 'boolean') throw new Error('"approved" must be true or false');
  }

  decide(input: HumanInput): void {
    this.decision = input;
  }

  /** Waits for the decision (or the timeout's); throws (not retried) on a rejection or a timeout that fails. */
  async wait(): Promise<void> {
    const { task } = this;
    this.asked = true;
    const answered = await condition(() => this.decision !== undefined, `${task.inputTimeoutSeconds}s`);
    if (!answered) {
      const what = task.requiresApproval && !this.remote ? 'approval' : 'input';
      if (task.onInputTimeout === 'default') this.decision = { approved: true, data: task.defaultInput };
      else
        throw ApplicationFailure.nonRetryable(
          `no ${what} for task "${task.id}" within ${task.inputTimeoutSeconds}s`,
          task.onInputTimeout === 'skip' ? Failure.InputTimeoutSkip : Failure.InputTimeout,
        );
    }
    if (!this.decision?.approved)
      throw ApplicationFailure.nonRetryable(`task "${task.id}" was rejected by a human`, Failure.Rejected);
    this.answer = this.decision.data;
  }
}
