import { z } from 'zod';
import { TENANT_NAME } from './tenant';

/**
 * Settings the workflows run with, each with its limits and default in one place. src/config.ts reads them from the
 * environment (docs/configuration.md names the variables) through these schemas.
 */

/** A whole-number setting: its default, then its limits. The one helper for every numeric default (src/config.ts too). */
export const int = (def: number, min: number, max: number) => z.number().int().min(min).max(max).default(def);

/** Execution settings stamped into a plan at submission, so a running plan keeps the settings it started with. */
export const ExecutionSettings = z.object({
  agentTimeoutSeconds: int(300, 1, 86_400),
  heartbeatTimeoutSeconds: int(30, 1, 3_600),
  maxRetries: int(3, 0, 100),
  retryInitialIntervalMs: int(1_000, 1, 3_600_000),
  retryMaxIntervalMs: int(30_000, 1, 3_600_000),
  /** How deep sub-agents may nest (a top-level task is depth 0). */
  maxDepth: int(5, 1, 50),
  /** How many subtasks one coordinator may spawn. */
  maxFanOut: int(100, 1, 1_000),
  /** The plan workflow continues-as-new (after its running tasks finish) past this many history events. */
  planHistoryLimit: int(8_000, 100, 40_000),
  /** Workflow id of the agent pool that serves this plan. */
  poolId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/)
    .default('agent-pool'),
  /**
   * A top-level task whose steps are short (an offline agent, no sub-agents, no human in the loop, no budget) runs inline
   * in its plan's workflow, one local activity, instead of in a task workflow of its own (src/workflows/inline-task.ts).
   * The API stamps INLINE_SHORT_TASKS (default on); plans started before this setting existed replay without it.
   */
  inlineShortTasks: z.boolean().default(false),
  /**
   * The tenant that submitted the plan (src/shared/tenant.ts), stamped by the API: its tasks' fairness key, whose
   * outputs their references may read and whose memory their agents recall. Absent in plans started before tenants.
   */
  tenant: z.string().regex(TENANT_NAME).optional(),
});
export type ExecutionSettings = z.output<typeof ExecutionSettings>;

export const DEFAULT_SETTINGS: ExecutionSettings = ExecutionSettings.parse({});

/** What the agent pool is started (or reconfigured) with. */
export const PoolSettings = z.object({
  // One pool workflow carries every instance (with its memory) across continue-as-new: 10,000 fits under 2 MB.
  maxAgents: int(100, 1, 10_000),
  /** An instance failing this many tasks in a row is quarantined (terminated). */
  quarantineAfter: int(3, 1, 100),
  /** How often busy instances are checked for a dead holder. */
  sweepIntervalSeconds: int(30, 1, 3_600),
  /** Continue-as-new after this many history events. */
  historyLimit: int(8_000, 100, 50_000),
  /**
   * Tenants' queued requests are served in turn, fewest instances held first (FAIR_SHARE); off: by priority, then
   * arrival, whoever asked. Pools started before this setting run with it on (one tenant then: the same order).
   */
  fairShare: z.boolean().optional(),
});
export type PoolSettings = z.output<typeof PoolSettings>;
