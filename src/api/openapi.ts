import { z } from 'zod';
import { PlanInput } from '../shared/plan';
import { TaskInput } from '../shared/task';
import { AgentType } from '../shared/agent-type';
import { ERROR_STATUS, type ErrorCode } from './errors';
import { errorsOf, openApiPathOf, type Answer, type RouteSpec } from './route-spec';
import { ROUTE_LIST, type OperationId } from './routes';
import * as S from './schemas';

type Json = Record<string, unknown>;

/** Schemas the document names (components), the rest get the name of their route and status. */
const REQUEST_NAMES = new Map<z.ZodType, string>([
  [PlanInput, 'Plan'],
  [TaskInput, 'Task'],
]);
const ANSWER_NAMES = new Map<z.ZodType, string>([
  [AgentType, 'AgentType'],
  [S.UsageSchema, 'Usage'],
  [S.UsageReportSchema, 'UsageReport'],
  [S.TaskViewSchema, 'TaskView'],
  [S.PlanViewSchema, 'PlanView'],
  [S.TaskDetailSchema, 'TaskDetail'],
  [S.TaskSummarySchema, 'TaskSummary'],
  [S.PlanResultSchema, 'PlanResult'],
  [S.SubmitAnswerSchema, 'SubmitAnswer'],
  [S.AgentViewSchema, 'AgentView'],
]);

const ISSUES = z.array(z.strictObject({ path: z.string(), message: z.string() }));

/** The error envelope, its `code` one of those that share the status. */
function envelope(codes: ErrorCode[]): z.ZodType {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      issues: ISSUES.optional().meta({ description: 'VALIDATION_ERROR: every problem found, by path' }),
    }),
  });
}

const pascal = (s: string) => s.replace(/(^|_)([a-z])/gi, (_m, _u, c: string) => c.toUpperCase()).replace(/_/g, '');
const capital = (s: string) => s[0]?.toUpperCase() + s.slice(1);

/** Registers every schema a route uses under a component name, so references between them resolve. */
class Components {
  readonly requests = z.registry<{ id: string }>();
  readonly answers = z.registry<{ id: string }>();
  private readonly errors = new Set<string>();

  constructor() {
    for (const [schema, id] of REQUEST_NAMES) this.requests.add(schema, { id });
    for (const [schema, id] of ANSWER_NAMES) this.answers.add(schema, { id });
  }

  private add(registry: z.core.$ZodRegistry<{ id: string }>, schema: z.ZodType, id: string): string {
    const known = registry.get(schema)?.id;
    if (known) return known;
    registry.add(schema, { id });
    return id;
  }
  request(schema: z.ZodType, fallback: string): string {
    return this.add(this.requests, schema, REQUEST_NAMES.get(schema) ?? fallback);
  }
  answer(schema: z.ZodType, fallback: string): string {
    return this.add(this.answers, schema, ANSWER_NAMES.get(schema) ?? fallback);
  }
  error(codes: ErrorCode[]): string {
    const id = `Error${codes.map((c) => pascal(c.toLowerCase())).join('Or')}`;
    if (!this.errors.has(id)) {
      this.errors.add(id);
      this.answers.add(envelope(codes), { id });
    }
    return id;
  }
  /** Both registries as JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), references into components. */
  schemas(): Record<string, Json> {
    const params = { uri: (id: string) => `#/components/schemas/${id}`, unrepresentable: 'any' as const, override };
    const inputs = z.toJSONSchema(this.requests, { ...params, io: 'input' }).schemas;
    const outputs = z.toJSONSchema(this.answers, { ...params, io: 'output' }).schemas;
    const all: Record<string, Json> = {};
    for (const [id, schema] of [...Object.entries(inputs), ...Object.entries(outputs)]) {
      // zod puts schemas it could not inline (a recursive one without a name) there: name them above instead.
      if (id === '__shared') throw new Error('a recursive schema of the API has no component name (openapi.ts)');
      if (all[id]) throw new Error(`two OpenAPI components are named "${id}"`);
      const { $schema: _s, $id: _i, ...rest } = schema as Json;
      all[id] = rest;
    }
    return all;
  }
}

/**
 * `z.number().int()` says "a safe integer" with two 16-digit bounds: noise in a document, dropped. A task needs a
 * description or an input (src/shared/plan-check.ts checks it; the zod schema cannot say it in JSON Schema): said here,
 * so a client (or a fuzzer) that follows the document sends no task the API refuses.
 */
function override({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: Json }): void {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  if (zodSchema === TaskInput) {
    jsonSchema.anyOf = [{ required: ['description'] }, { required: ['input'] }];
    jsonSchema.description = 'A task: it needs a `description` or an `input` (or both).';
  }
}

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** One parameter per field of a params or query object, each field's JSON Schema inline. */
function parameters(where: 'path' | 'query', shape: z.ZodObject | undefined): Json[] {
  if (!shape) return [];
  return Object.entries(shape.shape).map(([name, field]) => {
    const { $schema: _s, ...schema } = z.toJSONSchema(field as z.ZodType, {
      io: 'input',
      unrepresentable: 'any',
      override,
    });
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      schema,
    };
  });
}

/**
 * Links from an answer to the operations on what it names (OpenAPI links: clients and stateful fuzzers follow them):
 * by source operation, the targets and where their parameters come from in the answer's body.
 */
const PLAN_OPS: OperationId[] = [
  'getPlan',
  'getResult',
  'listMessages',
  'sendMessage',
  'pausePlan',
  'resumePlan',
  'cancelPlan',
];
const SCHEDULE_OPS: OperationId[] = [
  'getSchedule',
  'pauseSchedule',
  'unpauseSchedule',
  'triggerSchedule',
  'deleteSchedule',
];
const LINKS: Partial<Record<OperationId, { to: OperationId[]; from: Record<string, string> }[]>> = {
  submitPlan: [{ to: PLAN_OPS, from: { planId: '/planId' } }],
  listPlans: [{ to: PLAN_OPS, from: { planId: '/plans/0/planId' } }],
  getPlan: [{ to: ['getTask', 'cancelTask', 'taskInput'], from: { planId: '/planId', taskId: '/tasks/0/id' } }],
  createSchedule: [{ to: SCHEDULE_OPS, from: { scheduleId: '/scheduleId' } }],
  listSchedules: [{ to: SCHEDULE_OPS, from: { scheduleId: '/schedules/0/scheduleId' } }],
  getSchedule: [{ to: ['getPlan'], from: { planId: '/plans/0/planId' } }],
  putAgentType: [{ to: ['getAgentType', 'deleteAgentType'], from: { name: '/name' } }],
  listAgentTypes: [{ to: ['getAgentType'], from: { name: '/agentTypes/0/name' } }],
  listAgents: [{ to: ['getAgent', 'terminateAgent'], from: { agentId: '/agents/0/id' } }],
};
function linksOf(id: OperationId): Json | undefined {
  const links = LINKS[id]?.flatMap(({ to, from }) =>
    to.map((op) => [
      capital(op),
      {
        operationId: op,
        parameters: Object.fromEntries(Object.entries(from).map(([p, ptr]) => [p, `$response.body#${ptr}`])),
      },
    ]),
  );
  return links ? Object.fromEntries(links) : undefined;
}

function answer(c: Components, route: RouteSpec & { operationId: OperationId }, status: number, a: Answer): Json {
  const headers = a.headers
    ? Object.fromEntries(
        Object.entries(a.headers).map(([h, description]) => [h, { description, schema: { type: 'string' } }]),
      )
    : undefined;
  const links = status < 300 ? linksOf(route.operationId) : undefined;
  return {
    description: a.description,
    ...(headers ? { headers } : {}),
    ...(a.schema
      ? {
          content: {
            [a.contentType ?? 'application/json']: {
              schema: ref(c.answer(a.schema, `${capital(route.operationId)}${status}`)),
            },
          },
        }
      : {}),
    ...(links ? { links } : {}),
  };
}

function operation(c: Components, route: RouteSpec & { operationId: OperationId }, keyed: boolean): Json {
  const responses: Record<string, Json> = {};
  for (const [status, a] of Object.entries(route.answers)) responses[status] = answer(c, route, Number(status), a);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorsOf(route))
    byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  for (const [status, codes] of byStatus) {
    if (responses[status]) continue; // the route answers this status with a body of its own (healthz, readyz)
    responses[status] = {
      description: codes.join(' or '),
      content: { 'application/json': { schema: ref(c.error(codes)) } },
    };
  }
  const body = route.body
    ? {
        requestBody: {
          required: route.body.required,
          content: {
            'application/json': { schema: ref(c.request(route.body.schema, `${capital(route.operationId)}Body`)) },
          },
        },
      }
    : {};
  const params = [...parameters('path', route.params), ...parameters('query', route.query)];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [
      route.path
        .split('/')
        .filter((s) => s && s !== 'v1')[0]
        ?.replace(/\.json$/, '') ?? 'api',
    ],
    'x-scope': route.scope,
    // Public routes need no key; the others take one of the two ways of sending it (docs/security.md). Without keys
    // configured nothing needs one, and the document says so (no security requirement anywhere).
    ...(route.scope === 'public' && keyed ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...body,
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas the routes validate with. `keyed`: the
 * API has keys configured, so every route but the public ones needs one; without keys (an API open on loopback) no
 * route does, and the document asks for none. What a key's scopes allow is `x-scope` either way.
 */
export function buildOpenApiDocument({ keyed = true }: { keyed?: boolean } = {}): Json {
  const c = new Components();
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTE_LIST) {
    const path = openApiPathOf(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(c, route, keyed) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent Orchestrator',
      version: '1',
      description:
        'Plans of agent tasks run as Temporal workflows. Errors come as `{"error": {"code", "message", "issues"?}}`; a known path with a method it does not have answers 405 with `Allow`. `x-scope` on each operation is the API-key scope it needs when the API has keys configured' +
        (keyed ? '.' : ': this one has none, so it answers every request without a key (and listens on loopback).'),
    },
    paths,
    // Keys are checked only when the API has some configured (API_KEYS / API_KEYS_FILE); without, it is open on loopback.
    ...(keyed ? { security: [{ bearer: [] }, { apiKey: [] }] } : {}),
    components: {
      schemas: c.schemas(),
      ...(keyed
        ? {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
              apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
            },
          }
        : {}),
    },
  };
}

const cached = new Map<boolean, Json>();

/** The document as this API is configured (with keys or without), built once each. */
export function openApiDocument(keyed: boolean): Json {
  let doc = cached.get(keyed);
  if (!doc) cached.set(keyed, (doc = buildOpenApiDocument({ keyed })));
  return doc;
}
