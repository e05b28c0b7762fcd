import type { HostTensor } from '../graph/model.ts';
import type { BatchTask } from './batch-task.ts';
import type { Servable } from './servable.ts';

/**
 * The batcher's queues (batcher.ts has the lifecycle): per servable, one queue per merge key, each an open batch
 * that is still filling and closed batches waiting for a batch thread. Pure bookkeeping: no timers, no model
 * calls; the batcher decides when to take the next batch.
 */

export type Item = {
  readonly task: BatchTask;
  /** The task's rows when it can merge, else 0. */
  readonly rows: number;
  readonly enqueuedMs: number;
  resolve(outputs: Record<string, HostTensor>): void;
  reject(err: unknown): void;
};

export type Batch = { readonly items: Item[]; rows: number; readonly openedMs: number };

export type Queue = {
  readonly key: string;
  readonly servable: Servable;
  readonly signatureName: string;
  open?: Batch;
  readonly closed: Batch[];
};

export class BatchQueues {
  readonly #queues = new Map<Servable, Map<string, Queue>>();
  readonly #maxBatchSize: number;
  readonly #maxEnqueuedBatches: number;

  constructor(limits: { readonly maxBatchSize: number; readonly maxEnqueuedBatches: number }) {
    this.#maxBatchSize = limits.maxBatchSize;
    this.#maxEnqueuedBatches = limits.maxEnqueuedBatches;
  }

  /** Batches waiting (open or closed) over all queues. */
  get waiting(): number {
    let n = 0;
    for (const byKey of this.#queues.values()) {
      for (const q of byKey.values()) n += q.closed.length + (q.open ? 1 : 0);
    }
    return n;
  }

  queue(servable: Servable, signatureName: string, key: string): Queue {
    let byKey = this.#queues.get(servable);
    if (!byKey) this.#queues.set(servable, (byKey = new Map()));
    let q = byKey.get(key);
    if (!q) byKey.set(key, (q = { key, servable, signatureName, closed: [] }));
    return q;
  }

  /** Adds `item` to `q`'s open batch or a new one; false when the queue already holds maxEnqueuedBatches. */
  enqueue(q: Queue, item: Item, alone: boolean): boolean {
    const max = this.#maxBatchSize;
    if (!alone && q.open && q.open.rows + item.rows <= max) {
      q.open.items.push(item);
      q.open.rows += item.rows;
      if (q.open.rows >= max) this.#close(q);
      return true;
    }
    if (q.open && !alone) this.#close(q);
    if (q.closed.length + (q.open ? 1 : 0) >= this.#maxEnqueuedBatches) {
      this.#dropIfEmpty(q);
      return false;
    }
    const batch: Batch = { items: [item], rows: item.rows, openedMs: item.enqueuedMs };
    if (alone || item.rows >= max) q.closed.push(batch);
    else q.open = batch;
    return true;
  }

  /**
   * Takes the oldest batch that may run at `nowMs`: a closed one, or an open one that has waited `timeoutMs`.
   * Otherwise returns when the next open batch becomes due (Infinity: none).
   */
  take(nowMs: number, timeoutMs: number): { q: Queue; batch: Batch } | { nextDueMs: number } {
    let best: { q: Queue; batch: Batch } | undefined;
    let nextDueMs = Infinity;
    for (const byKey of this.#queues.values()) {
      for (const q of byKey.values()) {
        const head = q.closed[0];
        if (head && (!best || head.openedMs < best.batch.openedMs)) best = { q, batch: head };
        if (!head && q.open) {
          const dueMs = q.open.openedMs + timeoutMs;
          if (dueMs <= nowMs && (!best || q.open.openedMs < best.batch.openedMs)) best = { q, batch: q.open };
          else if (dueMs > nowMs) nextDueMs = Math.min(nextDueMs, dueMs);
        }
      }
    }
    if (!best) return { nextDueMs };
    const { q, batch } = best;
    if (q.open === batch) q.open = undefined;
    else q.closed.shift();
    this.#dropIfEmpty(q);
    return best;
  }

  #close(q: Queue): void {
    if (q.open) q.closed.push(q.open);
    q.open = undefined;
  }

  #dropIfEmpty(q: Queue): void {
    if (q.open || q.closed.length > 0) return;
    const byKey = this.#queues.get(q.servable);
    byKey?.delete(q.key);
    if (byKey?.size === 0) this.#queues.delete(q.servable);
  }
}
