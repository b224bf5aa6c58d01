import { createServer, type Server } from 'node:http';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { CancelledFailure } from '@temporalio/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderCallStats } from '../activities/model';
import type { Logger } from './logger';

/** The model-call metrics, each read from the worker's provider limiter at scrape time. */
const PROVIDER_CALL_METRICS = [
  {
    name: 'agent_orchestrator_model_calls_in_flight',
    kind: 'gauge',
    field: 'inFlight',
    help: 'Model calls this worker has in flight, by provider (provider, plus host for a base URL).',
  },
  {
    name: 'agent_orchestrator_model_calls_waiting',
    kind: 'gauge',
    field: 'waiting',
    help: 'Model calls waiting on this worker for a provider limit (MODEL_MAX_CONCURRENCY, MODEL_REQUESTS_PER_MINUTE, a 429 pause).',
  },
  {
    name: 'agent_orchestrator_model_calls_queued_total',
    kind: 'counter',
    field: 'queuedTotal',
    help: 'Model calls that had to wait for a provider limit on this worker before they started.',
  },
] as const satisfies readonly {
  name: string;
  kind: 'gauge' | 'counter';
  field: keyof Omit<ProviderCallStats, 'key'>;
  help: string;
}[];

/**
 * The worker's own Prometheus metrics: process metrics (`process_*`, `nodejs_*`) and every activity it runs, by
 * activity type and outcome. The SDK's Core metrics (`temporal_*`) come from Core's exporter and are appended to the
 * same scrape (see serveWorkerMetrics).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly executions = new Counter({
    name: 'agent_orchestrator_activity_executions_total',
    help: 'Activity executions on this worker by activity type and outcome (completed, failed, cancelled).',
    labelNames: ['activity', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'agent_orchestrator_activity_duration_seconds',
    help: 'Activity execution time on this worker by activity type (each attempt).',
    labelNames: ['activity'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  private readonly verdicts = new Counter({
    name: 'agent_orchestrator_output_verdicts_total',
    help: "Verdicts on agents' outputs on this worker, by the agent type that produced the output (for a reviewer's, the reviewer's type), who judged (schema, reviewer) and the verdict (accepted, rejected: a revision, or the task's failure after its last).",
    labelNames: ['agent_type', 'by', 'verdict'] as const,
    registers: [this.registry],
  });

  private providerCalls: () => ProviderCallStats[] = () => [];

  /** One verdict on an output (the validate step's contract check, or a review). */
  verdict(agentType: string, by: 'schema' | 'reviewer', accepted: boolean): void {
    this.verdicts.inc({ agent_type: agentType, by, verdict: accepted ? 'accepted' : 'rejected' });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const m of PROVIDER_CALL_METRICS) {
      const read = () => this.providerCalls();
      const Metric = m.kind === 'counter' ? Counter : Gauge;
      new Metric({
        name: m.name,
        help: m.help,
        labelNames: ['provider'] as const,
        registers: [this.registry],
        collect(this: Counter<'provider'> | Gauge<'provider'>) {
          this.reset();
          for (const c of read()) {
            if (this instanceof Gauge) this.set({ provider: c.key }, c[m.field]);
            else this.inc({ provider: c.key }, c[m.field]);
          }
        },
      });
    }
  }

  /** The model calls behind the `agent_orchestrator_model_calls_*` metrics (the worker's provider limiter). */
  watchProviderCalls(read: () => ProviderCallStats[]): void {
    this.providerCalls = read;
  }

  /** Counts and times every activity (regular and local). */
  readonly activityInterceptor: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      execute: async (input, next) => {
        const activity = ctx.info.activityType;
        const stop = this.duration.startTimer({ activity });
        try {
          const result = await next(input);
          this.executions.inc({ activity, outcome: 'completed' });
          return result;
        } catch (err) {
          this.executions.inc({ activity, outcome: err instanceof CancelledFailure ? 'cancelled' : 'failed' });
          throw err;
        } finally {
          stop();
        }
      },
    },
  });
}

/**
 * Serves `GET /metrics` on host:port: the worker's registry followed by what Core's Prometheus exporter at `coreUrl`
 * reports (its families are all `temporal_*`, so the two never clash). Core unreachable: the worker's part alone.
 * `GET /healthz` answers 200 while the worker process serves (the healthcheck's probe).
 */
export async function serveWorkerMetrics(opts: {
  metrics: WorkerMetrics;
  host: string;
  port: number;
  coreUrl?: string;
  log: Logger;
}): Promise<Server> {
  const { metrics, coreUrl, log } = opts;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    // Liveness for the image's HEALTHCHECK: the worker process serves (cheaper than rendering every metric).
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics or GET /healthz\n');
      return;
    }
    void (async () => {
      const own = await metrics.registry.metrics();
      let core = '';
      if (coreUrl) {
        try {
          const r = await fetch(coreUrl, { signal: AbortSignal.timeout(5_000) });
          if (r.ok) core = await r.text();
          else
            log.warn({ status: r.status }, 'SDK metrics endpoint answered an error; serving the worker metrics only');
        } catch (err) {
          log.warn({ err }, 'SDK metrics endpoint unreachable; serving the worker metrics only');
        }
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(core ? `${own.trimEnd()}\n\n${core}` : own);
    })().catch((err: unknown) => {
      log.error({ err }, 'rendering worker metrics failed');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `WORKER_METRICS_PORT=${opts.port} (WORKER_METRICS_HOST=${opts.host}): cannot listen: ${err.code ?? err.message}` +
            (err.code === 'EADDRINUSE'
              ? ' (another process has it: pick another port, or 0 to turn worker metrics off)'
              : ''),
        ),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}
