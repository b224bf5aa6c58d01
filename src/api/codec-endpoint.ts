import type { NextFunction, Request, Response } from 'express';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { EncryptionCodec } from '../encryption/payload-codec';
import type { Keyring } from '../encryption/keyring';
import { ApiError } from './errors';

/**
 * Temporal's remote codec protocol (`temporal --codec-endpoint`, the Web UI's "Codec Server" setting):
 * POST /codec/encode and /codec/decode with {"payloads": [{"metadata": {k: base64}, "data": base64}]} (proto3 JSON).
 * Behind the API's auth: decode needs `read`, encode `submit` (docs/security.md).
 */
const B64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64');
/** Temporal's remote codec body: `{"payloads": [{"metadata": {k: base64}, "data": base64}]}`. */
export const CodecPayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), B64).optional(), data: B64.optional() })).max(10_000),
});

export type CodecPayloadsBody = z.infer<typeof CodecPayloads>;

const toPayload = (p: CodecPayloadsBody['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const fromPayload = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/**
 * CORS for the codec routes, so the Web UI (another origin) can call them from the browser; answers preflights. Runs
 * before auth, so a 401 is readable by the page too.
 */
export function codecCors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (!req.path.startsWith('/codec/') || !origin || !allowed.has(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'content-type, authorization, x-namespace');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** Encodes or decodes with the payload codec; 404 when encryption is off, 400 for payloads it cannot decode. */
export function codecOf(keyring: Keyring | undefined) {
  // Decoding here only shows payloads to a person: plaintext ones (from before encryption) are shown as they are.
  const codec = keyring ? new EncryptionCodec(keyring, 'display') : undefined;
  return async (op: 'encode' | 'decode', body: CodecPayloadsBody): Promise<CodecPayloadsBody> => {
    if (!codec)
      throw new ApiError('NOT_FOUND', 'payload encryption is off (no PAYLOAD_ENCRYPTION_KEYS): nothing to decode');
    try {
      return { payloads: (await codec[op](body.payloads.map(toPayload))).map(fromPayload) };
    } catch (err) {
      throw new ApiError('VALIDATION_ERROR', `cannot ${op} these payloads: ${(err as Error).message}`);
    }
  };
}
