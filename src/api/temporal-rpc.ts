import type { Client } from '@temporalio/client';

/** A Temporal call bounded by a deadline (default TEMPORAL_RPC_TIMEOUT_MS). */
export type Rpc = <T>(fn: () => Promise<T>, ms?: number) => Promise<T>;

/**
 * Bounds every Temporal call the API makes, so an outage answers 503 quickly (errors.ts) instead of hanging the
 * request. The one place the API's services get their deadline from.
 */
export function temporalRpc(client: Client, defaultMs: number): Rpc {
  return (fn, ms = defaultMs) => client.connection.withDeadline(Date.now() + ms, fn);
}

/** Whether Temporal answers at all (GET /readyz), within 2 s. */
export async function temporalAnswers(client: Client): Promise<boolean> {
  try {
    await temporalRpc(client, 2_000)(() => client.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
