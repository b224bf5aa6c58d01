import { createHash } from 'node:crypto';
import type { Message, Part } from '@a2a-js/sdk';
import { RequestMalformedError } from '@a2a-js/sdk/errors';
import type { HumanInput } from '../../shared/task';

/*
 * What an A2A message asks of the orchestrator (docs/a2a.md): a new plan (a whole plan carried as a data part, or one
 * task for the skill the message names), or the answer to a task waiting for a human. Pure: no I/O.
 */

const textsOf = (parts: Part[]): string[] =>
  parts.flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : []));
const dataOf = (parts: Part[]): unknown[] =>
  parts.flatMap((p) => (p.content?.$case === 'data' ? [p.content.value as unknown] : []));

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A plan carried whole: a data part with a `tasks` list. */
function planPart(parts: Part[]): Record<string, unknown> | undefined {
  return dataOf(parts).find((d): d is Record<string, unknown> => isObject(d) && Array.isArray(d.tasks));
}

/**
 * The plan id a new message starts: derived from who sent it and its messageId, so a client resending the same
 * message (a retry after a lost answer) names the same plan instead of starting another.
 */
export function planIdOf(messageId: string, submitter: string | undefined): string {
  const digest = createHash('sha256')
    .update(`${submitter ?? ''}\u0000${messageId}`)
    .digest('hex');
  return `a2a-${digest.slice(0, 32)}`;
}

/**
 * The plan a new message asks for, as POST /v1/plans takes it: the plan in its data part (its own id, or one from the
 * message), else one task needing the capability `metadata.skill` names (the only skill when there is just one), with
 * the text parts as its description, a data object as its input, and `metadata.task` merged in (e.g. `awaitInput`).
 */
export function planOf(message: Message, skills: readonly string[], planId: string): Record<string, unknown> {
  const whole = planPart(message.parts);
  if (whole) return { ...whole, id: whole.id ?? planId };
  const metadata = message.metadata ?? {};
  const named = typeof metadata.skill === 'string' ? metadata.skill : skills.length === 1 ? skills[0] : undefined;
  if (!named)
    throw new RequestMalformedError(
      `name a skill in the message's metadata.skill (one of: ${skills.join(', ')}), or send a plan as a data part`,
    );
  if (!skills.includes(named)) throw new RequestMalformedError(`no skill "${named}" (skills: ${skills.join(', ')})`);
  const text = textsOf(message.parts).join('\n');
  const data = dataOf(message.parts)[0];
  const extra = isObject(metadata.task) ? metadata.task : {};
  return {
    id: planId,
    name: `a2a: ${named}`,
    tasks: [
      {
        id: 'task',
        capabilities: [named],
        ...(text ? { description: text } : {}),
        ...(data !== undefined ? { input: isObject(data) ? data : { data } } : {}),
        ...extra,
      },
    ],
  };
}

/**
 * A message answering a task that waits for a human: approved unless `metadata.approved` is false; the data is the
 * first data part, else the text. `metadata.taskId` picks the task when several wait.
 */
export function answerOf(message: Message): { taskId?: string; input: HumanInput } {
  const metadata = message.metadata ?? {};
  const data = dataOf(message.parts)[0];
  const text = textsOf(message.parts).join('\n');
  const value = data !== undefined ? data : text || undefined;
  return {
    ...(typeof metadata.taskId === 'string' ? { taskId: metadata.taskId } : {}),
    input: { approved: metadata.approved !== false, ...(value !== undefined ? { data: value } : {}) },
  };
}

/** A message for a running plan that does not wait for anyone: it goes on the plan's bus to every running agent. */
export function busMessageOf(message: Message): { id: string; from: string; to: string; body: unknown } {
  const data = dataOf(message.parts)[0];
  const text = textsOf(message.parts).join('\n');
  return { id: message.messageId, from: 'a2a', to: '*', body: data !== undefined ? data : text };
}
