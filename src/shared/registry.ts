import { AgentType } from './agent-type';
import { z } from 'zod';

/** The registry: the agent types a pool can spawn, and how a task's capabilities pick one. */
export const Registry = z.object({ agentTypes: z.array(AgentType).min(1) });
export type Registry = z.infer<typeof Registry>;

/** The built-in registry, used when no AGENT_REGISTRY_FILE is configured. */
export const DEFAULT_REGISTRY: Registry = Registry.parse({
  agentTypes: [
    {
      name: 'generalist',
      description: 'Handles tasks that ask for no particular capability.',
      capabilities: ['general'],
    },
    {
      name: 'researcher',
      description: 'Finds and condenses information.',
      capabilities: ['web-research', 'research', 'summarize'],
    },
    {
      name: 'writer',
      description: 'Drafts and edits prose.',
      capabilities: ['writing', 'editing', 'summarize'],
    },
    {
      name: 'reviewer',
      description: 'Checks work against criteria.',
      capabilities: ['review', 'fact-check', 'validation'],
    },
    {
      name: 'coder',
      description: 'Writes and tests code.',
      capabilities: ['coding', 'code-review', 'testing'],
    },
    {
      name: 'coordinator',
      description: 'Breaks work into subtasks, delegates to sub-agents and synthesizes their results.',
      capabilities: ['planning', 'coordination', 'synthesis'],
    },
  ],
});

export type MatchResult = { ok: true; agentType: string } | { ok: false; message: string };

/**
 * Picks the agent type for a task. An explicit `agentType` wins (it must offer every capability asked);
 * otherwise the tightest fit: the type with the fewest capabilities beyond those asked, then by name.
 */
export function matchAgentType(registry: Registry, capabilities: string[], pinned?: string): MatchResult {
  if (pinned !== undefined) {
    const type = registry.agentTypes.find((t) => t.name === pinned);
    if (!type) return { ok: false, message: `unknown agent type "${pinned}"` };
    const missing = capabilities.filter((c) => !type.capabilities.includes(c));
    if (missing.length > 0) {
      return { ok: false, message: `agent type "${pinned}" does not offer ${missing.map((c) => `"${c}"`).join(', ')}` };
    }
    return { ok: true, agentType: pinned };
  }
  const best = eligibleAgentTypes(registry, capabilities)[0];
  if (best) return { ok: true, agentType: best };
  const offered = new Set(registry.agentTypes.flatMap((t) => t.capabilities));
  const unknown = capabilities.filter((c) => !offered.has(c));
  return {
    ok: false,
    message:
      unknown.length > 0
        ? `no registered agent type offers ${unknown.map((c) => `"${c}"`).join(', ')}`
        : `no single registered agent type offers all of ${capabilities.map((c) => `"${c}"`).join(', ')}`,
  };
}

/** All types that can serve a task, tightest fit first; just the pinned type when one is named. */
export function eligibleAgentTypes(registry: Registry, capabilities: string[], pinned?: string): string[] {
  if (pinned !== undefined) return [pinned];
  // A task that asks for nothing goes to a type offering "general" first, so adding a specialist (say, a paid model)
  // does not quietly draw every unlabelled task to it.
  const general = (t: AgentType) => (capabilities.length === 0 && t.capabilities.includes('general') ? 0 : 1);
  return registry.agentTypes
    .filter((t) => capabilities.every((c) => t.capabilities.includes(c)))
    .sort(
      (a, b) =>
        general(a) - general(b) || a.capabilities.length - b.capabilities.length || a.name.localeCompare(b.name),
    )
    .map((t) => t.name);
}
