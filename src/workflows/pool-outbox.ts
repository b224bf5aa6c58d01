import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { PoolActivities } from '../activities/pool';
import type { PoolRequest } from '../shared/pool';

// A local activity (signal-with-start from the worker): a marker in the caller's history and no workflow task of its
// own, where a signal sent from workflow code costs two events and a workflow task to learn it was delivered. It only
// talks to the server, never waits for a workflow task, so it cannot hold the caller's workflow task for long. Retried
// until the pool hears it: a lost acquire or release would strand a task or leak an instance.
const { signalPool } = proxyLocalActivities<PoolActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
  summary: 'agent pool',
});

/**
 * What one workflow tells the agent pool: acquire requests, releases, cancellations, all signals (grants come back as
 * a signal, every grant of one pool workflow task for one holder in one). Asking by Update instead was measured and
 * rejected: its reply saves a hop for one plan, but the pool then spends a workflow task per request where signals
 * arriving together share one (docs/architecture.md). `send` does not wait; `flush` waits until everything sent has
 * reached the pool, which a workflow must do before it closes, or a release could be lost with it. Sends survive
 * cancellation of the scope that made them.
 */
export class PoolOutbox {
  private pending: Promise<void>[] = [];

  constructor(private readonly poolId: string) {}

  send(message: PoolRequest): void {
    this.pending.push(this.sendNow(message).catch(() => undefined));
  }

  sendNow(message: PoolRequest): Promise<void> {
    return CancellationScope.nonCancellable(() => signalPool(this.poolId, message));
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await Promise.all(batch);
    }
  }
}
