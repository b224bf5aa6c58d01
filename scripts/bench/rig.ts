/**
 * One measuring rig: a Temporal dev server of its own (in memory, headless, free port, 127.0.0.1 only; stock or with
 * LATENCY_TUNING), an in-process worker on its own task queue and pool id, and an in-process HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogEntry, type Worker } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { loadConfig, type Config } from '../../src/config';
import { signalPool } from '../../src/activities/pool';
import { loadRegistry } from '../../src/storage/registry-file';
import { DEFAULT_REGISTRY, type Registry } from '../../src/shared/registry';
import { buildDeps, createWorker, poolDepsOf } from '../../src/worker';
import { freePort, startDevServer, type DevServer } from '../dev-server';
import { dynamicConfigOf } from './environment';
import { MAX_AGENTS, type Variant } from './options';
import { log, type Cleanups } from './util';

/** Payloads the SDK warned about (over 512 KB) and refused (over 2 MB, Temporal's limit), from core's logs. */
export interface PayloadWarnings {
  count: number;
  maxBytes: number;
  errors: number;
  maxErrorBytes: number;
  errorPaths: string[];
}

/**
 * Installs the SDK runtime (once per process) with a logger that counts payload-size warnings (they matter for (e))
 * instead of printing them.
 */
export function installRuntime(): PayloadWarnings {
  const warnings: PayloadWarnings = { count: 0, maxBytes: 0, errors: 0, maxErrorBytes: 0, errorPaths: [] };
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry: LogEntry) => {
      const text = `${entry.message} ${JSON.stringify(entry.meta ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`;
      const size = Number(/size"?:\s*"?(\d+)/.exec(text)?.[1] ?? 0);
      if (/exceeded the error limit/.test(text)) {
        warnings.errors++;
        warnings.maxErrorBytes = Math.max(warnings.maxErrorBytes, size);
        const path = /path:\s*\\?"([^"\\]+)/.exec(text)?.[1];
        if (path && !warnings.errorPaths.includes(path)) warnings.errorPaths.push(path);
      } else if (/TMPRL1103|exceeded the warning limit/.test(text)) {
        warnings.count++;
        warnings.maxBytes = Math.max(warnings.maxBytes, size);
      } else console.error(`[${entry.level}] ${text.slice(0, 500)}`);
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
  return warnings;
}

export interface Rig {
  variant: Variant;
  server: DevServer;
  client: Client;
  config: Config;
  /** The API's base URL. */
  base: string;
  warnings: PayloadWarnings;
  /** Stops the API, worker, connections and server of this rig. */
  stop(): Promise<void>;
}

/**
 * Starts a rig; its teardown steps go onto `cleanups` (so a signal tears down what is up) and `stop()` runs them. The
 * workflow bundle is awaited after the server is started, so the first bundling overlaps the first server start.
 */
export async function startRig(
  variant: Variant,
  bundle: Promise<{ code: string }>,
  warnings: PayloadWarnings,
  cleanups: Cleanups,
  /** For (j): settings over the rig's own (FAIR_SHARE, API_KEYS), and whether the server's task queues are fair. */
  tweak: { env?: Record<string, string>; fairness?: boolean } = {},
): Promise<Rig> {
  const mark = cleanups.size;
  const stop = () => cleanups.unwind(mark);
  try {
    const tmp = mkdtempSync(join(tmpdir(), 'agent-orchestrator-bench-'));
    cleanups.add('temp dir', async () => rmSync(tmp, { recursive: true, force: true }));

    const port = await freePort();
    log(`[${variant}] starting Temporal dev server on 127.0.0.1:${port} ...`);
    const server = await startDevServer({
      port,
      dynamicConfig: dynamicConfigOf(variant),
      ...(tweak.fairness !== undefined ? { fairness: tweak.fairness } : {}),
    });
    cleanups.add(`Temporal dev server (${variant})`, () => server.stop());
    const { code } = await bundle;

    // Every type may grow to MAX_AGENTS, so the pool's global cap is the one that binds (the built-in types allow 10).
    const registryFile = join(tmp, 'registry.json');
    const benchRegistry: Registry = {
      agentTypes: DEFAULT_REGISTRY.agentTypes.map((t) => ({ ...t, maxInstances: MAX_AGENTS })),
    };
    writeFileSync(registryFile, JSON.stringify(benchRegistry));
    const taskQueue = `bench-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      AGENT_POOL_ID: `bench-pool-${taskQueue}`,
      AGENT_REGISTRY_FILE: registryFile,
      MAX_AGENTS: String(MAX_AGENTS),
      AGENT_ORCHESTRATOR_HOST: '127.0.0.1',
      AGENT_ORCHESTRATOR_PORT: '0',
      TEMPORAL_UI_URL: `http://127.0.0.1:${port}`,
      RETRY_INITIAL_INTERVAL_MS: '50',
      RETRY_MAX_INTERVAL_MS: '200',
      HEARTBEAT_TIMEOUT_SECONDS: '10',
      AGENT_TIMEOUT_SECONDS: '60',
      TEMPORAL_RPC_TIMEOUT_MS: '30000',
      ALLOW_SIMULATE: 'true',
      ...tweak.env,
    });
    const registry = loadRegistry(config.AGENT_REGISTRY_FILE);

    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    cleanups.add('worker connection', () => nativeConnection.close());
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    cleanups.add('client connection', () => connection.close());
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });

    const deps = buildDeps(config, client);
    const pool = poolDepsOf(config, client, deps.policy);
    const worker: Worker = await createWorker({
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue,
      deps,
      pool,
      workflowBundle: { code },
      identity: `bench@${process.pid}`,
    });
    const running = worker.run();
    cleanups.add('worker', async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });
    await signalPool(pool, config.AGENT_POOL_ID, { kind: 'configure', input: pool.poolInput() });

    const app = createApp({ client, config, registry });
    const api: Server = await new Promise((done, fail) => {
      const s = app.listen(0, '127.0.0.1', () => done(s));
      s.once('error', fail);
    });
    cleanups.add(
      'API',
      () =>
        new Promise<void>((done) => {
          api.close(() => done());
          api.closeAllConnections();
        }),
    );
    const { port: apiPort } = api.address() as { port: number };
    const base = `http://127.0.0.1:${apiPort}`;
    // Measures start once the API is ready (the pool started and its registry applied), as `npm start` waits for it:
    // before that, plans are refused with 503 NOT_READY.
    for (let i = 0; ; i++) {
      const ready = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (i >= 300) throw new Error(`[${variant}] the API was not ready within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    log(`[${variant}] worker on task queue ${taskQueue}, pool ${config.AGENT_POOL_ID}, API on ${base}`);
    // The registry file is read only at start-up: nothing is left behind if the run is killed.
    rmSync(tmp, { recursive: true, force: true });
    return { variant, server, client, config, base, warnings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
