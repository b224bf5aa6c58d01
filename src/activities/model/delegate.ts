import { tool } from 'ai';
import { z } from 'zod';
import { TaskInput } from '../../shared/task';

/** The tool a coordinator (runtime.delegate) splits its task among sub-agents with. */
export const DELEGATE_TOOL = 'delegate_subtasks';

/**
 * A subtask as the model proposes it: the plan's own task fields it may set (docs/plans.md), with a description it
 * must give. Loose: other fields it adds reach the activity, which checks the subtasks like any plan's tasks.
 */
const Subtask = TaskInput.pick({
  id: true,
  description: true,
  capabilities: true,
  dependsOn: true,
  acceptance: true,
  output: true,
})
  .required({ description: true })
  .extend({ id: TaskInput.shape.id.describe('letters, digits, "-" or "_"') })
  .loose();

export const delegateTool = tool({
  description: 'Split the task into subtasks, each done by a sub-agent; you then combine their results.',
  inputSchema: z.object({ subtasks: z.array(Subtask).min(1) }),
});
