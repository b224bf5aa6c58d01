import { CancellationScope } from '@temporalio/workflow';
import type { PoolMessage } from '../shared/pool';
import { toPool } from './pool-client';

/**
 * Messages from one workflow to the pool. `send` does not wait (a lease hands back instances as a side effect of a
 * scheduling pass); `flush` waits until every one sent has reached the pool, which a workflow must do before it closes,
 * or a release could be lost with it. Sends survive cancellation of the scope that made them.
 */
export class PoolOutbox {
  private pending: Promise<void>[] = [];

  constructor(private readonly poolId: string) {}

  send(message: PoolMessage): void {
    this.pending.push(this.sendNow(message).catch(() => undefined));
  }

  sendNow(message: PoolMessage): Promise<void> {
    return CancellationScope.nonCancellable(() => toPool(this.poolId, message));
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await Promise.all(batch);
    }
  }
}
