import {
  Role,
  TaskState,
  type AgentCard,
  type Message,
  type Part,
  type SendMessageRequest,
  type Task,
} from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { ApplicationFailure } from '@temporalio/common';
import type { AgentType } from '../../shared/agent-type';
import { Failure } from '../../shared/errors';
import type {
  AiRuntime,
  ExecuteContext,
  RemoteTaskRef,
  StepContext,
  StepControl,
  Turn,
  ValidateContext,
} from '../types';
import {
  applyEvent,
  endedBadly,
  outputOf,
  remoteFailure,
  statusKeyOf,
  stopsAt,
  taskOfMessage,
  textOf,
} from './remote-task';

/** What an execute step heartbeats once the remote agent took its message: a retry of the step resumes from it. */
interface RemoteDetails {
  a2a: RemoteTaskRef & { messageId: string };
}

function detailsOf(details: unknown, messageId: string): RemoteTaskRef | undefined {
  const a2a = (details as Partial<RemoteDetails> | undefined)?.a2a;
  return a2a && a2a.messageId === messageId && typeof a2a.taskId === 'string' ? a2a : undefined;
}

export interface RemoteAgentDeps {
  env: NodeJS.ProcessEnv;
  /** How often a remote task is read while it runs, when the remote agent does not stream. */
  pollMs: number;
}

const text = (value: string): Part => ({
  content: { $case: 'text', value },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});
const data = (value: unknown): Part => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});

/**
 * An agent type whose work is done by a remote A2A agent (runtime provider `a2a`, docs/a2a.md). Its execute step sends
 * the task to the remote agent and follows it to completion, streaming when the card says the agent streams, polling
 * otherwise. Durable: the message id is the step's idempotency key, and the remote task's id is heartbeated as soon as
 * it is known, so a retried step (a worker died) resumes the same remote task instead of sending the task again. A
 * remote task that needs input becomes the task's human-input wait; the answer goes back to the same remote task.
 */
export class RemoteAgentRuntime implements AiRuntime {
  private connection?: Promise<{ client: Client; card: AgentCard }>;
  private readonly who: string;

  constructor(
    private readonly type: AgentType,
    private readonly deps: RemoteAgentDeps,
  ) {
    this.who = `"${type.name}" (${type.runtime.cardUrl})`;
  }

  /** Requests carry `Authorization: Bearer $<apiKeyEnv>` when the type names a key variable. */
  private fetch(): typeof fetch {
    const name = this.type.runtime.apiKeyEnv;
    if (!name) return (input, init) => fetch(input, init);
    const key = this.deps.env[name];
    if (!key)
      throw ApplicationFailure.nonRetryable(
        `the key variable ${name} of the remote agent ${this.who} is not set in the worker's environment`,
        Failure.RemoteAgentFailed,
      );
    return (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${key}`);
      return fetch(input, { ...init, headers });
    };
  }

  /** The remote agent's card and a client for it, read once per worker (again after a failure). */
  private connect(): Promise<{ client: Client; card: AgentCard }> {
    this.connection ??= (async () => {
      const fetchImpl = this.fetch();
      const factory = new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
          transports: [new JsonRpcTransportFactory({ fetchImpl }), new RestTransportFactory({ fetchImpl })],
          cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
        }),
      );
      const client = await factory.createFromUrl(this.type.runtime.cardUrl as string, '');
      return { client, card: await client.getAgentCard() };
    })();
    this.connection.catch(() => (this.connection = undefined));
    return this.connection;
  }

  reason(ctx: StepContext): Promise<{ thoughts: string }> {
    return Promise.resolve({
      thoughts: `hand "${ctx.description ?? ctx.taskId}" to the remote A2A agent ${this.who}`,
    });
  }

  async turn(ctx: ExecuteContext, control: StepControl): Promise<Turn> {
    const messageId = control.idempotencyKey;
    let client: Client | undefined;
    // The remote task this step sent, once known (for cancelling it with ours); one per call, steps run concurrently.
    const sent: { task?: RemoteTaskRef } = {};
    try {
      const connected = await control.keepAlive(() => this.connect());
      client = connected.client;
      const resumed = detailsOf(control.lastDetails, messageId);
      const answered = ctx.remote?.askedIn;
      // Heartbeats go on while the remote agent works without a word (and carry the remote task's id once known).
      const task = await control.keepAlive(() =>
        resumed
          ? this.resume(connected.client, connected.card, resumed, control, answered)
          : this.send(connected.client, connected.card, this.messageOf(ctx, messageId), control, answered, sent),
      );
      return this.outcome(task);
    } catch (err) {
      const { cancellationSignal } = control;
      if (!cancellationSignal.aborted) throw remoteFailure(err, this.who);
      // Our task was cancelled: so is the remote one (best effort), and the step ends cancelled.
      const known = sent.task ?? detailsOf(control.lastDetails, messageId);
      if (client && known)
        await client.cancelTask({ tenant: '', id: known.taskId, metadata: undefined }).catch(() => undefined);
      throw cancellationSignal.reason instanceof Error ? cancellationSignal.reason : err;
    }
  }

  validate(ctx: ValidateContext): Promise<{ ok: true } | { ok: false; reason: string }> {
    const empty = ctx.output === undefined || ctx.output === null || ctx.output === '';
    return Promise.resolve(empty ? { ok: false, reason: 'the remote agent completed with no output' } : { ok: true });
  }

  review(): Promise<never> {
    return Promise.reject(
      ApplicationFailure.nonRetryable(`the remote agent ${this.who} cannot review`, Failure.BadInput),
    );
  }

  /** The task's message: what to do (a new remote task), or a human's answer to the remote task's question. */
  private messageOf(ctx: ExecuteContext, messageId: string): Message {
    const { remote } = ctx;
    const parts: Part[] = [];
    if (remote) {
      parts.push(typeof remote.answer === 'string' ? text(remote.answer) : data(remote.answer ?? null));
    } else {
      parts.push(text(ctx.description ?? `task ${ctx.taskId}`));
      const context = {
        ...(ctx.input ? { input: ctx.input } : {}),
        ...(Object.keys(ctx.dependencies).length > 0 ? { dependencies: ctx.dependencies } : {}),
        ...(ctx.humanInput !== undefined ? { humanInput: ctx.humanInput } : {}),
      };
      if (Object.keys(context).length > 0) parts.push(data(context));
    }
    return {
      messageId,
      contextId: remote?.task.contextId ?? '',
      taskId: remote?.task.taskId ?? '',
      role: Role.ROLE_USER,
      parts,
      metadata: { planId: ctx.planId, taskId: ctx.taskId, agentId: ctx.agentId },
      extensions: [],
      referenceTaskIds: [],
    };
  }

  /** Records the remote task as the step's heartbeat details, so a retry resumes it. */
  private remember(
    control: StepControl,
    task: Task | undefined,
    messageId: string,
    sent: { task?: RemoteTaskRef },
  ): void {
    if (!task?.id) return;
    sent.task = { taskId: task.id, contextId: task.contextId };
    control.heartbeat({ a2a: { ...sent.task, messageId } });
  }

  private async send(
    client: Client,
    card: AgentCard,
    message: Message,
    control: StepControl,
    answered: string | undefined,
    sent: { task?: RemoteTaskRef },
  ): Promise<Task> {
    const signal = control.cancellationSignal;
    const streams = card.capabilities?.streaming === true;
    const request: SendMessageRequest = {
      tenant: '',
      message,
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        returnImmediately: !streams,
      },
      metadata: undefined,
    };
    let task: Task | undefined;
    if (streams) {
      for await (const e of client.sendMessageStream(request, { signal })) {
        const known = task?.id;
        task = applyEvent(task, e);
        if (!known) this.remember(control, task, message.messageId, sent);
        else control.heartbeat();
        if (stopsAt(task, answered)) return task;
      }
    } else {
      const answer = await client.sendMessage(request, { signal });
      task = 'status' in answer ? answer : taskOfMessage(answer);
      this.remember(control, task, message.messageId, sent);
    }
    if (!task?.id) throw new Error('the remote agent answered without a task');
    return stopsAt(task, answered) ? task : this.poll(client, task, control, answered);
  }

  private async resume(
    client: Client,
    card: AgentCard,
    ref: RemoteTaskRef,
    control: StepControl,
    answered: string | undefined,
  ): Promise<Task> {
    const signal = control.cancellationSignal;
    const first = await client.getTask({ tenant: '', id: ref.taskId, historyLength: 0 }, { signal });
    if (stopsAt(first, answered)) return first;
    let task: Task = first;
    if (card.capabilities?.streaming === true) {
      for await (const e of client.resubscribeTask({ tenant: '', id: ref.taskId }, { signal })) {
        task = applyEvent(task, e) ?? task;
        control.heartbeat();
        if (stopsAt(task, answered)) return task;
      }
    }
    return this.poll(client, task, control, answered);
  }

  /** Reads the task until it stops (a stream that ended early, or an agent that does not stream). */
  private async poll(client: Client, task: Task, control: StepControl, answered: string | undefined): Promise<Task> {
    let now = task;
    while (!stopsAt(now, answered)) {
      await control.sleep(this.deps.pollMs);
      now = await client.getTask({ tenant: '', id: task.id, historyLength: 0 }, { signal: control.cancellationSignal });
    }
    return now;
  }

  private outcome(task: Task): Turn {
    const state = task.status?.state;
    if (state === TaskState.TASK_STATE_COMPLETED) return { output: outputOf(task) };
    if (state === TaskState.TASK_STATE_INPUT_REQUIRED) {
      const question = textOf(task.status?.message);
      return {
        inputRequired: {
          task: { taskId: task.id, contextId: task.contextId },
          ...(question ? { question } : {}),
          askedIn: statusKeyOf(task),
        },
      };
    }
    throw endedBadly(task, this.who);
  }
}
