import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { Histogram } from 'prom-client';
import type { Logger } from './logger';

const tracer = trace.getTracer('agent-orchestrator-api');

/** Probes and scrapes: logged at debug, so they do not drown the requests that matter. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * First middleware of the API: per request, a SERVER span (a child of an incoming W3C `traceparent`, if any) that is
 * the active context for the handler, so the Temporal client's spans (StartWorkflow, SignalWorkflow, QueryWorkflow)
 * are its children; once the response is done, a log line (method, path, route, status, ms; never headers, query
 * strings or bodies; the trace and span id when traced) and an observation of the duration histogram. The span is a no-op when tracing is off.
 */
export function observeRequests(opts: {
  log: Logger;
  duration?: Histogram<'method' | 'route' | 'status_code'>;
}): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol },
      },
      parent,
    );
    res.once('close', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The route pattern (/v1/plans/:planId), known once routing is done; requests no route took are 'unmatched'.
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const status = res.statusCode;
      const aborted = !res.writableFinished;
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500 || aborted)
        span.setStatus({ code: SpanStatusCode.ERROR, ...(aborted ? { message: 'client closed the connection' } : {}) });
      span.end();
      opts.duration?.observe({ method: req.method, route, status_code: String(status) }, ms / 1_000);
      const ids = span.spanContext();
      const fields = {
        method: req.method,
        path: req.path,
        route,
        status,
        ms: Math.round(ms * 10) / 10,
        ...(isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
      };
      const line = aborted ? 'request aborted' : 'request';
      if (QUIET.has(req.path) && status < 400) opts.log.debug(fields, line);
      else opts.log.info(fields, line);
    });
    const active = trace.setSpan(parent, span);
    // The body is read in the request stream's events, which run in the socket's async context, not this one: bind the
    // streams so the handlers after express.json() still see the span.
    context.bind(active, req);
    context.bind(active, res);
    context.with(active, next);
  };
}
