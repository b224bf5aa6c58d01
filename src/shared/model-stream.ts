/**
 * The heartbeat details of a model step while its call streams: the text generated so far (its last `MAX_STREAMED_CHARS`
 * characters), read by the API's event streams. Heartbeat details live in the server's record of the pending activity,
 * not in workflow history.
 */
export interface StreamedText {
  /** The lifecycle step: `reason` or `execute`. */
  step: string;
  text: string;
  /** Characters generated so far; more than `text.length` once the text is cut to its tail. */
  chars: number;
}

export const MAX_STREAMED_CHARS = 4_096;

export const isStreamedText = (v: unknown): v is StreamedText =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as StreamedText).text === 'string' &&
  typeof (v as StreamedText).step === 'string' &&
  typeof (v as StreamedText).chars === 'number';
