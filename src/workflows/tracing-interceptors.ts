/**
 * Workflow interceptors (a module of the workflow bundle, listed in `interceptors.workflowModules`): OpenTelemetry spans
 * for a workflow and everything it starts, only for workflows started with a trace context in their headers (a client
 * with tracing on: the API, or a traced parent). A workflow started without one (tracing off, and every history recorded
 * before tracing existed) runs exactly as without these interceptors: same commands, no extra yields, no sink calls.
 */
import type * as OtelWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The header @temporalio/interceptors-opentelemetry carries the span context in. */
const TRACE_HEADER = '_tracer-data';

interface Traced {
  inbound: OtelWorkflow.OpenTelemetryInboundInterceptor;
  outbound: OtelWorkflow.OpenTelemetryOutboundInterceptor;
  internals: OtelWorkflow.OpenTelemetryInternalsInterceptor;
}

/**
 * The OpenTelemetry interceptors and the SDK they bring, loaded by the first traced workflow only. Every workflow start
 * evaluates every module its code reaches (src/workflows/lazy-schemas.ts): loaded up front, these took 17 % of the
 * workflow thread's CPU during the 1,000-task bench, tracing on or off (docs/benchmarks.md).
 */
const otel = (): typeof OtelWorkflow =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof OtelWorkflow;

export const interceptors = (): WorkflowInterceptors => {
  // Decided once, when the workflow starts executing; the OpenTelemetry interceptors are made only then.
  let traced: Traced | undefined;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      if (input.headers[TRACE_HEADER] === undefined) return next(input);
      const o = otel();
      traced = {
        inbound: new o.OpenTelemetryInboundInterceptor(),
        outbound: new o.OpenTelemetryOutboundInterceptor(),
        internals: new o.OpenTelemetryInternalsInterceptor(),
      };
      return traced.inbound.execute(input, next);
    },
    handleSignal: (input, next) => (traced ? traced.inbound.handleSignal(input, next) : next(input)),
    handleUpdate: (input, next) => (traced ? traced.inbound.handleUpdate(input, next) : next(input)),
    validateUpdate: (input, next) => (traced ? traced.inbound.validateUpdate(input, next) : next(input)),
    handleQuery: (input, next) => (traced ? traced.inbound.handleQuery(input, next) : next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => (traced ? traced.outbound.scheduleActivity(input, next) : next(input)),
    scheduleLocalActivity: (input, next) => (traced ? traced.outbound.scheduleLocalActivity(input, next) : next(input)),
    startChildWorkflowExecution: (input, next) =>
      traced ? traced.outbound.startChildWorkflowExecution(input, next) : next(input),
    // Not traced: the next run starts a trace of its own. The agent pool never completes; carried across its runs, one
    // trace (begun by the worker's start-up signal) would grow for ever.
    continueAsNew: (input, next) => next(input),
    signalWorkflow: (input, next) => (traced ? traced.outbound.signalWorkflow(input, next) : next(input)),
    getLogAttributes: (input, next) => (traced ? traced.outbound.getLogAttributes(input, next) : next(input)),
  };
  const internals: WorkflowInternalsInterceptor = {
    dispose(input, next) {
      // The OpenTelemetry one is async in name only: it calls next before returning.
      if (traced) void traced.internals.dispose(input, next);
      else next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
