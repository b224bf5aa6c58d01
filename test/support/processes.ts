/**
 * The orchestrator's real processes (worker, API) spawned the way an operator runs them, for fault-injection tests and
 * the chaos run: SIGKILL them, start them again, and check that nothing was lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const tsNode = resolve(root, 'node_modules/.bin/ts-node');

export { freePort } from '../../scripts/dev-server';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One spawned process, with its recent output kept for diagnostics. */
export interface OrchestratorProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<ProcessExit>;
  alive(): boolean;
  /** The last ~64 KB of stdout and stderr, interleaved. */
  output(): string;
  /** Resolves when a line of output matches; rejects if the process exits first or the time runs out. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Sends the signal (default SIGKILL) and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<ProcessExit>;
}

const live = new Set<OrchestratorProcess>();

export interface OrchestratorEnv {
  /** Temporal frontend, host:port. */
  address: string;
  taskQueue: string;
  /** API port (the worker ignores it). */
  port?: number;
  /** Fault injection: while this file exists the offline runtime fails every call (retryably). */
  outageFile?: string;
  /** Anything else (MAX_RETRIES, ...). */
  extra?: Record<string, string>;
}

/**
 * The agent pool workflow id for a task queue (the pool is an entity workflow served by that queue's workers). Set
 * explicitly so plans started without the API can be stamped with the same id the spawned processes use.
 */
export const poolIdFor = (taskQueue: string): string => `pool-${taskQueue}`;

/** The environment of a worker or API process: fast retries and heartbeats so failures are detected in seconds. */
export function orchestratorEnv(opts: OrchestratorEnv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: opts.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: opts.taskQueue,
    AGENT_ORCHESTRATOR_HOST: '127.0.0.1',
    AGENT_ORCHESTRATOR_PORT: String(opts.port ?? 0),
    RETRY_INITIAL_INTERVAL_MS: '100',
    RETRY_MAX_INTERVAL_MS: '500',
    HEARTBEAT_TIMEOUT_SECONDS: '2',
    AGENT_POOL_ID: poolIdFor(opts.taskQueue),
    // Several workers run at once in tests: none binds the default metrics port unless a test gives it one.
    WORKER_METRICS_PORT: '0',
    // The tests, the chaos run and the benchmarks drive the offline runtime with `simulate` directives.
    ALLOW_SIMULATE: 'true',
    ...(opts.outageFile ? { OFFLINE_RUNTIME_OUTAGE_FILE: opts.outageFile } : {}),
    ...opts.extra,
  };
}

/** Spawns `ts-node --transpile-only <entry>` from the project root. The pid is node's own (no shell in between). */
export function spawnOrchestrator(name: string, entry: string, env: NodeJS.ProcessEnv): OrchestratorProcess {
  const child = spawn(tsNode, ['--transpile-only', entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not spawn ${name} (${entry})`);
  let log = '';
  let pending = '';
  const watchers = new Set<(line: string) => void>();
  const onData = (d: Buffer) => {
    const text = d.toString();
    log = (log + text).slice(-65_536);
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) for (const w of watchers) w(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<ProcessExit>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const proc: OrchestratorProcess = {
    name,
    pid: child.pid,
    child,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    output: () => log,
    waitFor(pattern, ms = 60_000) {
      return new Promise<void>((done, fail) => {
        if (log.split('\n').some((l) => pattern.test(l))) return done();
        const finish = (err?: Error) => {
          clearTimeout(timer);
          watchers.delete(watch);
          if (err) fail(err);
          else done();
        };
        const watch = (line: string) => {
          if (pattern.test(line)) finish();
        };
        const timer = setTimeout(
          () => finish(new Error(`${name} printed nothing matching ${pattern} within ${ms} ms:\n${log.slice(-4_000)}`)),
          ms,
        );
        watchers.add(watch);
        void exited.then((e) => {
          if (watchers.has(watch))
            finish(new Error(`${name} exited (${e.code ?? e.signal}) before ${pattern}:\n${log.slice(-4_000)}`));
        });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (proc.alive()) child.kill(signal);
      return exited;
    },
  };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Starts a worker process and resolves once it polls its task queue (it bundles the workflows first: a few seconds). */
export async function startWorker(opts: OrchestratorEnv, name = 'worker'): Promise<OrchestratorProcess> {
  const proc = spawnOrchestrator(name, 'src/worker.ts', orchestratorEnv(opts));
  try {
    await proc.waitFor(/worker polling task queue/);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return proc;
}

/** Spawns an API process (src/api/server.ts) on `opts.port` and resolves once it listens. */
export async function startApiProcess(
  opts: OrchestratorEnv & { port: number },
  name = 'api',
): Promise<OrchestratorProcess> {
  const proc = spawnOrchestrator(name, 'src/api/server.ts', orchestratorEnv(opts));
  try {
    await proc.waitFor(/API listening on/);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return proc;
}

/** SIGKILLs every process spawned here that is still running (test teardown; a script's exit path). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')));
}

/** Everything spawned here that is still running. */
export function liveProcesses(): OrchestratorProcess[] {
  return [...live];
}

/** A failing test's error with the tail of every live process's output added, so CI's log shows why. */
export function withProcessLogs(err: unknown): unknown {
  const logs = liveProcesses()
    .map((p) => `--- ${p.name} ---\n${p.output().slice(-2_000)}`)
    .join('\n');
  if (err instanceof Error) err.message += `\n${logs}`;
  return err;
}

// Response bodies are arbitrary JSON; callers check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Reply {
  status: number;
  body: Json;
}

/** One JSON request to the API. Throws on network errors (connection refused while the API is down). */
export async function request(
  base: string,
  path: string,
  opts: { method?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const res = await fetch(`${base}${path}`, {
    method: opts.method ?? (payload === undefined ? 'GET' : 'POST'),
    headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
    body: payload,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 70_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
