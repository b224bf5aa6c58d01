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
 * One model call with the AI SDK's streamText: as text arrives, `report` gets the text so far (its last
 * MAX_STREAMED_CHARS characters), at most every `intervalMs` and once at the end. The activity heartbeats it, and the
 * API's event streams read it from the pending activity (docs/events.md). Errors come out thrown, as generateText's do.
 */
export async function streamedCall(
  args: Parameters<typeof streamText>[0],
  step: string,
  intervalMs: number,
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
      if (Date.now() - lastReport >= intervalMs) tell();
    } else if (part.type === 'error') failure ??= part.error;
    else if (part.type === 'abort') failure ??= args.abortSignal?.reason ?? new Error('the model call was aborted');
  }
  if (failure !== undefined) throw failure;
  if (text.length > reported) tell();
  const [toolCalls, usage, response] = await Promise.all([result.toolCalls, result.usage, result.response]);
  return { text: await result.text, toolCalls, usage, response: { messages: response.messages } };
}
