import { z } from 'zod';

/**
 * Settings the workflows run with, each with its limits and default in one place. src/config.ts reads them from the
 * environment (docs/configuration.md names the variables) through these schemas.
 */

const int = (min: number, max: number, def: number) => z.number().int().min(min).max(max).default(def);

/** Execution settings stamped into a plan at submission, so a running plan keeps the settings it started with. */
export const ExecutionSettings = z.object({
  agentTimeoutSeconds: int(1, 86_400, 300),
  heartbeatTimeoutSeconds: int(1, 3_600, 30),
  maxRetries: int(0, 100, 3),
  retryInitialIntervalMs: int(1, 3_600_000, 1_000),
  retryMaxIntervalMs: int(1, 3_600_000, 30_000),
  /** How deep sub-agents may nest (a top-level task is depth 0). */
  maxDepth: int(1, 50, 5),
  /** How many subtasks one coordinator may spawn. */
  maxFanOut: int(1, 1_000, 100),
  /** The plan workflow continues-as-new (after its running tasks finish) past this many history events. */
  planHistoryLimit: int(100, 40_000, 8_000),
  /** Workflow id of the agent pool that serves this plan. */
  poolId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/)
    .default('agent-pool'),
});
export type ExecutionSettings = z.output<typeof ExecutionSettings>;

export const DEFAULT_SETTINGS: ExecutionSettings = ExecutionSettings.parse({});

/** What the agent pool is started (or reconfigured) with. */
export const PoolSettings = z.object({
  // One pool workflow carries every instance (with its memory) across continue-as-new: 10,000 fits under 2 MB.
  maxAgents: int(1, 10_000, 100),
  /** An instance failing this many tasks in a row is quarantined (terminated). */
  quarantineAfter: int(1, 100, 3),
  /** How often busy instances are checked for a dead holder. */
  sweepIntervalSeconds: int(1, 3_600, 30),
  /** Continue-as-new after this many history events. */
  historyLimit: int(100, 50_000, 8_000),
});
export type PoolSettings = z.output<typeof PoolSettings>;
