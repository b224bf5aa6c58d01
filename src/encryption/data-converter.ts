import type { DataConverter } from '@temporalio/common';
import { EncryptionCodec } from './payload-codec';
import type { Keyring } from './keyring';

/** The failure converter that moves failure messages and stack traces into an (encrypted) payload. */
export const ENCODING_FAILURE_CONVERTER = require.resolve('./failure-converter');

/**
 * The data converter worker, API and clients share: with a keyring, every payload (inputs, results, signals, queries,
 * memos, heartbeats, summaries) is encrypted, and so are failure messages and stack traces (./failure-converter.ts).
 * Without a keyring, Temporal's defaults.
 */
export function dataConverterFor(keyring: Keyring | undefined): DataConverter | undefined {
  return keyring
    ? { payloadCodecs: [new EncryptionCodec(keyring)], failureConverterPath: ENCODING_FAILURE_CONVERTER }
    : undefined;
}
