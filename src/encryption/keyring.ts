import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../shared/zod-issues';

/**
 * The AES-256 keys payloads and claim-checked blobs are encrypted with (docs/security.md). Every key stays able to
 * decrypt; only the current one encrypts, so rotating is: add a key, make it current, keep the old ones while
 * histories or blobs written with them are still read.
 */
export interface Keyring {
  current: { id: string; key: Buffer };
  byId(id: string): Buffer | undefined;
  ids(): string[];
  /**
   * Whether unencrypted payloads are read rather than refused (PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT): only while turning
   * encryption on for workflows that started without it.
   */
  acceptPlaintext?: boolean;
}

const KeyMap = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'key ids are letters, digits and _.- (max 64)'),
  z
    .string()
    .refine(
      (b64) => Buffer.from(b64, 'base64').length === 32,
      'a key is 32 bytes, base64-encoded (openssl rand -base64 32)',
    ),
);

export class KeyringError extends Error {}

/**
 * Reads PAYLOAD_ENCRYPTION_KEYS (JSON {"<id>": "<base64 of 32 bytes>"}) or the file PAYLOAD_ENCRYPTION_KEYS_FILE, and
 * PAYLOAD_ENCRYPTION_KEY_ID (the key that encrypts; needed when there are several). Undefined when none is set:
 * encryption is off. Errors name the setting and never echo key material.
 */
export function loadKeyring(cfg: {
  PAYLOAD_ENCRYPTION_KEYS?: string;
  PAYLOAD_ENCRYPTION_KEYS_FILE?: string;
  PAYLOAD_ENCRYPTION_KEY_ID?: string;
  PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT?: boolean;
}): Keyring | undefined {
  const source = cfg.PAYLOAD_ENCRYPTION_KEYS_FILE ? 'PAYLOAD_ENCRYPTION_KEYS_FILE' : 'PAYLOAD_ENCRYPTION_KEYS';
  const raw = cfg.PAYLOAD_ENCRYPTION_KEYS_FILE
    ? readFileSync(cfg.PAYLOAD_ENCRYPTION_KEYS_FILE, 'utf8')
    : cfg.PAYLOAD_ENCRYPTION_KEYS;
  if (raw === undefined) {
    if (cfg.PAYLOAD_ENCRYPTION_KEY_ID) throw new KeyringError('PAYLOAD_ENCRYPTION_KEY_ID is set but no keys are');
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new KeyringError(`${source}: not JSON (expected {"<key id>": "<base64 of 32 bytes>"})`);
  }
  const parsed = KeyMap.safeParse(json);
  if (!parsed.success) throw new KeyringError(`${source}: ${describeIssues(parsed.error.issues)}`);
  const keys = new Map(Object.entries(parsed.data).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]));
  if (keys.size === 0) throw new KeyringError(`${source}: no keys`);
  const currentId = cfg.PAYLOAD_ENCRYPTION_KEY_ID ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  if (currentId === undefined)
    throw new KeyringError(`${source} has ${keys.size} keys: set PAYLOAD_ENCRYPTION_KEY_ID to the one that encrypts`);
  const current = keys.get(currentId);
  if (!current) throw new KeyringError(`PAYLOAD_ENCRYPTION_KEY_ID="${currentId}" is not one of the keys in ${source}`);
  return {
    current: { id: currentId, key: current },
    byId: (id) => keys.get(id),
    ids: () => [...keys.keys()],
    ...(cfg.PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT ? { acceptPlaintext: true } : {}),
  };
}
