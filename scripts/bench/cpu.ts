/** CPU accounting: who is busy, the node process (worker + API + bench client) or the Temporal server process. */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { CORES } from './environment';

/** User + system CPU time of a process, ms, from /proc (Linux); undefined elsewhere or once it has exited. */
export function procCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return undefined;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100 per second on Linux)
  return Number.isFinite(ticks) ? ticks * 10 : undefined;
}

export interface CpuSample {
  at: number;
  node: number;
  server?: number;
}

export interface Cpu {
  wallMs: number;
  nodeMs: number;
  serverMs?: number;
}

/** Now, for this process and the server process `serverPid`. */
export function cpuSample(serverPid: number | undefined): CpuSample {
  const u = process.cpuUsage();
  return { at: performance.now(), node: (u.user + u.system) / 1_000, server: procCpuMs(serverPid) };
}

export function cpuSince(from: CpuSample, serverPid: number | undefined): Cpu {
  const to = cpuSample(serverPid);
  return {
    wallMs: to.at - from.at,
    nodeMs: to.node - from.node,
    serverMs: to.server !== undefined && from.server !== undefined ? to.server - from.server : undefined,
  };
}

export function cpuText(c: Cpu | undefined): string {
  if (!c) return '–';
  const cores = (ms: number) => (ms / c.wallMs).toFixed(2);
  const srv = c.serverMs !== undefined ? ` + Temporal server ${cores(c.serverMs)}` : '';
  return `node (worker + API + client) ${cores(c.nodeMs)}${srv} of ${CORES} cores busy`;
}

/** CPU milliseconds (node + server) spent per task. */
export const cpuPerTask = (c: Cpu | undefined, tasks: number): number =>
  c && tasks > 0 ? (c.nodeMs + (c.serverMs ?? 0)) / tasks : NaN;

/** Cores busy on average (node + server). */
export const busyCores = (c: Cpu | undefined): number => (c ? (c.nodeMs + (c.serverMs ?? 0)) / c.wallMs : NaN);
