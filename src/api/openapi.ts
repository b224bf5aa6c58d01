import { z } from 'zod';
import { PlanInput } from '../shared/plan';
import { AgentType } from '../shared/registry';

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        issues: {
          type: 'array',
          items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
};

const err = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});
const ok = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const planIdParam = { name: 'planId', in: 'path', required: true, schema: { type: 'string' } };

let cached: object | undefined;

/** OpenAPI 3.1 document; the plan schema is generated from the same zod schema that validates submissions. */
export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'Agent Orchestrator', version: '1' },
    components: {
      schemas: {
        Plan: z.toJSONSchema(PlanInput, { io: 'input', unrepresentable: 'any' }),
        // What PUT /v1/agent-types/{name} takes, model runtime and MCP servers included.
        AgentType: z.toJSONSchema(AgentType, { io: 'input', unrepresentable: 'any' }),
        Error: errorSchema,
      },
    },
    paths: {
      '/v1/plans': {
        post: {
          summary: 'Submit a plan',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Plan' } } },
          },
          responses: {
            '202': ok('Started'),
            '200': ok('Same id and body as an earlier submission'),
            '400': err('Invalid plan'),
            '409': err('Same id, other body'),
            '413': err('Too large'),
            '415': err('Not JSON'),
            '503': err('Temporal unavailable'),
          },
        },
        get: {
          summary: 'List recent plans',
          parameters: [
            {
              name: 'status',
              in: 'query',
              schema: { type: 'string', enum: ['running', 'completed', 'partial', 'failed', 'cancelled'] },
            },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
          ],
          responses: { '200': ok('Plans'), '400': err('Bad query') },
        },
      },
      '/v1/plans/{planId}': {
        get: {
          summary: 'Plan status',
          parameters: [planIdParam],
          responses: { '200': ok('Status'), '404': err('Unknown plan') },
        },
      },
      '/v1/plans/{planId}/result': {
        get: {
          summary:
            'Plan result, waiting up to `wait` seconds: top-level `outputs` and `errors`, and `tasks`, every task at every depth by id',
          parameters: [
            planIdParam,
            { name: 'wait', in: 'query', schema: { type: 'number', minimum: 0, maximum: 60, default: 0 } },
          ],
          responses: { '200': ok('Closed'), '202': ok('Still running'), '404': err('Unknown plan') },
        },
      },
      '/v1/plans/{planId}/tasks/{taskId}': {
        get: {
          summary:
            'One task at any depth (task ids are unique within a plan): its state, agent, attempts, error, usage, `path` from the top-level task, and its output once completed',
          parameters: [planIdParam, { name: 'taskId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': ok('The task'), '404': err('Unknown plan or task') },
        },
      },
      '/v1/plans/{planId}/cancel': {
        post: {
          summary: 'Cancel a plan',
          parameters: [planIdParam],
          responses: { '202': ok('Cancelling'), '404': err('Unknown plan'), '409': err('Already closed') },
        },
      },
      '/v1/plans/{planId}/tasks/{taskId}/cancel': {
        post: {
          summary: 'Cancel one task and its subtree',
          parameters: [planIdParam, { name: 'taskId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '202': ok('Cancelling'), '404': err('Unknown plan or task'), '409': err('Already ended') },
        },
      },
      '/v1/plans/{planId}/pause': {
        post: {
          summary: 'Pause: start no new tasks',
          parameters: [planIdParam],
          responses: { '202': ok('Paused'), '409': err('Already closed') },
        },
      },
      '/v1/plans/{planId}/resume': {
        post: {
          summary: 'Resume',
          parameters: [planIdParam],
          responses: { '202': ok('Resumed'), '409': err('Already closed') },
        },
      },
      '/metrics': {
        get: {
          summary:
            'Prometheus metrics: agents by type and state, queue, model tokens / cost / calls by type, plans by status, HTTP requests, the process',
          responses: {
            '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          },
        },
      },
      '/healthz': { get: { summary: 'Temporal reachable', responses: { '200': ok('ok'), '503': ok('unavailable') } } },
    },
  };
  return cached;
}
