import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../src/shared/search-attributes';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('./temporal-cli.cjs') as { ensureTemporalCli: () => string };

/** A free TCP port on 127.0.0.1 (the scripts and tests call it freePort). */
export { freeLoopbackPort as freePort } from '../src/temporal/loopback';

export interface DevServerOptions {
  port: number;
  /** Web UI port; omit for a headless server. */
  uiPort?: number;
  /** SQLite file for a persistent server; omit for in-memory. */
  dbFile?: string;
  namespace?: string;
  /**
   * Extra dynamic config values, passed as `--dynamic-config-value key=<JSON value>` (e.g. {@link LATENCY_TUNING}).
   * They apply to this server process only; nothing is stored in the database file.
   */
  dynamicConfig?: Readonly<Record<string, DynamicConfigValue>>;
  /**
   * Task queue fairness (`matching.enableFairness`): tasks with a fairness key (a plan's tenant, FAIR_SHARE) are
   * dispatched in turn per key. On unless false (the benchmarks measure both).
   */
  fairness?: boolean;
  log?: (line: string) => void;
}

export type DynamicConfigValue = string | number | boolean;

/**
 * Dynamic config that `npm start` runs the dev server with (and the `tuned` server of `npm run bench`).
 *
 * - `history.transferProcessorMaxPollRPS` (20 by default): the dev server has a single history shard, and its transfer
 *   queue (the hand-off of every new workflow task, activity task, child start and signal to matching) is read at most
 *   this many times a second, so each hop waits ~50 ms for the next read. 1,000 removes that wait.
 */
export const LATENCY_TUNING: Readonly<Record<string, DynamicConfigValue>> = Object.freeze({
  'history.transferProcessorMaxPollRPS': 1000,
});

/** `key=value` for the log and the benchmark report. */
export const describeDynamicConfig = (values: Readonly<Record<string, DynamicConfigValue>>): string =>
  Object.entries(values)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` with the project's search attributes and resolves once it answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = ensureTemporalCli();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=WAL');
  }
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  // Let the Web UI and visibility see new search attribute values without waiting for a cache refresh.
  args.push('--dynamic-config-value', 'system.forceSearchAttributesCacheRefreshOnRead=true');
  if (opts.fairness !== false) args.push('--dynamic-config-value', 'matching.enableFairness=true');
  // The CLI parses each value as JSON (so strings are quoted).
  for (const [key, value] of Object.entries(opts.dynamicConfig ?? {}))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = opts.log ?? (() => undefined);
  child.stdout?.on('data', (d: Buffer) => log(d.toString()));
  child.stderr?.on('data', (d: Buffer) => log(d.toString()));
  const address = `127.0.0.1:${opts.port}`;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    const code = await Promise.race([exited, new Promise<'wait'>((r) => setTimeout(() => r('wait'), 250))]);
    if (code !== 'wait')
      throw new Error(`temporal dev server exited with code ${code} before it was ready (${cli} ${args.join(' ')})`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await conn.withDeadline(Date.now() + 2_000, () => conn.workflowService.getSystemInfo({}));
        break;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal dev server did not answer on ${address} within 60 s: ${(err as Error).message}`);
      }
    }
  }
  return {
    address,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
