import type * as AgentTypes from '../shared/agent-type';
import type * as Settings from '../shared/settings';
import type * as Tasks from '../shared/task';

/*
 * What workflow code needs from the zod schemas (src/shared/agent-type.ts, settings.ts, task.ts), loaded on first use.
 * Each workflow start re-evaluates every module its code reaches (the reusable VM gives each execution its own module
 * cache), and loading zod and building its schemas costs milliseconds: at a child workflow per task that was most of
 * the worker's CPU. So workflow code imports only types from those modules (eslint.config.mjs enforces it) and reaches
 * them here, where an input lacks what they give: an agent-type update for the pool to check, a plan started without
 * (some) settings, a compact plan from before compact plans carried their task defaults.
 */

/* eslint-disable @typescript-eslint/no-require-imports */
export const agentTypes = (): typeof AgentTypes => require('../shared/agent-type') as typeof AgentTypes;
export const defaultSettings = (): Settings.ExecutionSettings =>
  (require('../shared/settings') as typeof Settings).DEFAULT_SETTINGS;
export const taskDefaults = (): typeof Tasks.TASK_DEFAULTS => (require('../shared/task') as typeof Tasks).TASK_DEFAULTS;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Every field of the execution settings, whether it has a default (`true`) or is optional (`false`, absent when not
 * set); the compiler holds this to exactly the schema's fields.
 */
const SETTING_FIELDS: Record<keyof Settings.ExecutionSettings, boolean> = {
  agentTimeoutSeconds: true,
  heartbeatTimeoutSeconds: true,
  maxRetries: true,
  retryInitialIntervalMs: true,
  retryMaxIntervalMs: true,
  maxDepth: true,
  maxFanOut: true,
  planHistoryLimit: true,
  poolId: true,
  inlineShortTasks: true,
  tenant: false,
};

/**
 * A plan's settings: as given when complete (what the API stamps, zod not loaded); otherwise (a plan started by hand,
 * or by an API from before a setting existed) the defaults with what was given over them.
 */
export function settingsOf(given: Partial<Settings.ExecutionSettings> | undefined): Settings.ExecutionSettings {
  if (given && Object.entries(SETTING_FIELDS).every(([k, defaulted]) => !defaulted || k in given))
    return given as Settings.ExecutionSettings;
  return { ...defaultSettings(), ...given };
}
