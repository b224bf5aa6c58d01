import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { Tracing } from './tracing';

/**
 * Workflow interceptor modules to bundle with the workflows: every bundle (the worker's at start, `npm run build`'s, the
 * tests') lists these, so one bundle serves workers with tracing on and off.
 */
export const workflowInterceptorModules: string[] = [require.resolve('../workflows/tracing-interceptors')];

/** Client interceptors: starts, signals, queries and updates carry the active span context to the workflow. */
export function tracingClientInterceptors(tracing: Tracing | undefined): ClientInterceptors {
  return tracing ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};
}

/** Activity interceptors: a span per activity execution, child of the span that scheduled it in the workflow. */
export function tracingActivityInterceptors(tracing: Tracing | undefined): ActivityInterceptorsFactory[] {
  if (!tracing) return [];
  return [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ];
}

/**
 * The sink traced workflows export their spans through. Registered even with tracing off (as a no-op), so a workflow
 * started by a client that traces does not log an error for a missing sink on a worker that does not.
 */
export function tracingSinks(
  tracing: Tracing | undefined,
): InjectedSinks<{ exporter: { export(...a: unknown[]): void } }> {
  if (tracing) return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } as never;
  return { exporter: { export: { fn: () => undefined } } };
}
