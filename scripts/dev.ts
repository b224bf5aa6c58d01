/**
 * `npm start`: the whole orchestrator on one machine. Starts the Temporal dev server (persistent SQLite in .data/,
 * Web UI on 8233) unless Temporal is elsewhere (TEMPORAL_ADDRESS or TEMPORAL_PROFILE set, or a default profile in
 * temporal.toml naming another address: see docs/operations.md), then the worker, then the API. Ctrl-C stops all.
 *
 * The dev server runs with LATENCY_TUNING (scripts/dev-server.ts: its transfer queue is read up to 1,000 times a second
 * instead of 20, which takes ~50 ms off every hop between workflows, activities and the pool). Env
 * `TEMPORAL_DEV_STOCK=1` starts it with the CLI's stock settings instead, e.g. to compare with `npm run bench`'s "stock"
 * column.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { loadConfigOrExit } from '../src/config';
import { DEFAULT_TEMPORAL_ADDRESS, describeTarget } from '../src/temporal/connection';
import { describeDynamicConfig, LATENCY_TUNING, startDevServer, type DevServer } from './dev-server';

const root = resolve(__dirname, '..');

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const external =
    Boolean(process.env.TEMPORAL_ADDRESS || process.env.TEMPORAL_PROFILE) ||
    config.temporal.target.address !== DEFAULT_TEMPORAL_ADDRESS ||
    config.temporal.target.tls;
  let server: DevServer | undefined;
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  if (!external) {
    const port = Number(config.TEMPORAL_ADDRESS.split(':').pop() ?? 7233);
    const stock = process.env.TEMPORAL_DEV_STOCK === '1';
    const tuning = stock ? {} : LATENCY_TUNING;
    console.log(
      `starting Temporal dev server on :${port} (data in .data/temporal.db; ${stock ? 'stock settings, TEMPORAL_DEV_STOCK=1' : describeDynamicConfig(tuning)}) ...`,
    );
    server = await startDevServer({
      port,
      uiPort,
      dbFile: resolve(root, '.data/temporal.db'),
      namespace: config.TEMPORAL_NAMESPACE,
      dynamicConfig: tuning,
      log: (l) => process.stderr.write(`[temporal] ${l}`),
    });
  }
  // `npm start` is for development: `simulate` directives (examples/, the demos) are on unless said otherwise.
  const dev = { ...process.env, ALLOW_SIMULATE: process.env.ALLOW_SIMULATE ?? 'true' };
  const env: NodeJS.ProcessEnv = server
    ? {
        ...dev,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_UI_URL: process.env.TEMPORAL_UI_URL || `http://localhost:${uiPort}`,
      }
    : dev;
  const tsNode = resolve(root, 'node_modules/.bin/ts-node');
  const run = (name: string, entry: string): ChildProcess => {
    const child = spawn(tsNode, ['--transpile-only', entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (d: Buffer) =>
      d
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => `[${name}] ${l}\n`)
        .join('');
    child.stdout?.on('data', (d: Buffer) => process.stdout.write(prefix(d)));
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(prefix(d)));
    return child;
  };
  const worker = run('worker', 'src/worker.ts');
  const api = run('api', 'src/api/server.ts');
  const children = [worker, api];

  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping API, worker${server ? ' and Temporal' : ''} ...`);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((done) => {
            if (c.exitCode !== null) return done();
            c.once('exit', () => done());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    await server?.stop();
    process.exit(code);
  };
  for (const [name, child] of [
    ['worker', worker],
    ['api', api],
  ] as const) {
    child.once('exit', (code) => void stop(`${name} exited with code ${code}`, code === 0 ? 0 : 1));
  }
  server?.process.once('exit', (code) => void stop(`Temporal dev server exited with code ${code}`, 1));
  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.once('SIGTERM', () => void stop('SIGTERM', 0));

  console.log(
    [
      '',
      'Agent Orchestrator is starting:',
      `  Dashboard    http://localhost:${config.AGENT_ORCHESTRATOR_PORT}/   (docs/dashboard.md)`,
      `  API          http://localhost:${config.AGENT_ORCHESTRATOR_PORT}   (try: curl -s localhost:${config.AGENT_ORCHESTRATOR_PORT}/healthz)`,
      server
        ? `  Temporal UI  http://localhost:${uiPort}`
        : `  Temporal UI  ${config.TEMPORAL_UI_URL ?? '(unknown: set TEMPORAL_UI_URL for links)'}`,
      `  Temporal     ${server ? `${server.address} (dev server)` : `${describeTarget(config.temporal.target)} (external)`}, task queue ${config.TEMPORAL_TASK_QUEUE}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await announceReady(config.AGENT_ORCHESTRATOR_PORT, () => stopping);
}

/**
 * Says "ready" once `/readyz` does: Temporal answers, a worker runs the pool, and the registry file is applied. Before
 * that a plan needing a type from AGENT_REGISTRY_FILE could be refused.
 */
async function announceReady(port: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (!stopped() && Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) {
        console.log(`ready: plans can be submitted to http://localhost:${port}/v1/plans`);
        return;
      }
      last = ((await res.json()) as { error?: { message?: string } }).error?.message ?? `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!stopped()) console.log(`not ready after 120 s: ${last}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
