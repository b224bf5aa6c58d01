import type { AgentCard, AgentSkill, SecurityRequirement, SecurityScheme } from '@a2a-js/sdk';
import type { Registry } from '../../shared/registry';

/** The protocol version the bindings speak (the SDK's). */
export const A2A_VERSION = '1.0';

/** Where the bindings are mounted under the API. */
export const A2A_PATHS = { card: '/.well-known/agent-card.json', jsonRpc: '/a2a/jsonrpc', rest: '/a2a/rest' } as const;

/**
 * One skill per capability the registry offers: asking for a skill runs one task that needs that capability, on
 * whichever agent type the pool matches (the types that offer it are its tags).
 */
export function skillsOf(registry: Registry): AgentSkill[] {
  const byCapability = new Map<string, Registry['agentTypes']>();
  for (const type of registry.agentTypes)
    for (const c of type.capabilities) byCapability.set(c, [...(byCapability.get(c) ?? []), type]);
  return [...byCapability.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([capability, types]) => ({
      id: capability,
      name: capability,
      description:
        `One task needing "${capability}", done by ${types.map((t) => t.name).join(' or ')}` +
        (types[0]?.description ? ` (${types.map((t) => `${t.name}: ${t.description}`).join('; ')})` : ''),
      tags: types.map((t) => t.name),
      examples: [],
      inputModes: [],
      outputModes: [],
      securityRequirements: [],
    }));
}

/** The API's two ways of presenting a key (docs/security.md), when it has keys; none when it is open. */
function security(keyed: boolean): { schemes: Record<string, SecurityScheme>; requirements: SecurityRequirement[] } {
  if (!keyed) return { schemes: {}, requirements: [] };
  return {
    schemes: {
      bearer: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: { description: 'Authorization: Bearer <API key>', scheme: 'Bearer', bearerFormat: '' },
        },
      },
      apiKey: {
        scheme: {
          $case: 'apiKeySecurityScheme',
          value: { description: 'X-API-Key: <API key>', location: 'header', name: 'X-API-Key' },
        },
      },
    },
    requirements: [{ schemes: { bearer: { list: [] } } }, { schemes: { apiKey: { list: [] } } }],
  };
}

/**
 * The orchestrator's Agent Card, from the registry: a skill per capability, the API's key schemes, streaming, and the
 * JSON-RPC and HTTP+JSON bindings at `origin` (the URL clients reach the API at).
 */
export function agentCardOf(registry: Registry, opts: { origin: string; keyed: boolean; version: string }): AgentCard {
  const { schemes, requirements } = security(opts.keyed);
  const origin = opts.origin.replace(/\/$/, '');
  return {
    name: 'Agent Orchestrator',
    description:
      'Runs plans of agent tasks on Temporal. Send a message naming a skill (metadata.skill) for one task, or a plan ' +
      'as a data part; the A2A task is the plan.',
    supportedInterfaces: [
      { url: `${origin}${A2A_PATHS.jsonRpc}`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_VERSION },
      { url: `${origin}${A2A_PATHS.rest}`, protocolBinding: 'HTTP+JSON', tenant: '', protocolVersion: A2A_VERSION },
    ],
    provider: undefined,
    version: opts.version,
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: schemes,
    securityRequirements: requirements,
    defaultInputModes: ['text/plain', 'application/json'],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills: skillsOf(registry),
    signatures: [],
  };
}
