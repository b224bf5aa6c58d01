/** The model runtime (an agent thinking with a model through the Vercel AI SDK) and the limits on its provider calls. */
export { ModelRuntime, type ModelRuntimeDeps } from './agent-loop';
export { ProviderLimiter, type ProviderCallStats, type ProviderLimit, type QueueReason } from './provider-limits';
export { StreamPacer } from './stream';
