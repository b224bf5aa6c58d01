/** What a run ran on: code version, machine, Node, Temporal CLI and SDK, and each dev server's settings. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem, type as osType } from 'node:os';
import { join, resolve } from 'node:path';
import { describeDynamicConfig, LATENCY_TUNING, type DynamicConfigValue } from '../dev-server';
import type { Variant } from './options';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureTemporalCli } = require('../temporal-cli.cjs') as { ensureTemporalCli: () => string };

export const ROOT = resolve(__dirname, '../..');
export const CORES = cpus().length;

export interface Env {
  date: string;
  code: string;
  machine: string;
  os: string;
  node: string;
  temporalCli: string;
  sdk: string;
}

export function environment(): Env {
  const cpu = cpus();
  let temporalCli: string;
  try {
    temporalCli = execFileSync(ensureTemporalCli(), ['--version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    temporalCli = `unknown (${(err as Error).message})`;
  }
  const sdkPkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/@temporalio/worker/package.json'), 'utf8')) as {
    version: string;
  };
  let code = 'unknown';
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    code = `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src').length > 0 ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    code,
    machine: `${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    os: `${osType()} ${release()} (${process.platform}/${process.arch})`,
    node: process.version,
    temporalCli,
    sdk: sdkPkg.version,
  };
}

/** The dynamic config each variant's dev server starts with. */
export function dynamicConfigOf(variant: Variant): Readonly<Record<string, DynamicConfigValue>> {
  return variant === 'tuned' ? LATENCY_TUNING : {};
}

export function serverDescription(variant: Variant): string {
  const base = 'temporal CLI dev server (SQLite in-memory, 1 history shard)';
  return variant === 'tuned'
    ? `${base} with LATENCY_TUNING, as \`npm start\` runs it: ${describeDynamicConfig(LATENCY_TUNING)}`
    : `${base}, the CLI's stock dynamic config`;
}
