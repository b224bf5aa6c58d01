import { z } from 'zod';
import { PlanInput } from '../shared/plan';
import { AgentType } from '../shared/agent-type';
import { CodecPayloads } from './codec-endpoint';
import * as S from './schemas';
import { json, pathPatternOf, type RouteSpec, type Scope } from './route-spec';

/** Every route of the API, by operation id: the single source for Express (app.ts) and the OpenAPI document. */
export const ROUTES = {
  health: {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the API process serves requests (whether Temporal answers is readiness: /readyz)',
    scope: 'public',
    answers: { 200: json('The process is alive', S.HealthSchema) },
    errors: [],
    offline: true,
  },
  ready: {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Temporal answers, a worker runs the agent pool, the registry file is applied',
    description:
      'Public. With API keys configured, a request without a valid key gets only `status`; the `error` (what is missing, ' +
      "Temporal's address) goes to a valid key (any scope).",
    scope: 'public',
    answers: {
      200: json('Ready to take plans', S.ReadySchema),
      503: json('TEMPORAL_UNAVAILABLE, or NOT_READY saying what is missing', S.UnavailableSchema),
    },
    errors: [],
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary:
      'Prometheus metrics: agents by type and state, queue, model tokens / cost / calls by type, plans by status',
    scope: 'read',
    answers: {
      200: { description: 'Prometheus text format 0.0.4', schema: z.string(), contentType: 'text/plain' },
    },
    errors: [],
  },
  openapi: {
    method: 'get',
    path: '/v1/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    scope: 'read',
    answers: { 200: json('The document', S.OpenApiSchema) },
    errors: [],
    offline: true,
  },
  submitPlan: {
    method: 'post',
    path: '/v1/plans',
    summary: 'Submit a plan',
    description:
      'Idempotent by plan `id`: the same id with the same body answers 200 with the plan as it is, with another body 409.',
    scope: 'submit',
    body: { schema: PlanInput, required: true, checkedBy: 'service' },
    answers: {
      202: json('Started', S.SubmitAnswerSchema, { Location: 'The plan: /v1/plans/{planId}' }),
      200: json('Same id and body as an earlier submission', S.SubmitAnswerSchema, {
        Location: 'The plan: /v1/plans/{planId}',
      }),
    },
    errors: ['CONFLICT', 'PAYLOAD_TOO_LARGE', 'NOT_READY'],
  },
  rerunPlan: {
    method: 'post',
    path: '/v1/plans/:planId/rerun',
    summary: 'Rerun a plan from some of its tasks: a new plan reuses the outputs of every other completed task',
    description:
      'Starts a new plan (docs/plans.md, "Rerun"): the `from` tasks run again with their `overrides`, and so does ' +
      'everything that depends on them, every coordinator above them and every task that had not completed; every ' +
      'other completed task is reused by reference (not executed again, no cost). The source plan may be running (it is ' +
      'left alone) or closed. 400 for unknown tasks or an override that breaks the plan; 409 when a reused output can ' +
      'no longer be read (retention, blob store, keys). Idempotent by `id` like a submission.',
    scope: 'submit',
    params: S.PlanIdParam,
    body: { schema: S.RerunBody, required: true },
    answers: {
      202: json('Started', S.RerunAnswerSchema, { Location: 'The new plan: /v1/plans/{planId}' }),
      200: json('Same id and body as an earlier rerun', S.RerunAnswerSchema, {
        Location: 'The new plan: /v1/plans/{planId}',
      }),
    },
    errors: ['NOT_FOUND', 'CONFLICT', 'PAYLOAD_TOO_LARGE', 'NOT_READY'],
  },
  listPlans: {
    method: 'get',
    path: '/v1/plans',
    summary: 'Recent plans, from Temporal visibility',
    scope: 'read',
    query: S.ListQuery,
    answers: { 200: json('Plans, newest first', S.PlanListSchema) },
    errors: [],
  },
  getPlan: {
    method: 'get',
    path: '/v1/plans/:planId',
    summary: "Plan status: progress, every task's state, agent, attempts, assignments, error, times, subtasks, usage",
    scope: 'read',
    params: S.PlanIdParam,
    answers: { 200: json('The plan', S.PlanViewSchema) },
    errors: ['NOT_FOUND'],
  },
  planEvents: {
    method: 'get',
    path: '/v1/plans/:planId/events',
    summary: 'Server-Sent Events of a plan: snapshot, task, message, input, usage, text, plan, end',
    description:
      'text/event-stream (docs/events.md). First `snapshot` (GET /v1/plans/:planId plus `messages`), then `task` (every ' +
      'lifecycle state, attempts, reassignments), `message` (bus), `input` (human input asked / answered), `usage`, ' +
      '`text` (a running model call’s text so far), `plan` (status, progress); `end` when the plan closes, and the ' +
      'server closes the stream. Every event has an increasing `id`; `Last-Event-ID` (or `?lastEventId=`) resumes ' +
      'after it while the API still has it, else a fresh `snapshot` comes first. `: keep-alive` comments every ' +
      'EVENTS_KEEPALIVE_SECONDS. The key may come as `?access_token=` (EventSource cannot set headers).',
    scope: 'read',
    params: S.PlanIdParam,
    query: S.EventsQuery,
    answers: {
      200: {
        description: 'The stream (text/event-stream), until `end` or the client closes it; its schema is one event',
        schema: S.PlanEventSchema,
        contentType: 'text/event-stream',
      },
      204: { description: 'Resumed after the `end` event: nothing more will come (EventSource stops reconnecting)' },
    },
    errors: ['NOT_FOUND'],
  },
  getResult: {
    method: 'get',
    path: '/v1/plans/:planId/result',
    summary: 'Plan result, waiting up to `wait` seconds for the plan to close',
    description:
      'Top-level `outputs` and `errors`; for plans with sub-agents, `tasks`: every task at every depth by id.',
    scope: 'read',
    params: S.PlanIdParam,
    query: S.ResultQuery,
    answers: {
      200: json('Closed', S.PlanResultSchema),
      202: json('Still running', S.PlanRunningSchema),
    },
    errors: ['NOT_FOUND'],
  },
  getTask: {
    method: 'get',
    path: '/v1/plans/:planId/tasks/:taskId',
    summary: 'One task at any depth (task ids are unique within a plan)',
    description:
      'Its state (live while it runs), agent, attempts, error, usage, `path` from the top-level task, and its output once completed.',
    scope: 'read',
    params: S.PlanTaskParams,
    answers: { 200: json('The task', S.TaskDetailSchema) },
    errors: ['NOT_FOUND'],
  },
  getTaskSpec: {
    method: 'get',
    path: '/v1/plans/:planId/tasks/:taskId/spec',
    summary: "A task as its plan declares it: its description and input (what a rerun's overrides change)",
    description:
      'Any depth, for a task declared in the plan (as submitted, or as the rerun that started the plan set it). A ' +
      'sub-agent a coordinator made by reasoning is not declared (404): a rerun of its coordinator makes it afresh.',
    scope: 'read',
    params: S.PlanTaskParams,
    answers: { 200: json('The task as declared', S.TaskSpecSchema) },
    errors: ['NOT_FOUND'],
  },
  cancelPlan: {
    method: 'post',
    path: '/v1/plans/:planId/cancel',
    summary: 'Cancel a plan: running tasks end cancelled, the plan cancelled',
    scope: 'operate',
    params: S.PlanIdParam,
    body: { schema: S.ReasonBody, required: false },
    answers: { 202: json('Cancelling', S.PlanCancellingSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  cancelTask: {
    method: 'post',
    path: '/v1/plans/:planId/tasks/:taskId/cancel',
    summary: 'Cancel one top-level task and its sub-agents; its dependents are skipped',
    scope: 'operate',
    params: S.PlanTaskParams,
    body: { schema: S.ReasonBody, required: false },
    answers: { 202: json('Cancelling', S.TaskCancellingSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  pausePlan: {
    method: 'post',
    path: '/v1/plans/:planId/pause',
    summary: 'Pause: the plan starts no new tasks; running ones finish',
    scope: 'operate',
    params: S.PlanIdParam,
    answers: { 202: json('Paused', S.PausedSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  resumePlan: {
    method: 'post',
    path: '/v1/plans/:planId/resume',
    summary: 'Resume a paused plan',
    scope: 'operate',
    params: S.PlanIdParam,
    answers: { 202: json('Resumed', S.PausedSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  sendMessage: {
    method: 'post',
    path: '/v1/plans/:planId/messages',
    summary: 'Send a message to a task, an agent, or "*" (every running agent of the plan); de-duplicated by id',
    scope: 'submit',
    params: S.PlanIdParam,
    body: { schema: S.MessageBody, required: true },
    answers: { 202: json('On the plan bus', S.MessageSentSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  listMessages: {
    method: 'get',
    path: '/v1/plans/:planId/messages',
    summary: "The plan's messages, with their delivery state per recipient",
    scope: 'read',
    params: S.PlanIdParam,
    answers: { 200: json('Messages', S.MessageLogSchema) },
    errors: ['NOT_FOUND'],
  },
  taskInput: {
    method: 'post',
    path: '/v1/plans/:planId/tasks/:taskId/input',
    summary: "A human's answer to a task waiting for approval or input",
    scope: 'submit',
    params: S.PlanTaskParams,
    body: { schema: S.InputBody, required: true },
    answers: { 200: json("The task's new state", S.TaskInputAnswerSchema) },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  createSchedule: {
    method: 'post',
    path: '/v1/schedules',
    summary: 'Create a schedule: a plan template started on a cron expression or an interval (a Temporal Schedule)',
    description:
      'docs/schedules.md. The template is checked as POST /v1/plans checks a plan (same 400 and 413); each run is a ' +
      'plan of its own, `<plan.id or schedule id>-<scheduled time>`, that names its schedule. Idempotent by `id`: ' +
      'the same id with the same body answers 200, with another body 409.',
    scope: 'submit',
    body: { schema: S.ScheduleInput, required: true, checkedBy: 'service' },
    answers: {
      201: json('Created', S.ScheduleCreatedSchema, { Location: 'The schedule: /v1/schedules/{scheduleId}' }),
      200: json('Same id and body as an earlier request', S.ScheduleCreatedSchema, {
        Location: 'The schedule: /v1/schedules/{scheduleId}',
      }),
    },
    errors: ['CONFLICT', 'PAYLOAD_TOO_LARGE', 'NOT_READY'],
  },
  listSchedules: {
    method: 'get',
    path: '/v1/schedules',
    summary: "The plans' schedules, with their next runs and recent plans",
    scope: 'read',
    query: S.ScheduleListQuery,
    answers: { 200: json('Schedules, by id', S.ScheduleListSchema) },
    errors: [],
  },
  getSchedule: {
    method: 'get',
    path: '/v1/schedules/:scheduleId',
    summary: 'One schedule: timing, policies, next runs, what it did, and its plans with their status',
    scope: 'read',
    params: S.ScheduleIdParam,
    answers: { 200: json('The schedule', S.ScheduleViewSchema) },
    errors: ['NOT_FOUND'],
  },
  pauseSchedule: {
    method: 'post',
    path: '/v1/schedules/:scheduleId/pause',
    summary: 'Pause a schedule: no plan starts until it is unpaused (running plans go on)',
    scope: 'operate',
    params: S.ScheduleIdParam,
    body: { schema: S.ReasonBody, required: false },
    answers: { 200: json('Paused', S.SchedulePausedSchema) },
    errors: ['NOT_FOUND'],
  },
  unpauseSchedule: {
    method: 'post',
    path: '/v1/schedules/:scheduleId/unpause',
    summary: 'Unpause a schedule',
    scope: 'operate',
    params: S.ScheduleIdParam,
    body: { schema: S.ReasonBody, required: false },
    answers: { 200: json('Unpaused', S.SchedulePausedSchema) },
    errors: ['NOT_FOUND'],
  },
  triggerSchedule: {
    method: 'post',
    path: '/v1/schedules/:scheduleId/trigger',
    summary: 'Start one plan of the schedule now (also while paused, whatever its overlap policy)',
    scope: 'submit',
    params: S.ScheduleIdParam,
    answers: { 202: json('Starting', S.ScheduleTriggeredSchema) },
    errors: ['NOT_FOUND'],
  },
  deleteSchedule: {
    method: 'delete',
    path: '/v1/schedules/:scheduleId',
    summary: 'Delete a schedule; the plans it started run on',
    scope: 'submit',
    params: S.ScheduleIdParam,
    answers: { 204: { description: 'Deleted' } },
    errors: ['NOT_FOUND'],
  },
  listAgentTypes: {
    method: 'get',
    path: '/v1/agent-types',
    summary: 'The registry: every agent type',
    scope: 'read',
    answers: { 200: json('Agent types', z.strictObject({ agentTypes: z.array(AgentType) })) },
    errors: ['NOT_READY'],
  },
  getAgentType: {
    method: 'get',
    path: '/v1/agent-types/:name',
    summary: 'One agent type',
    scope: 'read',
    params: S.AgentTypeParam,
    answers: { 200: json('The agent type', AgentType) },
    errors: ['NOT_FOUND', 'NOT_READY'],
  },
  putAgentType: {
    method: 'put',
    path: '/v1/agent-types/:name',
    summary: 'Register or replace an agent type (the name comes from the path)',
    description:
      'Without TRUST_AGENT_TYPES_FROM_API, a type may not declare stdio MCP servers, `apiKeyEnv`, a `baseUrl` for openai/anthropic, or `${VAR}` in MCP settings (400). A type of runtime provider `a2a` without `capabilities` takes them from its remote card (a capability per skill).',
    scope: 'admin',
    params: S.AgentTypeParam,
    body: {
      // An `a2a` type may leave its capabilities out: they are read from the remote agent's card (docs/a2a.md).
      schema: AgentType.extend({
        name: AgentType.shape.name.optional(),
        capabilities: AgentType.shape.capabilities.optional(),
      }),
      required: true,
    },
    answers: { 201: json('Registered', AgentType), 200: json('Replaced', AgentType) },
    errors: ['NOT_READY'],
  },
  deleteAgentType: {
    method: 'delete',
    path: '/v1/agent-types/:name',
    summary: 'Remove an agent type (not while it has busy instances)',
    scope: 'admin',
    params: S.AgentTypeParam,
    answers: { 204: { description: 'Removed' } },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },
  codecDecode: {
    method: 'post',
    path: '/codec/decode',
    summary: "Decrypt payloads: Temporal's remote codec protocol, for the Web UI and `temporal --codec-endpoint`",
    description: 'docs/security.md. 404 when payload encryption is off.',
    scope: 'read',
    body: { schema: CodecPayloads, required: true },
    answers: { 200: json('The payloads, decoded', CodecPayloads) },
    errors: ['NOT_FOUND'],
    offline: true,
  },
  codecEncode: {
    method: 'post',
    path: '/codec/encode',
    summary: 'Encrypt payloads (remote codec protocol), e.g. for `temporal workflow start --codec-endpoint`',
    description: 'docs/security.md. 404 when payload encryption is off.',
    scope: 'submit',
    body: { schema: CodecPayloads, required: true },
    answers: { 200: json('The payloads, encoded', CodecPayloads) },
    errors: ['NOT_FOUND'],
    offline: true,
  },
  listAgents: {
    method: 'get',
    path: '/v1/agents',
    summary: 'The agent pool: instances with their live lifecycle state, counts, usage by type',
    scope: 'read',
    answers: { 200: json('The pool', S.AgentsSchema) },
    errors: [],
  },
  agentEvents: {
    method: 'get',
    path: '/v1/agents/events',
    summary: 'Server-Sent Events of the agent pool: snapshot, agent, pool',
    description:
      'text/event-stream (docs/events.md). First `snapshot` (GET /v1/agents), then `agent` when an instance appears, ' +
      'changes state or task, or goes (`gone: true`), and `pool` when the busy / idle / queued counts change. No end: ' +
      'the client closes it. `Last-Event-ID`, keep-alive comments and `?access_token=` as for a plan’s events.',
    scope: 'read',
    query: S.EventsQuery,
    answers: {
      200: {
        description: 'The stream (text/event-stream), until the client closes it; its schema is one event',
        schema: S.PoolEventSchema,
        contentType: 'text/event-stream',
      },
    },
    errors: [],
  },
  getAgent: {
    method: 'get',
    path: '/v1/agents/:agentId',
    summary: 'One agent instance (also recently terminated ones): transitions and recent memory',
    description:
      'DELETE /v1/agents/:agentId terminates an instance; this keeps answering 200 for it, with state "terminated", ' +
      'until the pool forgets it.',
    scope: 'read',
    params: S.AgentIdParam,
    answers: { 200: json('The instance', S.AgentDetailSchema) },
    errors: ['NOT_FOUND'],
  },
  terminateAgent: {
    method: 'delete',
    path: '/v1/agents/:agentId',
    summary: 'Terminate an idle agent instance',
    scope: 'admin',
    params: S.AgentIdParam,
    answers: { 204: { description: 'Terminated' } },
    errors: ['NOT_FOUND', 'CONFLICT'],
  },

  // ---- A2A (docs/a2a.md): served by @a2a-js/sdk's bindings over the plans API (src/api/a2a) ----
  a2aAgentCard: {
    method: 'get',
    path: '/.well-known/agent-card.json',
    summary: "The orchestrator's A2A Agent Card: a skill per capability, the key schemes, the two bindings",
    description:
      'In API_PUBLIC_PATHS by default, so A2A clients can discover the agent before they have a key. Built from the ' +
      'live registry; the bindings are at A2A_PUBLIC_URL (default: the address the request came to).',
    scope: 'public',
    answers: { 200: json('The card', S.A2aAgentCardSchema) },
    errors: [],
    servedBy: 'a2a',
  },
  a2aJsonRpc: {
    method: 'post',
    path: '/a2a/jsonrpc',
    summary: 'A2A JSON-RPC binding: SendMessage, SendStreamingMessage, GetTask, ListTasks, CancelTask, SubscribeToTask',
    description:
      'The scope depends on the method: `submit` to send messages, `operate` to cancel, `read` for the rest (403 ' +
      'before the call otherwise). Streaming methods answer text/event-stream. Protocol errors come as JSON-RPC errors.',
    scope: 'read',
    body: { schema: S.A2aJsonRpcBody, required: true, checkedBy: 'service' },
    answers: {
      200: {
        description: 'The JSON-RPC response (or, for the streaming methods, its stream as text/event-stream)',
        schema: S.A2aJsonRpcAnswer,
      },
    },
    errors: [],
    servedBy: 'a2a',
  },
  a2aSendMessage: {
    method: 'post',
    path: '/a2a/rest/message\\:send',
    summary: 'A2A SendMessage (HTTP+JSON): start a plan, or answer a task that waits for input; waits for the outcome',
    description:
      "A plan as a data part, or one task for `metadata.skill`; a message with `taskId` answers the plan's waiting " +
      'task. Unless `configuration.returnImmediately`, answers once the task completes, fails, is cancelled or needs input.',
    scope: 'submit',
    body: { schema: S.A2aSendMessageBody, required: true, checkedBy: 'service' },
    answers: {
      200: { description: 'The task (the plan)', schema: S.A2aSendMessageAnswer, contentType: 'application/a2a+json' },
    },
    errors: ['NOT_FOUND'],
    servedBy: 'a2a',
  },
  a2aStreamMessage: {
    method: 'post',
    path: '/a2a/rest/message\\:stream',
    summary:
      'A2A SendStreamingMessage (HTTP+JSON): as message:send, then the task and its updates as Server-Sent Events',
    scope: 'submit',
    body: { schema: S.A2aSendMessageBody, required: true, checkedBy: 'service' },
    answers: {
      200: {
        description: 'The task, then status and artifact updates, until it ends or needs input',
        schema: z.string(),
        contentType: 'text/event-stream',
      },
    },
    errors: ['NOT_FOUND'],
    servedBy: 'a2a',
  },
  a2aListTasks: {
    method: 'get',
    path: '/a2a/rest/tasks',
    summary: 'A2A ListTasks (HTTP+JSON): recent plans as A2A tasks, newest first',
    scope: 'read',
    answers: { 200: { description: 'The tasks', schema: S.A2aTaskListSchema, contentType: 'application/a2a+json' } },
    errors: [],
    servedBy: 'a2a',
  },
  a2aGetTask: {
    method: 'get',
    path: '/a2a/rest/tasks/:taskId',
    summary: 'A2A GetTask (HTTP+JSON): a plan as an A2A task, with its outputs as artifacts once it closed',
    scope: 'read',
    params: S.A2aTaskParam,
    answers: { 200: { description: 'The task', schema: S.A2aTaskSchema, contentType: 'application/a2a+json' } },
    errors: ['NOT_FOUND'],
    servedBy: 'a2a',
  },
  a2aCancelTask: {
    method: 'post',
    path: '/a2a/rest/tasks/:taskId\\:cancel',
    summary: 'A2A CancelTask (HTTP+JSON): cancel the plan; answers once it ended (or after 10 s, as it is then)',
    scope: 'operate',
    params: S.A2aTaskParam,
    answers: { 200: { description: 'The task', schema: S.A2aTaskSchema, contentType: 'application/a2a+json' } },
    errors: ['NOT_FOUND', 'CONFLICT'],
    servedBy: 'a2a',
  },
  a2aSubscribeTask: {
    method: 'get',
    path: '/a2a/rest/tasks/:taskId\\:subscribe',
    summary: "A2A SubscribeToTask (HTTP+JSON): a running plan's task and its updates as Server-Sent Events",
    scope: 'read',
    params: S.A2aTaskParam,
    answers: {
      200: {
        description: 'The task, then its updates, until it ends',
        schema: z.string(),
        contentType: 'text/event-stream',
      },
    },
    errors: ['NOT_FOUND'],
    servedBy: 'a2a',
  },
  a2aSubscribeTaskPost: {
    method: 'post',
    path: '/a2a/rest/tasks/:taskId\\:subscribe',
    summary: 'A2A SubscribeToTask (HTTP+JSON), as POST',
    scope: 'read',
    params: S.A2aTaskParam,
    answers: {
      200: {
        description: 'The task, then its updates, until it ends',
        schema: z.string(),
        contentType: 'text/event-stream',
      },
    },
    errors: ['NOT_FOUND'],
    servedBy: 'a2a',
  },
} as const satisfies Record<string, RouteSpec>;

export type OperationId = keyof typeof ROUTES;
/** The routes app.ts has a handler for (the others are served by the A2A bindings). */
export type HandledOperationId = {
  [K in OperationId]: (typeof ROUTES)[K] extends { servedBy: 'a2a' } ? never : K;
}[OperationId];

/** The routes as a list, with their operation ids. */
export const ROUTE_LIST: (RouteSpec & { operationId: OperationId })[] = Object.entries(ROUTES).map(
  ([operationId, spec]) => ({ ...(spec as RouteSpec), operationId: operationId as OperationId }),
);

/** The methods a path has, upper case, in the table's order: what a 405's `Allow` header lists. */
export function methodsOf(path: string): string[] {
  return ROUTE_LIST.filter((r) => r.path === path).map((r) => r.method.toUpperCase());
}

const patterns = ROUTE_LIST.map((route) => ({
  route,
  regex: pathPatternOf(route.path),
}));

/** The route a request goes to (method and path, as Express matches them), or undefined; for auth's scope lookup. */
export function routeOf(method: string, path: string): (RouteSpec & { operationId: OperationId }) | undefined {
  const m = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
  return patterns.find((p) => p.route.method === m && p.regex.test(path))?.route;
}

/** The scope a request needs, or undefined for a route the table does not have (404 / 405). */
export function scopeOf(method: string, path: string): Scope | undefined {
  return routeOf(method, path)?.scope;
}
