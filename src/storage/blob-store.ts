/*
 * src/storage/: what the worker and the API read and write outside Temporal, where both must see the same thing: the
 * claim-check store for large values (this file), output references resolved from task results and blobs
 * (output-refs.ts), and the agent registry file (registry-file.ts).
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decrypt, encrypt, keyFor } from '../encryption/aes-gcm';
import type { Keyring } from '../encryption/keyring';
import { isBlobRef, isTaskResultRef, type BlobRef } from '../shared/claim-check';

/** Where claim-checked values live. Content-addressed: putting the same value twice stores it once. */
export interface BlobStore {
  put(json: string): Promise<string>;
  get(key: string): Promise<string>;
}

/** A store that can keep content under another value's key (what EncryptedBlobStore needs). */
export interface KeyedBlobStore extends BlobStore {
  /** Stores `stored` under `key` (default: the content key of `json`). */
  putAs(json: string, stored: string, key?: string): Promise<string>;
}

/** The default store: files under one directory (shared by workers and the API, e.g. a volume in docker-compose). */
export class FileBlobStore implements KeyedBlobStore {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    const hex = key.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a blob key: ${key}`);
    return join(this.dir, hex.slice(0, 2), `${hex}.json`);
  }

  put(json: string): Promise<string> {
    return this.putAs(json, json);
  }

  async putAs(json: string, stored: string, key = `sha256:${createHash('sha256').update(json).digest('hex')}`) {
    const path = this.path(key);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(join(path, '..'), { recursive: true });
      // Write then rename, so a reader never sees half a blob and a crash leaves no truncated file under the key.
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, stored);
      await rename(tmp, path);
    }
    return key;
  }

  async get(key: string): Promise<string> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      throw new Error(`blob ${key} is missing from the blob store (${(err as Error).message})`);
    }
  }
}

const SEALED = 'aoenc1:';

/**
 * Encrypts blobs at rest with the payload keyring (AES-256-GCM, key id kept with each blob), so the claim-check store
 * is no plainer than history. A blob's name is an HMAC-SHA256 of its plaintext under a key derived from the current
 * encryption key (still written `sha256:<hex>`): whoever can list the store cannot confirm a guessed value by hashing
 * it. The same value stored twice under one current key is stored once. Blobs written before encryption was turned on
 * are read as they are.
 */
export class EncryptedBlobStore implements BlobStore {
  private readonly nameKey: Buffer;

  constructor(
    private readonly inner: KeyedBlobStore,
    private readonly keyring: Keyring,
  ) {
    this.nameKey = createHmac('sha256', keyring.current.key).update('agent-orchestrator blob names v1').digest();
  }

  put(json: string): Promise<string> {
    const { id, key } = this.keyring.current;
    const sealed = `${SEALED}${id}:${encrypt(key, Buffer.from(json, 'utf8')).toString('base64')}`;
    return this.inner.putAs(json, sealed, `sha256:${createHmac('sha256', this.nameKey).update(json).digest('hex')}`);
  }

  async get(key: string): Promise<string> {
    const stored = await this.inner.get(key);
    if (!stored.startsWith(SEALED)) return stored;
    const rest = stored.slice(SEALED.length);
    const colon = rest.indexOf(':');
    if (colon <= 0) throw new Error(`blob ${key} is damaged: no key id before its ciphertext`);
    const id = rest.slice(0, colon);
    return decrypt(keyFor(this.keyring, id), Buffer.from(rest.slice(colon + 1), 'base64')).toString('utf8');
  }
}

/** Puts values bigger than `thresholdBytes` (as JSON) in the store and hands back a reference; smaller ones pass. */
export class ClaimCheck {
  constructor(
    readonly store: BlobStore,
    readonly thresholdBytes: number,
  ) {}

  /** `thresholdBytes`: this value's own threshold (an inline task's output is kept smaller, see StepContext). */
  async offload<T>(value: T, thresholdBytes = this.thresholdBytes): Promise<T | BlobRef> {
    if (value === undefined) return value;
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes <= thresholdBytes) return value;
    const key = await this.store.put(json);
    return { $blob: key, bytes, preview: json.slice(0, 200) };
  }

  /**
   * An agent's output (or what was parsed from it): offloaded like any value, and always when it has the shape of a
   * reference (`$blob`, `$taskResult`), so no agent's data is ever taken for a reference and resolved: an output
   * naming another tenant's task or blob is kept as the data it is (docs/security.md, "Tenants").
   */
  async offloadOutput<T>(value: T, thresholdBytes = this.thresholdBytes): Promise<T | BlobRef> {
    if (!isBlobRef(value) && !isTaskResultRef(value)) return this.offload(value, thresholdBytes);
    const json = JSON.stringify(value);
    return { ...(await this.keep(value)), preview: json.slice(0, 200) };
  }

  /** Stores `value` whatever its size: for state a workflow must keep small however it grows (an agent's memory). */
  async keep(value: unknown): Promise<BlobRef> {
    const json = JSON.stringify(value);
    return { $blob: await this.store.put(json), bytes: Buffer.byteLength(json) };
  }

  async resolve(value: unknown): Promise<unknown> {
    return isBlobRef(value) ? (JSON.parse(await this.store.get(value.$blob)) as unknown) : value;
  }

  async resolveAll(values: Record<string, unknown>): Promise<Record<string, unknown>> {
    const entries = await Promise.all(
      Object.entries(values).map(async ([k, v]) => [k, await this.resolve(v)] as const),
    );
    return Object.fromEntries(entries);
  }
}

/** The claim-check store the workers and the API share (BLOB_STORE_DIR, BLOB_THRESHOLD_BYTES). */
export function claimCheckOf(config: {
  BLOB_STORE_DIR?: string;
  BLOB_THRESHOLD_BYTES?: number;
  /** Payload encryption keys: blobs are encrypted with them too. */
  encryption?: Keyring;
}): ClaimCheck {
  const files = new FileBlobStore(config.BLOB_STORE_DIR ?? '.data/blobs');
  return new ClaimCheck(
    config.encryption ? new EncryptedBlobStore(files, config.encryption) : files,
    config.BLOB_THRESHOLD_BYTES ?? 131_072,
  );
}
