import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBlobRef, type BlobRef } from './shared/blob';

/** Where claim-checked values live. Content-addressed: putting the same value twice stores it once. */
export interface BlobStore {
  put(json: string): Promise<string>;
  get(key: string): Promise<string>;
}

/** The default store: files under one directory (shared by workers and the API, e.g. a volume in docker-compose). */
export class FileBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  private path(key: string): string {
    const hex = key.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a blob key: ${key}`);
    return join(this.dir, hex.slice(0, 2), `${hex}.json`);
  }

  async put(json: string): Promise<string> {
    const key = `sha256:${createHash('sha256').update(json).digest('hex')}`;
    const path = this.path(key);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(join(path, '..'), { recursive: true });
      // Write then rename, so a reader never sees half a blob and a crash leaves no truncated file under the key.
      const tmp = `${path}.${randomUUID()}.tmp`;
      await writeFile(tmp, json);
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

/** Puts values bigger than `thresholdBytes` (as JSON) in the store and hands back a reference; smaller ones pass. */
export class ClaimCheck {
  constructor(
    readonly store: BlobStore,
    readonly thresholdBytes: number,
  ) {}

  async offload<T>(value: T): Promise<T | BlobRef> {
    if (value === undefined) return value;
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.thresholdBytes) return value;
    const key = await this.store.put(json);
    return { $blob: key, bytes, preview: json.slice(0, 200) };
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
export function claimCheckOf(config: { BLOB_STORE_DIR?: string; BLOB_THRESHOLD_BYTES?: number }): ClaimCheck {
  return new ClaimCheck(
    new FileBlobStore(config.BLOB_STORE_DIR ?? '.data/blobs'),
    config.BLOB_THRESHOLD_BYTES ?? 131_072,
  );
}
