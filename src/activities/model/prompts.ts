import { memoryEntries, recallFor } from '../../shared/agent';
import type { AgentType } from '../../shared/agent-type';
import type { ExecuteContext, StepContext } from '../types';
import { DELEGATE_TOOL } from './delegate';

/** A value as prompt text, cut at `max` characters (with how many were left out). */
export const clip = (v: unknown, max = 20_000): string => {
  const text = typeof v === 'string' ? v : JSON.stringify(v, null, 1);
  return text === undefined
    ? ''
    : text.length > max
      ? `${text.slice(0, max)}… (${text.length - max} more chars)`
      : text;
};

/** Other agents' messages, one line each. */
const messageLines = (messages: StepContext['inbox']): string =>
  messages.map((m) => `- from ${m.from}: ${clip(m.body, 2_000)}`).join('\n');

/** Who the agent is, where it works, and what it remembers from earlier tasks. */
export function systemPrompt(type: AgentType, ctx: StepContext): string {
  const parts = [
    type.runtime.systemPrompt ??
      `You are ${ctx.agentId}, a ${type.name} agent (${type.description || type.capabilities.join(', ')}).`,
    `You work on task "${ctx.taskId}" of plan "${ctx.planId}" as one agent of a multi-agent system.`,
  ];
  const memory = recallFor(memoryEntries(ctx.memory), ctx.tenant);
  if (memory.length > 0) {
    parts.push(`What you remember from earlier tasks:\n${memory.map((m) => `- ${m.note}`).join('\n')}`);
  }
  return parts.join('\n\n');
}

/** The task: its description and input, its dependencies' and sub-agents' results, a human's answer, the inbox. */
function taskPrompt(ctx: ExecuteContext | StepContext): string {
  const lines = [`Task: ${ctx.description ?? ctx.taskId}`];
  if (ctx.input && Object.keys(ctx.input).length > 0) lines.push(`Input:\n${clip(ctx.input)}`);
  for (const [id, out] of Object.entries(ctx.dependencies)) lines.push(`Result of task "${id}":\n${clip(out)}`);
  const exec = ctx as Partial<ExecuteContext>;
  for (const [id, out] of Object.entries(exec.subtaskOutputs ?? {}))
    lines.push(`Result of sub-agent "${id}":\n${clip(out)}`);
  for (const [id, err] of Object.entries(exec.subtaskErrors ?? {}))
    lines.push(`Sub-agent "${id}" failed: ${clip(err, 2_000)}`);
  if (exec.humanInput !== undefined) lines.push(`A human answered:\n${clip(exec.humanInput)}`);
  if (ctx.inbox.length > 0) lines.push(`Messages from other agents:\n${messageLines(ctx.inbox)}`);
  return lines.join('\n\n');
}

/**
 * The reasoning step's prompt: the task, then how the agent will approach it; `capabilities` (a coordinator that may
 * delegate) offers the delegation tool and the capabilities its subtasks may ask for.
 */
export function reasonPrompt(ctx: StepContext, capabilities?: string[], required = false): string {
  const subtask = `each subtask: an id, a description, the capabilities it needs from: ${capabilities?.join(', ')}; dependsOn names sibling ids; it may carry acceptance (in words) and output {schema}`;
  const ask = !capabilities
    ? 'Before you start: in a few sentences, how will you approach this task?'
    : required
      ? `Do not do the task yourself: split it among other agents by calling ${DELEGATE_TOOL} (${subtask}).`
      : `Before you start: if the task is best split among other agents, call ${DELEGATE_TOOL} (${subtask}). Otherwise say in a few sentences how you will approach it.`;
  const refused = ctx.delegationFeedback
    ? `\n\nYour last delegation was refused:\n${ctx.delegationFeedback.map((r) => `- ${clip(r, 1_000)}`).join('\n')}\nCall ${DELEGATE_TOOL} again with subtasks that fix this.`
    : '';
  return `${taskPrompt(ctx)}\n\n${ask}${refused}`;
}

/** What the answer must be: the acceptance criteria and the output contract's schema. */
function contractPrompt(ctx: StepContext): string {
  const lines: string[] = [];
  if (ctx.acceptance) lines.push(`Acceptance criteria: ${ctx.acceptance}`);
  if (ctx.contract)
    lines.push(
      `Answer with the JSON value itself (not its schema), and nothing else. It must meet this JSON Schema:\n${clip(ctx.contract.schema, 8_000)}`,
    );
  return lines.length > 0 ? `\n\n${lines.join('\n\n')}` : '';
}

/** The first message of the agent loop: the task and the plan its reasoning made. */
export const executePrompt = (ctx: ExecuteContext): string =>
  `${taskPrompt(ctx)}\n\nYour plan: ${ctx.reasoning}${contractPrompt(ctx)}`;

/** After a rejected answer: why it was rejected, for the agent to answer again. */
export const revisionPrompt = (ctx: ExecuteContext, reasons: string[]): string =>
  `Your answer was rejected:\n${reasons.map((r) => `- ${clip(r, 2_000)}`).join('\n')}\n\nAnswer the task again, fixing these.${contractPrompt(ctx)}`;

/** What a reviewer is asked: the task, what acceptable means, and the answer to judge. */
export function reviewPrompt(ctx: StepContext & { output: unknown }): string {
  return `${taskPrompt(ctx)}${contractPrompt(ctx)}\n\nAnother agent answered:\n${clip(ctx.output)}\n\nYou are its reviewer. Does the answer do the task${ctx.acceptance ? ' and meet the acceptance criteria' : ''}? Answer with JSON: {"accepted": true or false, "reasons": [what is wrong, each a sentence; empty when accepted]}.`;
}

/** Messages that reached the agent while it worked, as they join the conversation at its next turn. */
export const newMessagesPrompt = (messages: StepContext['inbox']): string =>
  `New messages from other agents:\n${messageLines(messages)}`;
