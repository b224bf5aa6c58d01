/**
 * Mail between agents: what one agent (or someone outside, through the API) sends another task, agent or the whole
 * plan, and how its delivery went. The plan routes it (src/workflows/mail-router.ts); "message" elsewhere means a
 * Temporal signal, query or update.
 */

/** One piece of mail on the plan's bus. */
export interface AgentMail {
  /** De-duplication key: a second piece with the same id is ignored. */
  id: string;
  from: string;
  /** A task id, an agent id, or "*" for every running agent of the plan. */
  to: string;
  body: unknown;
  sentAt: string;
}

export type DeliveryState = 'delivered' | 'pending' | 'undeliverable';

/** The plan's log of its mail: each piece with how delivery went. */
export interface MailLogEntry extends AgentMail {
  state: DeliveryState;
  /** Per recipient task (a broadcast has several). */
  deliveries: { taskId: string; state: DeliveryState; at?: string }[];
  reason?: string;
}
