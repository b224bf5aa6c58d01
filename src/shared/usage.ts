/** Tokens and cost of model calls, as the provider reported them. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  costUsd: number;
  modelCalls: number;
}

export const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, costUsd: 0, modelCalls: 0 };

/** Rounded to a millionth of a dollar, so sums of many small floats stay readable. */
export const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage {
  const x = a ?? ZERO_USAGE;
  const y = b ?? ZERO_USAGE;
  return {
    inputTokens: x.inputTokens + y.inputTokens,
    outputTokens: x.outputTokens + y.outputTokens,
    totalTokens: x.totalTokens + y.totalTokens,
    costUsd: roundUsd(x.costUsd + y.costUsd),
    modelCalls: x.modelCalls + y.modelCalls,
  };
}

/** A plan's spending limits (from the plan's `budget`). */
export interface Budget {
  maxTokens?: number;
  maxCostUsd?: number;
}

/** The reason a plan that ran out of budget ends `partial` with. */
export const BUDGET_EXHAUSTED = 'budget_exhausted';

export function overBudget(usage: Usage, budget: Budget | undefined): boolean {
  if (!budget) return false;
  return (
    (budget.maxTokens !== undefined && usage.totalTokens >= budget.maxTokens) ||
    (budget.maxCostUsd !== undefined && usage.costUsd >= budget.maxCostUsd)
  );
}

/** Plan-level accounting: the total, and by agent type and by task (nested subtasks included, by their own id). */
export interface UsageReport {
  total: Usage;
  byAgentType: Record<string, Usage>;
  byTask: Record<string, Usage>;
  /** A rerun's reused tasks (at every depth): they made no model call in this plan and cost it nothing. */
  reused?: string[];
}
