import { readFileSync } from 'node:fs';
import { DEFAULT_REGISTRY, Registry } from '../shared/registry';
import { describeIssues } from '../shared/zod-issues';

/** Loads the agent registry from a JSON file, or the built-in one when no path is given. Throws naming the problem. */
export function loadRegistry(path: string | undefined): Registry {
  if (!path) return DEFAULT_REGISTRY;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`AGENT_REGISTRY_FILE=${path}: ${(err as Error).message}`);
  }
  const parsed = Registry.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`AGENT_REGISTRY_FILE=${path}: ${describeIssues(parsed.error.issues)}`);
  }
  const names = parsed.data.agentTypes.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`AGENT_REGISTRY_FILE=${path}: agent type "${dup}" is defined twice`);
  return parsed.data;
}
