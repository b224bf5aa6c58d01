import { DefaultFailureConverter } from '@temporalio/common';

/**
 * With encryption on, a failure's message and stack trace travel in its `encodedAttributes` payload, which the payload
 * codec encrypts like any other: history shows "Encoded failure", the SDK's clients and the Web UI (through the codec
 * endpoint) show the message. Loaded by path (`failureConverterPath`), in the workflow bundle and in the worker.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
