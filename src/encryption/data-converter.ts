import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './payload-codec';
import type { Keyring } from './keyring';

/**
 * The data converter worker, API and clients share: with a keyring, every payload (inputs, results, signals, queries,
 * memos, heartbeats, summaries) is encrypted. Failure messages and stack traces are not (docs/security.md says why).
 * Without a keyring, Temporal's defaults.
 */
export function dataConverterFor(keyring: Keyring | undefined): DataConverter | undefined {
  return keyring ? { payloadCodecs: [new EncryptionCodec(keyring)] } : undefined;
}
