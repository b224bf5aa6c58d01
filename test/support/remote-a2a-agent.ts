import type { Server } from 'node:http';
import express from 'express';
import { Role, TaskState, type AgentCard, type Message, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler, UserBuilder } from '@a2a-js/sdk/server/express';

/**
 * A remote A2A agent for tests, served by @a2a-js/sdk's own server (DefaultRequestHandler, in-memory task store, its
 * Express bindings): what our `a2a` runtime talks to. Its skill `paint`: a message with "ask" asks which colour and
 * paints with the answer; one with "slow" works until `release()`; any other is done at once. It counts the tasks it was
 * given, so a test can tell a resumed task from one sent twice.
 */
export interface RemoteA2aAgent {
  cardUrl: string;
  /** Remote task ids, in the order their first message arrived. */
  started: string[];
  /** Messages received, by remote task id. */
  messages: Map<string, Message[]>;
  /** Remote task ids a client cancelled. */
  cancelled: string[];
  release(): void;
  close(): Promise<void>;
}

const textOf = (m: Message): string =>
  m.parts.flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : [])).join('\n');

const agentMessage = (ctx: RequestContext, text: string): Message => ({
  messageId: `${ctx.taskId}-${Date.now()}`,
  contextId: ctx.contextId,
  taskId: ctx.taskId,
  role: Role.ROLE_AGENT,
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});

export async function startRemoteA2aAgent(opts: { streaming: boolean }): Promise<RemoteA2aAgent> {
  const started: string[] = [];
  const messages = new Map<string, Message[]>();
  const cancelled: string[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));

  const status = (ctx: RequestContext, bus: ExecutionEventBus, state: TaskState, text?: string) =>
    bus.publish(
      AgentEvent.statusUpdate({
        taskId: ctx.taskId,
        contextId: ctx.contextId,
        status: { state, message: text ? agentMessage(ctx, text) : undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );

  const executor: AgentExecutor = {
    async execute(ctx, bus) {
      const message = ctx.userMessage;
      messages.set(ctx.taskId, [...(messages.get(ctx.taskId) ?? []), message]);
      const first = !ctx.task;
      if (first) started.push(ctx.taskId);
      const task: Task = ctx.task ?? {
        id: ctx.taskId,
        contextId: ctx.contextId,
        status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
        artifacts: [],
        history: [message],
        metadata: undefined,
      };
      bus.publish(AgentEvent.task(task));
      const asked = textOf(messages.get(ctx.taskId)?.[0] ?? message);
      if (first && asked.includes('ask')) {
        status(ctx, bus, TaskState.TASK_STATE_INPUT_REQUIRED, 'which colour?');
        bus.finished();
        return;
      }
      status(ctx, bus, TaskState.TASK_STATE_WORKING);
      if (asked.includes('slow')) await held;
      const answer = first ? 'blue' : textOf(message) || JSON.stringify(message.parts[0]?.content?.value);
      bus.publish(
        AgentEvent.artifactUpdate({
          taskId: ctx.taskId,
          contextId: ctx.contextId,
          artifact: {
            artifactId: 'painting',
            name: 'painting',
            description: '',
            parts: [
              {
                content: { $case: 'data', value: { painted: answer, task: ctx.taskId } },
                metadata: undefined,
                filename: '',
                mediaType: 'application/json',
              },
            ],
            metadata: undefined,
            extensions: [],
          },
          append: false,
          lastChunk: true,
          metadata: undefined,
        }),
      );
      status(ctx, bus, TaskState.TASK_STATE_COMPLETED, 'painted');
      bus.finished();
    },
    cancelTask(taskId, bus) {
      cancelled.push(taskId);
      bus.publish(
        AgentEvent.statusUpdate({
          taskId,
          contextId: '',
          status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
          metadata: undefined,
        }),
      );
      bus.finished();
      return Promise.resolve();
    },
  };

  const app = express();
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const card: AgentCard = {
    name: 'Painter',
    description: 'Paints things (a test agent on the A2A SDK)',
    supportedInterfaces: [
      { url: `${base}/a2a/jsonrpc`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' },
      { url: `${base}/a2a/rest`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: '1.0' },
    ],
    provider: undefined,
    version: '1.0.0',
    capabilities: { streaming: opts.streaming, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['application/json'],
    skills: [
      {
        id: 'paint',
        name: 'paint',
        description: 'paints',
        tags: ['painting'],
        examples: [],
        inputModes: [],
        outputModes: [],
        securityRequirements: [],
      },
    ],
    signatures: [],
  };
  const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
  app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
  app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  app.use('/a2a/rest', restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  return {
    cardUrl: `${base}/.well-known/agent-card.json`,
    started,
    messages,
    cancelled,
    release: () => release(),
    close: () =>
      new Promise<void>((r) => {
        release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
