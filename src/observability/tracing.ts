import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Config } from '../config';
import type { Logger } from './logger';

type TracingConfig = Pick<Config, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>;

/** Where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; else none. */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export const tracingEnabled = (config: TracingConfig): boolean => tracesUrl(config) !== undefined;

/** The process's tracer provider, registered globally (so @opentelemetry/api, the AI SDK and Temporal use it). */
export interface Tracing {
  url: string;
  resource: Resource;
  /** Also handed to the worker's workflow span sink: spans made inside workflows are exported through it. */
  spanProcessor: SpanProcessor;
  /** Flushes what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when an OTLP endpoint is configured: a Node tracer provider (async-hooks context, W3C trace context
 * propagation) exporting OTLP/HTTP (JSON) in batches. Without an endpoint nothing is loaded into the global API, so every
 * span made through @opentelemetry/api is a no-op.
 */
export function startTracing(config: TracingConfig, serviceName: string, log?: Logger): Tracing | undefined {
  const url = tracesUrl(config);
  if (!url) return undefined;
  // The SDK's own complaints (a collector that cannot be reached, spans dropped) go to the JSON log.
  if (log) {
    const otel = log.child({ component: 'opentelemetry' });
    diag.setLogger(
      {
        error: (msg, ...args) => otel.error({ args }, msg),
        warn: (msg, ...args) => otel.warn({ args }, msg),
        info: (msg, ...args) => otel.info({ args }, msg),
        debug: (msg, ...args) => otel.debug({ args }, msg),
        verbose: (msg, ...args) => otel.trace({ args }, msg),
      },
      DiagLogLevel.WARN,
    );
  }
  const resource = Resource.default().merge(new Resource({ 'service.name': serviceName }));
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1_000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { url, resource, spanProcessor, shutdown: () => provider.shutdown() };
}
