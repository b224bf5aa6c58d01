import type { Rpc } from '../temporal-rpc';
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { taskWorkflowId } from '../../shared/ids';
import { isStreamedText, type StreamedText } from '../../shared/model-stream';

/**
 * The text a running model call has generated so far, as its activity last heartbeated it (docs/events.md): read from
 * the task workflow's pending activity with describe (answered by the server, no worker, no history), decoded with the
 * client's data converter (so encrypted details are decrypted).
 */
export async function streamedText(
  client: Client,
  planId: string,
  taskId: string,
  rpc: Rpc,
): Promise<StreamedText | undefined> {
  const desc = await rpc(() => client.workflow.getHandle(taskWorkflowId(planId, taskId)).describe());
  for (const pending of desc.raw.pendingActivities ?? []) {
    const payloads = pending.heartbeatDetails?.payloads;
    if (!payloads?.length) continue;
    const [details] = await decodeArrayFromPayloads(client.options.loadedDataConverter, payloads);
    if (isStreamedText(details)) return details;
  }
  return undefined;
}
