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
 */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keyring: Keyring) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => ({
      metadata: { [ENCODING]: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(this.keyring.current.id) },
      data: encrypt(this.keyring.current.key, serialize(p)),
    }));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.[ENCODING]) !== ENCRYPTED_ENCODING) return p; // written before encryption was turned on
      const id = text(p.metadata?.[KEY_ID]);
      if (!id) throw new Error('an encrypted payload carries no key id');
      return deserialize(decrypt(keyFor(this.keyring, id), p.data ?? new Uint8Array()));
    });
  }
}

/** The payload as protobuf bytes: encrypted whole, so its metadata (the encoding, a message type) is hidden too. */
const serialize = (p: Payload): Uint8Array => temporal.api.common.v1.Payload.encode(p).finish();
const deserialize = (bytes: Uint8Array): Payload => temporal.api.common.v1.Payload.decode(bytes);
