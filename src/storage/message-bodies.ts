import type { ClaimCheck } from './blob-store';

/** A message body bigger than this (as JSON) travels as a claim check: the plan's history holds ~200 bytes of it. */
export const MESSAGE_INLINE_BYTES = 4_096;

/** A message body over MESSAGE_MAX_BYTES: the sender is told (413 from the API, an error to an agent's tool call). */
export class MessageTooLarge extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`the message body is ${bytes} bytes as JSON; the limit is ${maxBytes} (MESSAGE_MAX_BYTES)`);
  }
}

/**
 * What a message carries through Temporal (docs/security.md, "Limits"): its body when small; a claim check in the
 * blob store when over MESSAGE_INLINE_BYTES (or shaped like a reference), so a flood of large messages cannot push a
 * plan towards Temporal's history limits. Steps read the bodies back before an agent sees them.
 */
export async function packMessageBody(body: unknown, claimCheck: ClaimCheck, maxBytes: number): Promise<unknown> {
  const bytes = Buffer.byteLength(JSON.stringify(body ?? null));
  if (bytes > maxBytes) throw new MessageTooLarge(bytes, maxBytes);
  return claimCheck.offloadOutput(body, MESSAGE_INLINE_BYTES);
}
