import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { decrypt, encrypt, keyFor } from './aes-gcm';
import type { Keyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
const ENCODING = 'encoding';
const KEY_ID = 'encryption-key-id';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/**
 * Encrypts every payload with the keyring's current key (AES-256-GCM); the key's id rides in the payload's metadata
 * so older keys can still decrypt after a rotation. What is encrypted is the whole serialized payload (its metadata
 * and data): the server, and anyone reading history without the key, sees only `binary/encrypted`.
 *
 * An unencrypted payload is refused: it was not written by a process holding the keys (a client without the codec,
 * someone with access to Temporal's frontend), so a worker must not act on it. `reading: 'display'` (the codec
 * endpoint, which only shows payloads to a person) and the keyring's acceptPlaintext (while turning encryption on)
 * let it through.
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(
    private readonly keyring: Keyring,
    private readonly reading: 'act' | 'display' = 'act',
  ) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => ({
      metadata: { [ENCODING]: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(this.keyring.current.id) },
      data: encrypt(this.keyring.current.key, serialize(p)),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = text(p.metadata?.[ENCODING]);
      if (encoding !== ENCRYPTED_ENCODING) {
        if (this.reading === 'display' || this.keyring.acceptPlaintext) return p;
        throw new UnencryptedPayloadError(encoding);
      }
      const id = text(p.metadata?.[KEY_ID]);
      if (!id) throw new Error('an encrypted payload carries no key id');
      return deserialize(decrypt(keyFor(this.keyring, id), p.data ?? new Uint8Array()));
    });
  }
}

export class UnencryptedPayloadError extends Error {
  constructor(encoding: string | undefined) {
    super(
      `an unencrypted payload (encoding ${JSON.stringify(encoding ?? null)}) was refused: payload encryption is on, ` +
        'and whoever sent it did not hold the keys (a client without the codec?). While turning encryption on for ' +
        'workflows started without it, PAYLOAD_ENCRYPTION_ACCEPT_PLAINTEXT=true reads such payloads (docs/security.md)',
    );
    this.name = 'UnencryptedPayloadError';
  }
}

/** The payload as protobuf bytes: encrypted whole, so its metadata (the encoding, a message type) is hidden too. */
const serialize = (p: Payload): Uint8Array => temporal.api.common.v1.Payload.encode(p).finish();
const deserialize = (bytes: Uint8Array): Payload => temporal.api.common.v1.Payload.decode(bytes);
