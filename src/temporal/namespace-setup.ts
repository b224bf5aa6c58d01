import { SEARCH_ATTRIBUTES } from '../shared/search-attributes';
import type { OperatorService } from '@temporalio/client';

const GRPC_ALREADY_EXISTS = 6;
const INDEXED_VALUE_TYPE_KEYWORD = 2;

/**
 * Registers the project's search attributes on the namespace when they are missing, so a worker pointed at a fresh
 * Temporal server works without a manual step. Tolerates a race with another worker doing the same.
 */
export async function ensureSearchAttributes(operator: OperatorService, namespace: string): Promise<string[]> {
  const existing = await operator.listSearchAttributes({ namespace });
  const known = new Set([
    ...Object.keys(existing.customAttributes ?? {}),
    ...Object.keys(existing.systemAttributes ?? {}),
  ]);
  const missing = SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length === 0) return [];
  try {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_VALUE_TYPE_KEYWORD])),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw err;
  }
  return missing.map((k) => k.name);
}
