import { z } from 'zod';

/**
 * Directives the offline runtime reads from `task.input.simulate` (docs/agents.md, "Offline runtime"); checked at
 * submission, so a typo is a 400, not a failed task. Accepted only where ALLOW_SIMULATE is on, and capped so one plan
 * cannot hold a worker's slots for hours or fill the blob store (docs/security.md, "Limits").
 */
export const SIMULATE_LIMITS = { latencyMs: 600_000, outputBytes: 8_388_608, sends: 100 } as const;

export const Simulate = z
  .object({
    latencyMs: z.number().int().min(0).max(SIMULATE_LIMITS.latencyMs).optional(),
    failAttempts: z.number().int().min(0).optional(),
    failOnAgents: z.number().int().min(0).optional(),
    alwaysFail: z.boolean().optional(),
    nonRetryable: z.boolean().optional(),
    hang: z.boolean().optional(),
    output: z.unknown().optional(),
    /** The output is a string of this many bytes (claim-check demos and tests). */
    outputBytes: z.number().int().min(0).max(SIMULATE_LIMITS.outputBytes).optional(),
    subtasks: z.array(z.record(z.string(), z.unknown())).optional(),
    /** The output of each round: the first answer, then each revision's (past the end: `output`, or the default). */
    outputs: z.array(z.unknown()).min(1).max(20).optional(),
    /** An offline reviewer's verdict on each round (past the end: accepted). */
    verdicts: z
      .array(z.object({ accepted: z.boolean(), reasons: z.array(z.string()).max(20).default([]) }).strict())
      .max(20)
      .optional(),
    send: z
      .array(z.object({ to: z.string().min(1), body: z.unknown(), id: z.string().min(1).optional() }))
      .max(SIMULATE_LIMITS.sends)
      .optional(),
  })
  .strict();
export type Simulate = z.infer<typeof Simulate>;
