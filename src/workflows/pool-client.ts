import { getExternalWorkflowHandle, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { PoolActivities } from '../activities/pool';
import type { PoolMessage } from '../shared/pool';
import { poolSignalOf } from './messages';

// Pool messages retry until the pool hears them: a lost acquire or release would strand a task or leak an instance.
const pool = proxyActivities<PoolActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
  summary: 'agent pool',
});

/**
 * Tells the pool something from workflow code: a signal (one command, no activity); only if the pool is not running
 * yet, the signal-with-start activity starts it. The pool de-duplicates by request id, so a repeat is harmless.
 */
export async function toPool(poolId: string, message: PoolMessage): Promise<void> {
  try {
    const [signal, arg] = poolSignalOf(message);
    await getExternalWorkflowHandle(poolId).signal(signal, arg);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await pool.signalPool(poolId, message);
  }
}
