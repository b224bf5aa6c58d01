/** A claim check: a value kept in the blob store instead of workflow history, resolved by activities and the API. */
export interface BlobRef {
  /** `sha256:<hex>` of the value's JSON. */
  $blob: string;
  bytes: number;
  /** The first characters of the value, for people looking at the history in the Web UI. */
  preview?: string;
}

export const isBlobRef = (v: unknown): v is BlobRef =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as BlobRef).$blob === 'string' &&
  /^sha256:[0-9a-f]{64}$/.test((v as BlobRef).$blob);
