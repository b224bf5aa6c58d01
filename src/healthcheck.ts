/**
 * The Docker image's HEALTHCHECK, for both of its commands: `node dist/healthcheck.js [api|worker] [path]`.
 *
 * - api: GET http://127.0.0.1:AGENT_ORCHESTRATOR_PORT/healthz (or the path given, e.g. /readyz). /healthz is the
 *   liveness a restart policy should act on: the process serves. /readyz also needs Temporal and a worker running the
 *   pool, so an API restarted on it would restart whenever those are down, fixing nothing; docker-compose uses /readyz
 *   for the API's health so that `up --wait` returns when plans can be submitted.
 * - worker: GET /healthz on its metrics port (WORKER_METRICS_PORT, default 9464), served for as long as the worker
 *   runs. With WORKER_METRICS_PORT=0 there is nothing to probe: healthy while it runs.
 *
 * Without a role, the role is read from the container's command (PID 1's command line): the worker's names
 * worker.js, anything else is the API (the image's default command).
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from './config';

export type Role = 'api' | 'worker';

const TIMEOUT_MS = 4_000;

/** The role a container runs, from its PID 1 command line (NUL-separated, as in /proc/1/cmdline). */
export function roleOf(cmdline: string): Role {
  return cmdline.split(/\0|\s+/).some((arg) => /(^|\/)worker\.(js|ts)$/.test(arg)) ? 'worker' : 'api';
}

/** A listening address as a local client reaches it: a wildcard bind is probed on loopback. */
function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** What to GET for a role, or undefined when there is nothing to probe (the worker's metrics are off). */
export function probeUrl(role: Role, config: Config, path?: string): string | undefined {
  if (role === 'api') {
    const p = path ?? '/healthz';
    return `http://${localHost(config.AGENT_ORCHESTRATOR_HOST)}:${config.AGENT_ORCHESTRATOR_PORT}${p.startsWith('/') ? p : `/${p}`}`;
  }
  if (config.WORKER_METRICS_PORT === 0) return undefined;
  return `http://${localHost(config.WORKER_METRICS_HOST)}:${config.WORKER_METRICS_PORT}${path ?? '/healthz'}`;
}

/** GETs the URL: healthy on a 2xx answer within the timeout. */
export async function probe(url: string, timeoutMs = TIMEOUT_MS): Promise<{ healthy: boolean; detail: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { healthy: res.ok, detail: `${url}: HTTP ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { healthy: false, detail: `${url}: ${cause}` };
  }
}

function parseRole(arg: string | undefined): Role {
  if (arg === 'api' || arg === 'worker') return arg;
  if (arg !== undefined) throw new Error(`healthcheck: unknown role '${arg}' (expected api or worker)`);
  try {
    return roleOf(readFileSync('/proc/1/cmdline', 'utf8'));
  } catch {
    return 'api';
  }
}

async function main(): Promise<void> {
  const role = parseRole(process.argv[2]);
  const url = probeUrl(role, loadConfig(process.env, role), process.argv[3]);
  if (url === undefined) {
    console.log(`${role}: WORKER_METRICS_PORT=0, nothing to probe`);
    return;
  }
  const { healthy, detail } = await probe(url);
  console.log(`${role} ${healthy ? 'healthy' : 'unhealthy'}: ${detail}`);
  process.exitCode = healthy ? 0 : 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
