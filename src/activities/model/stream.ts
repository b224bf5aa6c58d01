import { streamText, type ModelMessage } from 'ai';
import { MAX_STREAMED_CHARS, type StreamedText } from '../../shared/model-stream';

/** What a model step uses of a call's result, whether it streamed or not. */
export interface ModelAnswer {
  text: string;
  toolCalls: { toolCallId: string; toolName: string; input: unknown; invalid?: boolean }[];
  usage: { inputTokens?: number; outputTokens?: number; totalTokens?: number };
  response: { messages: ModelMessage[] };
}

/**
 * Spaces the heartbeats that carry streamed text, over all the calls one worker streams at once: each call reports at
 * most every `intervalMs` (MODEL_STREAM_INTERVAL_MS), and all of them together about `perSecond` times a second
 * (MODEL_STREAM_HEARTBEATS_PER_SECOND). A heartbeat is a write of its workflow's state on the server, so a thousand
 * agents streaming at once would otherwise cost a thousand writes a second for text nobody may be watching; paced,
 * watchers see each call's text less often as more calls stream (docs/benchmarks.md, measure (i)).
 */
export class StreamPacer {
  private streaming = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly perSecond: number,
  ) {}

  /** How long one streaming call waits between reports now. */
  interval(): number {
    return this.perSecond > 0 ? Math.max(this.intervalMs, (this.streaming * 1_000) / this.perSecond) : this.intervalMs;
  }

  /** Counts `fn` among the calls streaming while it runs. */
  async pace<T>(fn: () => Promise<T>): Promise<T> {
    this.streaming++;
    try {
      return await fn();
    } finally {
      this.streaming--;
    }
  }

  /** Whether calls report less often than MODEL_STREAM_INTERVAL_MS now, because so many stream at once. */
  get pacing(): boolean {
    return this.interval() > this.intervalMs;
  }

  /** Calls streaming now (for tests). */
  get active(): number {
    return this.streaming;
  }
}

/**
 * One model call with the AI SDK's streamText: as text arrives, `report` gets the text so far (its last
 * MAX_STREAMED_CHARS characters), at most every `pacer.interval()` and once at the end. The activity heartbeats it, and the
 * API's event streams read it from the pending activity (docs/events.md). Errors come out thrown, as generateText's do.
 */
export async function streamedCall(
  args: Parameters<typeof streamText>[0],
  step: string,
  pacer: StreamPacer,
  report: (text: StreamedText) => void,
): Promise<ModelAnswer> {
  return pacer.pace(() => streamed(args, step, pacer, report));
}

async function streamed(
  args: Parameters<typeof streamText>[0],
  step: string,
  pacer: StreamPacer,
  report: (text: StreamedText) => void,
): Promise<ModelAnswer> {
  let failure: unknown;
  const result = streamText({
    ...args,
    onError: ({ error }) => {
      failure ??= error;
    },
  });
  let text = '';
  let lastReport = 0;
  let reported = 0;
  const tell = () => {
    reported = text.length;
    lastReport = Date.now();
    report({ step, text: text.slice(-MAX_STREAMED_CHARS), chars: text.length });
  };
  for await (const part of result.fullStream) {
    if (part.type === 'text-delta') {
      text += part.text;
      if (Date.now() - lastReport >= pacer.interval()) tell();
    } else if (part.type === 'error') failure ??= part.error;
    else if (part.type === 'abort') failure ??= args.abortSignal?.reason ?? new Error('the model call was aborted');
  }
  if (failure !== undefined) throw failure;
  // The whole text once more at the end, unless the worker is pacing its streams: the step ends at once, and the
  // watchers get its output with it.
  if (text.length > reported && !pacer.pacing) tell();
  const [toolCalls, usage, response] = await Promise.all([result.toolCalls, result.usage, result.response]);
  return { text: await result.text, toolCalls, usage, response: { messages: response.messages } };
}
