import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM: a fresh 96-bit IV per message; the output is IV ‖ ciphertext ‖ tag. */
export function encrypt(key: Buffer, plaintext: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Reverses encrypt(); throws when the data was altered or the key is not the one it was encrypted with. */
export function decrypt(key: Buffer, sealed: Uint8Array): Buffer {
  const buf = Buffer.from(sealed);
  if (buf.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted data is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  return Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
}

/** The key for an id found in encrypted data, or an error that says which key is missing. */
export function keyFor(keyring: Keyring, id: string): Buffer {
  const key = keyring.byId(id);
  if (!key)
    throw new Error(
      `data was encrypted with key "${id}", which is not in this process's keyring (${keyring.ids().join(', ')}): keep retired keys until nothing encrypted with them is read`,
    );
  return key;
}
