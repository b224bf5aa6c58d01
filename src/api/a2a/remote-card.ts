import { DefaultAgentCardResolver } from '@a2a-js/sdk/client';
import { ApiError } from '../errors';

/**
 * An agent type of runtime provider `a2a` registered without capabilities takes them from the remote agent's card: one
 * per skill (its id). Others are returned as they are. A card that cannot be read, or has no skills, is a 400.
 */
export async function withRemoteCapabilities(body: object): Promise<object> {
  const { runtime, capabilities } = body as {
    runtime?: { provider?: unknown; cardUrl?: unknown };
    capabilities?: unknown;
  };
  const asked = capabilities === undefined || (Array.isArray(capabilities) && capabilities.length === 0);
  if (runtime?.provider !== 'a2a' || typeof runtime.cardUrl !== 'string' || !asked) return body;
  let skills: string[];
  try {
    const card = await new DefaultAgentCardResolver().resolve(runtime.cardUrl, '');
    skills = [...new Set(card.skills.map((s) => s.id).filter((id) => id.length > 0 && id.length <= 100))];
  } catch (err) {
    throw new ApiError(
      'VALIDATION_ERROR',
      `runtime.cardUrl: the remote agent's card could not be read for its capabilities (${(err as Error).message}); give "capabilities"`,
    );
  }
  if (skills.length === 0)
    throw new ApiError(
      'VALIDATION_ERROR',
      'runtime.cardUrl: the remote agent\'s card lists no skills; give "capabilities"',
    );
  return { ...body, capabilities: skills };
}
