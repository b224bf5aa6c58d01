import { z } from 'zod';
import { AGENT_STATES } from '../shared/agent';
import { PLAN_STATUSES, PlanInput } from '../shared/plan';
import { Id, TaskInput } from '../shared/task';
import { TASK_STATES } from '../shared/task';
import type { MailLogEntry } from '../shared/agent-mail';
import type { PlanResult, PlanView } from '../shared/plan';
import type { TaskView } from '../shared/task';
import { FailurePolicy, PlanMode } from '../shared/plan';
import type { PoolView } from '../shared/pool';
import type { Usage, UsageReport } from '../shared/usage';
import type { AgentView } from '../shared/agent';
import type { SubmitAnswer } from './plans';
import type { PlanSummary } from '../shared/plan';
import type { TaskSummary } from './plans/tasks';
import { OVERLAP_POLICIES, type ScheduleCreated, type ScheduleSummary, type ScheduleView } from '../shared/schedule';

/**
 * The zod schemas of what the HTTP API takes and answers, besides the plan and agent type schemas of src/shared. The
 * route table (routes.ts) names them per route; requests are validated with them, the OpenAPI document is generated
 * from them, and the type checks at the bottom keep the answers in step with what the services return.
 */

// ---- Requests ----

export const PlanIdParam = z.object({
  planId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/),
});
export const PlanTaskParams = PlanIdParam.extend({ taskId: z.string().min(1) });
export const AgentTypeParam = z.object({ name: z.string().min(1) });
export const AgentIdParam = z.object({ agentId: z.string().min(1) });

export const ResultQuery = z.object({ wait: z.coerce.number().min(0).max(60).default(0) });
/** A schedule's id: its plans are `<id>-<time>` (21 characters of time), and a plan id has at most 100. */
export const ScheduleId = Id.refine((id) => id.length <= 79, 'a schedule id has at most 79 characters').refine(
  (id) => !id.includes('-task-'),
  'a schedule id may not contain "-task-"',
);
export const ScheduleIdParam = z.object({ scheduleId: ScheduleId });

export const ScheduleListQuery = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100) });
export const ListQuery = z.object({
  status: z.enum(PLAN_STATUSES).optional(),
  schedule: ScheduleId.optional().meta({ description: 'Only the plans this schedule started' }),
  rerunOf: PlanIdParam.shape.planId.optional().meta({ description: 'Only the plans forked from this one (reruns)' }),
  limit: z.coerce.number().int().min(1).max(1_000).default(50),
});
export const MessageBody = z.object({
  id: z.string().min(1).max(200).optional(),
  from: z.string().min(1).max(200).optional(),
  to: z.string().min(1).max(200),
  body: z.unknown().refine((b) => b !== undefined, 'body is required'),
});
/** POST /v1/plans/:planId/rerun (docs/plans.md, "Rerun"). */
// Spelled out, not TaskInput.pick().partial(): a picked field keeps its default (capabilities: []), and an override
// naming only a description would then clear the task's capabilities.
const TaskOverride = z
  .object({
    description: TaskInput.shape.description,
    input: TaskInput.shape.input,
    agentType: TaskInput.shape.agentType,
    capabilities: TaskInput.shape.capabilities.unwrap().optional(),
    output: TaskInput.shape.output,
    acceptance: TaskInput.shape.acceptance,
  })
  .strict();
export const RerunBody = z
  .object({
    id: PlanInput.shape.id.meta({
      description: "The new plan's id (default: a fresh UUID); the same id and body again answer 200",
    }),
    from: z.union([z.literal('failed'), z.array(Id).max(1_000)]).meta({
      description:
        'The tasks to run again (any depth), with everything that depends on them and every coordinator above them; ' +
        '"failed": every failed, skipped or cancelled task',
    }),
    overrides: z
      .record(Id, TaskOverride)
      .optional()
      .meta({ description: 'By task id: what changes; a task with an override runs again too' }),
    // Spelled out too: failurePolicy and maxConcurrency have defaults, which would replace the source's.
    settings: z
      .object({
        name: PlanInput.shape.name,
        failurePolicy: PlanInput.shape.failurePolicy.unwrap().optional(),
        maxConcurrency: PlanInput.shape.maxConcurrency.unwrap().optional(),
        budget: PlanInput.shape.budget,
      })
      .strict()
      .optional()
      .meta({ description: "The new plan's name, failure policy, concurrency and budget (default: the source's)" }),
  })
  .strict();
export const InputBody = z.object({ approved: z.boolean(), data: z.unknown().optional() });
/** Event streams: where to resume (EventSource sends the Last-Event-ID header instead), and the key for EventSource. */
export const EventsQuery = z.object({
  lastEventId: z
    .string()
    .regex(/^\d{1,16}$/)
    .optional(),
  access_token: z.string().optional(),
});
/**
 * One Server-Sent Event of a stream, as a client's parser reads it (the document describes a text/event-stream answer
 * event by event): its increasing `id`, its name, and `data`, one line of JSON (docs/events.md).
 */
const sseEvent = (names: readonly [string, ...string[]]) =>
  z.looseObject({
    id: z.string().regex(/^\d+$/).optional(),
    event: z.enum(names).optional(),
    data: z.string().optional().meta({ description: 'JSON: what the event says (docs/events.md)' }),
    retry: z.number().int().optional().meta({ description: 'How soon to reconnect (ms), sent first' }),
  });
export const PlanEventSchema = sseEvent([
  'snapshot',
  'task',
  'revision',
  'message',
  'input',
  'usage',
  'text',
  'plan',
  'end',
]).meta({ description: "One event of a plan's stream" });
export const PoolEventSchema = sseEvent(['snapshot', 'agent', 'pool']).meta({
  description: "One event of the pool's stream",
});
export const ReasonBody = z.object({ reason: z.string().max(1_000).optional() });

/** How often and how long: a number and a unit, milliseconds to days. */
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]{0,8}(ms|s|m|h|d)$/, 'a duration: a number and a unit (ms, s, m, h or d), as "30s", "5m" or "1d"');

/** A time zone Node knows by its IANA name (the Temporal server checks it against its own database too). */
const TimeZone = z
  .string()
  .max(100)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }, 'an IANA time zone name, as "UTC" or "Europe/Paris"');

/** POST /v1/schedules (docs/schedules.md): a plan template and when to start it. */
const ScheduleShape = z.object({
  id: ScheduleId.optional().meta({ description: 'The schedule id (also its Temporal Schedule id); default random' }),
  plan: PlanInput.meta({
    description:
      'The plan each run starts, checked as POST /v1/plans checks a plan. Its `id`, if any, is the prefix of the ' +
      "runs' plan ids (default: the schedule id): each run is `<prefix>-<scheduled time>`",
  }),
  cron: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .meta({ description: 'A cron expression ("0 8 * * 1-5", "@hourly"); this or `interval`' }),
  interval: Duration.optional().meta({ description: 'Start a plan every so often ("2s", "15m", "1d")' }),
  timeZone: TimeZone.default('UTC').meta({ description: 'The time zone `cron` is read in' }),
  overlap: z.enum(OVERLAP_POLICIES).default('skip').meta({
    description:
      'When a run is due while the last still runs: skip it, buffer one or all, cancel or terminate the other, allow all',
  }),
  catchupWindow: Duration.optional().meta({
    description: "How late a missed run may still start after an outage (at least 10s); default Temporal's, one year",
  }),
  paused: z.boolean().default(false),
  note: z.string().max(1_000).optional().meta({ description: 'Why it is paused, or anything else to say' }),
});
const oneTiming = (s: { cron?: string; interval?: string }) => (s.cron === undefined) !== (s.interval === undefined);
const timingIssue = { message: 'give one of `cron` and `interval`', path: ['cron'] };
export const ScheduleInput = ScheduleShape.refine(oneTiming, timingIssue);
/** The body's fields but the plan, which the plan's own check reads (shared/plan-check.ts, as POST /v1/plans). */
export const ScheduleFields = ScheduleShape.extend({ plan: z.record(z.string(), z.unknown()) }).refine(
  oneTiming,
  timingIssue,
);
export type ScheduleInput = z.input<typeof ScheduleInput>;

// ---- Answers ----

const Timestamp = z.string();
const PlanStatus = z.enum(PLAN_STATUSES);
const TaskState = z.enum(TASK_STATES);

export const UsageSchema = z.strictObject({
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalTokens: z.number(),
  costUsd: z.number(),
  modelCalls: z.number(),
});
export const UsageReportSchema = z.strictObject({
  total: UsageSchema,
  byAgentType: z.record(z.string(), UsageSchema),
  byTask: z.record(z.string(), UsageSchema),
  reused: z
    .array(z.string())
    .optional()
    .meta({ description: "A rerun's reused tasks: no model call in this plan, no cost" }),
});
const TaskErrorSchema = z.strictObject({ message: z.string(), type: z.string() });

/** One verdict on a task's output (docs/plans.md, "Validation"). */
const RevisionSchema = z.strictObject({
  round: z.number().int(),
  by: z.string(),
  accepted: z.boolean(),
  reasons: z.array(z.string()),
  at: Timestamp,
});

export const TaskViewSchema = z.strictObject({
  id: z.string(),
  state: TaskState,
  agentId: z.string().optional(),
  agentType: z.string(),
  dependsOn: z
    .array(z.string())
    .optional()
    .meta({ description: 'Sibling tasks this one waits for (the plan view; absent when none)' }),
  attempts: z.number().int(),
  assignments: z.array(
    z.strictObject({
      agentId: z.string(),
      agentType: z.string(),
      outcome: z.enum(['completed', 'failed', 'cancelled', 'running']),
      error: z.string().optional(),
    }),
  ),
  error: TaskErrorSchema.optional(),
  reason: z.string().optional(),
  startedAt: Timestamp.optional(),
  finishedAt: Timestamp.optional(),
  get subtasks(): z.ZodArray<typeof TaskViewSchema> {
    return z.array(TaskViewSchema);
  },
  usage: UsageSchema.optional(),
  transitions: z.array(z.strictObject({ state: TaskState, at: Timestamp, agentId: z.string().optional() })).optional(),
  input: z
    .strictObject({
      kind: z.enum(['approval', 'input']),
      description: z.string().optional(),
      since: Timestamp.optional(),
      timeoutSeconds: z.number().int(),
      onTimeout: z.enum(['fail', 'skip', 'default']),
    })
    .optional()
    .meta({ description: 'While the task is waiting: what it asks a human for' }),
  revisions: z
    .array(RevisionSchema)
    .optional()
    .meta({ description: "Verdicts on the task's outputs, in order: `by` is `schema` or the reviewer's agent id" }),
  inline: z.literal(true).optional().meta({
    description:
      "It runs (or ran) inline in its plan's workflow (INLINE_SHORT_TASKS): no task workflow of its own; its step is an activity in the plan's history",
  }),
  reused: z.literal(true).optional().meta({
    description: 'A rerun reused its output: it did not run in this plan (state `completed`); `reusedFrom` ran it',
  }),
  reusedFrom: z.string().optional().meta({ description: 'The plan whose output a reused task has' }),
});

const ProgressSchema = z.strictObject({
  total: z.number().int(),
  pending: z.number().int(),
  running: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  cancelled: z.number().int(),
});

export const PlanViewSchema = z.strictObject({
  planId: z.string(),
  name: z.string().optional(),
  status: PlanStatus,
  mode: PlanMode,
  failurePolicy: FailurePolicy,
  paused: z.boolean(),
  progress: ProgressSchema,
  tasks: z.array(TaskViewSchema),
  usage: UsageReportSchema.optional(),
  reason: z.string().optional(),
  schedule: z.string().optional().meta({ description: 'The schedule that started the plan, if one did' }),
  rerunOf: z.string().optional().meta({ description: 'The plan this one was forked from (a rerun), if it was' }),
  startedAt: Timestamp,
  closedAt: Timestamp.nullable(),
  links: z
    .strictObject({ self: z.string(), result: z.string(), ui: z.string().optional() })
    .optional()
    .meta({ description: "The plan's own routes, and its workflow in the Temporal Web UI when its address is known" }),
});

export const TaskDetailSchema = TaskViewSchema.extend({
  path: z.array(z.string()).meta({ description: 'Task ids from the top-level task down to this one' }),
  output: z.unknown().optional(),
});

/** GET /v1/plans/:planId/tasks/:taskId/spec: the fields of a task a rerun's `overrides` start from. */
export const TaskSpecSchema = z.strictObject({
  planId: z.string(),
  taskId: z.string(),
  description: TaskInput.shape.description,
  input: TaskInput.shape.input,
});

export const SubmitAnswerSchema = z.strictObject({
  planId: z.string(),
  workflowId: z.string(),
  status: PlanStatus,
  links: z.strictObject({ self: z.string(), result: z.string(), ui: z.string().optional() }),
});

export const RerunAnswerSchema = SubmitAnswerSchema.extend({
  rerunOf: z.string(),
  runs: z.array(z.string()).meta({ description: 'The tasks that run again, at every depth, in plan order' }),
  reused: z
    .record(z.string(), z.string())
    .meta({ description: 'The tasks whose outputs are reused: task id → the plan that ran it' }),
});

const PlanSummarySchema = z.strictObject({
  planId: z.string(),
  workflowId: z.string(),
  name: z.string().optional(),
  status: PlanStatus,
  schedule: z.string().optional().meta({ description: 'The schedule that started the plan, if one did' }),
  rerunOf: z.string().optional().meta({ description: 'The plan this one was forked from (a rerun), if it was' }),
  startedAt: Timestamp,
  closedAt: Timestamp.nullable(),
});
export const PlanListSchema = z.strictObject({ plans: z.array(PlanSummarySchema) });

export const TaskSummarySchema = z.strictObject({
  path: z.array(z.string()),
  state: TaskState,
  agentId: z.string().optional(),
  agentType: z.string(),
  error: TaskErrorSchema.optional(),
  reason: z.string().optional(),
  usage: UsageSchema.optional(),
  output: z.unknown().optional(),
});

export const PlanResultSchema = z.strictObject({
  planId: z.string(),
  status: PlanStatus,
  outputs: z.record(z.string(), z.unknown()),
  errors: z.record(
    z.string(),
    z.strictObject({ message: z.string(), type: z.string(), state: TaskState, reason: z.string().optional() }),
  ),
  reason: z.string().optional(),
  usage: UsageReportSchema.optional(),
  nested: z.boolean().optional(),
  revisions: z.record(z.string(), z.array(RevisionSchema)).optional(),
  tasks: z.record(z.string(), TaskSummarySchema).optional(),
  rerunOf: z.string().optional().meta({ description: 'The plan this one was forked from (a rerun), if it was' }),
  reused: z
    .record(z.string(), z.string())
    .optional()
    .meta({ description: "A rerun's reused tasks at every depth: task id → the plan that ran it" }),
});

export const PlanRunningSchema = z.strictObject({
  planId: z.string(),
  status: z.literal('running'),
  progress: ProgressSchema.optional(),
});

export const PlanCancellingSchema = z.strictObject({ planId: z.string(), status: z.literal('cancelling') });
export const TaskCancellingSchema = z.strictObject({
  planId: z.string(),
  taskId: z.string(),
  status: z.literal('cancelling'),
});
export const PausedSchema = z.strictObject({ planId: z.string(), paused: z.boolean() });
export const MessageSentSchema = z.strictObject({ planId: z.string(), messageId: z.string(), to: z.string() });

const DeliveryState = z.enum(['delivered', 'pending', 'undeliverable']);
export const MessageLogSchema = z.strictObject({
  messages: z.array(
    z.strictObject({
      id: z.string(),
      from: z.string(),
      to: z.string(),
      body: z.unknown(),
      sentAt: Timestamp,
      state: DeliveryState,
      deliveries: z.array(z.strictObject({ taskId: z.string(), state: DeliveryState, at: Timestamp.optional() })),
      reason: z.string().optional(),
    }),
  ),
});
export const TaskInputAnswerSchema = z.strictObject({ planId: z.string(), taskId: z.string(), state: TaskState });

const TransitionSchema = z.strictObject({
  state: z.enum([...new Set([...AGENT_STATES, ...TASK_STATES])] as [string, ...string[]]),
  at: Timestamp,
  taskId: z.string().optional(),
  planId: z.string().optional(),
});

export const AgentViewSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  state: z.enum(AGENT_STATES),
  planId: z.string().nullable(),
  taskId: z.string().nullable(),
  tasksCompleted: z.number().int(),
  failures: z.number().int(),
  createdAt: Timestamp,
  lastActiveAt: Timestamp,
  transitions: z.array(TransitionSchema),
  memory: z.number().int().meta({ description: 'How many memory entries the instance holds' }),
});

export const AgentsSchema = z.strictObject({
  maxAgents: z.number().int(),
  active: z.number().int(),
  queued: z.number().int(),
  busy: z.number().int(),
  peakBusy: z.number().int(),
  agents: z.array(AgentViewSchema),
  usageByType: z.record(z.string(), UsageSchema),
  refusedTypes: z
    .array(z.strictObject({ name: z.string(), reason: z.string(), at: Timestamp.optional() }))
    .optional()
    .meta({ description: 'The latest agent types the workers refused (their policy: docs/security.md), newest last' }),
});

export const AgentDetailSchema = AgentViewSchema.extend({
  recentMemory: z.array(
    z.strictObject({
      at: Timestamp,
      planId: z.string(),
      taskId: z.string(),
      tenant: z.string().optional().describe("The note's tenant (absent: the default tenant)"),
      note: z.string(),
    }),
  ),
});

const ScheduleRunSchema = z.strictObject({
  planId: z.string(),
  workflowId: z.string(),
  scheduledAt: Timestamp.meta({ description: 'When the run was due' }),
  startedAt: Timestamp.meta({ description: 'When Temporal started its plan' }),
});
export const ScheduleSummarySchema = z.strictObject({
  scheduleId: z.string(),
  name: z.string().optional().meta({ description: "The plan template's name" }),
  cron: z.string().optional(),
  interval: z.string().optional(),
  timeZone: z.string(),
  paused: z.boolean(),
  note: z.string().optional(),
  nextRuns: z.array(Timestamp).meta({ description: 'The next times a plan is due (none while paused)' }),
  recentRuns: z.array(ScheduleRunSchema).meta({ description: 'The plans it started last, newest first' }),
  links: z.strictObject({ self: z.string(), plans: z.string(), ui: z.string().optional() }),
});
export const ScheduleListSchema = z.strictObject({ schedules: z.array(ScheduleSummarySchema) });
export const ScheduleViewSchema = ScheduleSummarySchema.extend({
  overlap: z.enum(OVERLAP_POLICIES),
  catchupWindow: z.string(),
  plan: z
    .strictObject({ idPrefix: z.string(), mode: PlanMode, tasks: z.number().int() })
    .meta({ description: 'The template: runs are `<idPrefix>-<scheduled time>`' }),
  actions: z.strictObject({
    taken: z.number().int(),
    skippedOverlap: z.number().int(),
    missedCatchupWindow: z.number().int(),
  }),
  createdAt: Timestamp,
  plans: z.array(PlanSummarySchema).meta({ description: 'Its plans with their status, newest first (the last 20)' }),
});
export const ScheduleCreatedSchema = z.strictObject({
  scheduleId: z.string(),
  paused: z.boolean(),
  nextRuns: z.array(Timestamp),
  links: ScheduleSummarySchema.shape.links,
});
export const SchedulePausedSchema = z.strictObject({ scheduleId: z.string(), paused: z.boolean() });
export const ScheduleTriggeredSchema = z.strictObject({ scheduleId: z.string(), triggered: z.literal(true) });

export const HealthSchema = z.strictObject({ status: z.literal('ok') });
export const ReadySchema = z.strictObject({ status: z.literal('ready') });
export const UnavailableSchema = z.strictObject({
  status: z.enum(['unavailable', 'not ready']).optional(),
  error: z
    .strictObject({ code: z.enum(['TEMPORAL_UNAVAILABLE', 'NOT_READY']), message: z.string() })
    .optional()
    .meta({ description: 'What is missing: only without API keys configured, or to a valid key' }),
});
export const OpenApiSchema = z.looseObject({
  openapi: z.string(),
  info: z.object({}).loose(),
  paths: z.object({}).loose(),
});

// ---- A2A (docs/a2a.md): the SDK's bindings read and answer these; the A2A v1.0 specification defines them ----

export const A2aTaskParam = z.object({ taskId: z.string().min(1) });
export const A2aAgentCardSchema = z
  .looseObject({
    name: z.string(),
    supportedInterfaces: z.array(z.looseObject({})),
    skills: z.array(z.looseObject({})),
  })
  .meta({ description: 'An A2A Agent Card (A2A v1.0, AgentCard)' });
export const A2aSendMessageBody = z
  .looseObject({ message: z.looseObject({ messageId: z.string(), parts: z.array(z.looseObject({})) }) })
  .meta({ description: 'An A2A SendMessageRequest (A2A v1.0)' });
export const A2aJsonRpcBody = z
  .looseObject({ jsonrpc: z.literal('2.0'), method: z.string(), params: z.looseObject({}).optional() })
  .meta({ description: 'A JSON-RPC 2.0 request of an A2A v1.0 method (SendMessage, GetTask, ...)' });
export const A2aJsonRpcAnswer = z
  .looseObject({ jsonrpc: z.literal('2.0') })
  .meta({ description: 'A JSON-RPC 2.0 response: `result`, or `error` with the A2A error code' });
export const A2aSendMessageAnswer = z
  .looseObject({ task: z.looseObject({}).optional(), message: z.looseObject({}).optional() })
  .meta({ description: 'An A2A SendMessageResponse: the task (the plan)' });
export const A2aTaskSchema = z
  .looseObject({ id: z.string(), contextId: z.string(), status: z.looseObject({}) })
  .meta({ description: 'An A2A Task: the plan' });
export const A2aTaskListSchema = z
  .looseObject({ tasks: z.array(z.looseObject({})), nextPageToken: z.string().optional() })
  .meta({ description: 'An A2A ListTasksResponse' });

// ---- The answers above hold what the services return (compile-time checks) ----

type Holds<Schema extends z.ZodType, T extends z.input<Schema>> = T;
export type SchemaChecks = [
  Holds<typeof UsageSchema, Usage>,
  Holds<typeof UsageReportSchema, UsageReport>,
  Holds<typeof TaskViewSchema, TaskView>,
  Holds<typeof PlanViewSchema, PlanView>,
  Holds<typeof SubmitAnswerSchema, SubmitAnswer>,
  Holds<typeof PlanListSchema, { plans: PlanSummary[] }>,
  Holds<typeof TaskSummarySchema, TaskSummary>,
  Holds<typeof PlanResultSchema, Omit<PlanResult, 'tasks'> & { tasks?: Record<string, TaskSummary> }>,
  Holds<typeof ScheduleSummarySchema, ScheduleSummary>,
  Holds<typeof ScheduleViewSchema, ScheduleView>,
  Holds<typeof ScheduleCreatedSchema, ScheduleCreated>,
  Holds<typeof MessageLogSchema, { messages: MailLogEntry[] }>,
  Holds<typeof AgentViewSchema, AgentView>,
  Holds<
    typeof AgentsSchema,
    Omit<PoolView, 'spawned' | 'agents' | 'queue' | 'recentlyTerminated'> & { agents: AgentView[] }
  >,
];
