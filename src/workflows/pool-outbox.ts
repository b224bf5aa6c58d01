import { CancellationScope, proxyLocalActivities } from '@temporalio/workflow';
import type { PoolActivities } from '../activities/pool';
import type { AcquireRequest, Grant, PoolMessage } from '../shared/pool';

// Local activities: a marker each in the caller's history and no workflow task of their own, where a signal sent from
// workflow code costs two events and a workflow task to learn it was delivered. They retry until the pool hears them:
// a lost acquire or release would strand a task or leak an instance.
const pool = proxyLocalActivities<PoolActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
  summary: 'agent pool',
});

/**
 * What one workflow tells the agent pool. Asking for agents is an Update (the reply carries what the pool can grant at
 * once, so there is no signal out and signal back); the rest are signals. `send` does not wait; `flush` waits until
 * everything sent has reached the pool, which a workflow must do before it closes, or a release could be lost with it.
 * Sends survive cancellation of the scope that made them.
 */
export class PoolOutbox {
  private pending: Promise<void>[] = [];

  /** @param onGrants where grants in an Update's reply go (later grants arrive as a signal to the same place). */
  constructor(
    private readonly poolId: string,
    private readonly onGrants: (grants: Grant[]) => void,
  ) {}

  send(message: PoolMessage): void {
    this.pending.push(this.sendNow(message).catch(() => undefined));
  }

  sendNow(message: PoolMessage): Promise<void> {
    if (message.kind === 'acquire') return this.acquire(message.request);
    return CancellationScope.nonCancellable(() => pool.signalPool(this.poolId, message));
  }

  private async acquire(request: AcquireRequest): Promise<void> {
    const grants = await CancellationScope.nonCancellable(() => pool.leaseAgents(this.poolId, request));
    if (grants.length > 0) this.onGrants(grants);
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await Promise.all(batch);
    }
  }
}
