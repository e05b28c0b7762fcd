import type { BatchingConfig } from '../config/serving-config.ts';
import { CtrError, isCtrError, refusal } from '../errors/registry.ts';
import { RUN_MS, type HostTensor } from '../graph/model.ts';
import type { Servable } from './servable.ts';
import { AdmissionByModel } from './admission.ts';
import { BatchQueues, type Batch, type Item, type Queue } from './batch-queues.ts';
import { rowTask, type BatchTask } from './batch-task.ts';
import { noopServingMetrics, type ServingMetrics } from './serving-metrics.ts';

/**
 * The batcher of TF Serving: concurrent tasks (batch-task.ts) on the same servable with the same merge key are
 * merged into one model call by the task's own merge, and the outputs split back by its split.
 *
 * Lifecycle: a request joins its queue's open batch, or opens a new one. A batch closes when it holds
 * `maxBatchSize` rows; an open batch runs when a batch thread is free and it has waited `batchTimeoutMs`
 * (while every thread is busy it keeps filling: merging under load). A task larger than `maxBatchSize`, or
 * without a merge key, runs alone. A queue holding `maxEnqueuedBatches` batches refuses with CTR_ERR_QUEUE_FULL;
 * a request that waited over `predictTimeoutMs` for a thread fails with CTR_ERR_TIMEOUT. With batching
 * disabled, requests run one event-loop turn after they arrive, at most `maxEnqueuedBatches` of them in flight.
 * Before any of that, admission control (admission.ts) refuses a request with CTR_ERR_QUEUE_FULL when the rows
 * already admitted would take over `maxQueueDelayMs` to run (admissionRefusal lets callers refuse before decoding).
 * Admission is per model (AdmissionByModel): one model's backlog never refuses another model's requests.
 *
 * The caller keeps its servable acquired until `run` settles. Host arrays only: no tensors are held here.
 * If a merged call fails, each request is retried alone so one bad request cannot fail its neighbours.
 */

export type BatcherConfig = BatchingConfig & {
  readonly predictTimeoutMs: number;
  /** Admission control (admission.ts); 0 or absent: off. */
  readonly maxQueueDelayMs?: number;
  /** Model calls run on the model thread (model-thread.ts): MODEL_THREAD_DEPTH posted at once, no drain slice. */
  readonly modelThread?: boolean;
};

/**
 * Longest stretch of model calls run back to back before the event loop reads the sockets again (issue 9,
 * bench/README.md "Overload"): a request arriving mid-drain is read, and refused or queued, within about this
 * long plus the other requests of that turn, instead of after the whole admitted queue (up to maxQueueDelayMs).
 */
export const DRAIN_SLICE_MS = 10;

/**
 * Batches posted to the model thread at once per batch thread: it still has work while this loop spends a turn
 * reading and refusing (~130 refusals, ~10 ms: bench/README.md "Overload"). Admission bounds what is queued in all.
 */
const MODEL_THREAD_DEPTH = 8;

export class Batcher {
  readonly #config: BatcherConfig;
  readonly #metrics: ServingMetrics;
  readonly #queues: BatchQueues;
  #running = 0;
  #direct = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerDueMs = Infinity;
  #stopping = false;
  #soon = false;
  #sliceStartMs = 0; // when the current run of back-to-back batches began
  #idleWaiters: (() => void)[] = [];
  #lastCallEnd = { ms: 0, waiting: false }; // and whether calls were waiting then (admission's gapMs)
  readonly #admissions: AdmissionByModel;

  constructor(config: BatcherConfig, deps: { metrics?: ServingMetrics } = {}) {
    this.#config = config;
    this.#metrics = deps.metrics ?? noopServingMetrics;
    this.#queues = new BatchQueues(config);
    this.#admissions = new AdmissionByModel({
      maxQueueDelayMs: config.maxQueueDelayMs ?? 0,
      maxBatchSize: config.enabled ? config.maxBatchSize : undefined,
    });
  }

  /** Batches waiting or running, over all queues (for tests and metrics). */
  get pendingBatches(): number {
    return this.#running + this.#queues.waiting;
  }

  /** Runs TF Serving's dim-0 task (rowTask) for `inputs` on `signatureName`. */
  run(
    servable: Servable,
    signatureName: string,
    inputs: Readonly<Record<string, HostTensor>>,
  ): Promise<Record<string, HostTensor>> {
    return this.runTask(
      servable,
      rowTask(servable.model.info.signatures[signatureName], signatureName, inputs),
    );
  }

  runTask(servable: Servable, task: BatchTask): Promise<Record<string, HostTensor>> {
    if (this.#stopping) {
      this.#metrics.countShed('shutting_down');
      return Promise.reject(refusal('CTR_ERR_SHUTTING_DOWN', 'the server is shutting down'));
    }
    const cost = task.rows;
    const admission = this.#admissions.of(servable.id.name);
    if (!admission.admit(cost)) {
      this.#metrics.countShed('queue_full');
      return Promise.reject(this.#admissions.refusal(servable.id.name, true));
    }
    const done = this.#config.enabled ? this.#runQueued(servable, task) : this.#runDirect(servable, task);
    return done.finally(() => admission.finish(cost));
  }

  #runQueued(servable: Servable, task: BatchTask): Promise<Record<string, HostTensor>> {
    const key = task.mergeKey;
    return new Promise((resolve, reject) => {
      const rows = key === undefined ? 0 : task.rows;
      const item: Item = { task, rows, enqueuedMs: performance.now(), resolve, reject };
      const q = this.#queues.queue(servable, task.signatureName, key ?? `solo:${task.signatureName}`);
      if (!this.#queues.enqueue(q, item, key === undefined || rows >= this.#config.maxBatchSize)) {
        this.#metrics.countShed('queue_full');
        const { name, version } = servable.id;
        const why = `${name} version ${version}: ${this.#config.maxEnqueuedBatches} batches are already queued`;
        reject(refusal('CTR_ERR_QUEUE_FULL', `${why}; retry later`));
        return;
      }
      this.#scheduleSoon();
    });
  }

  /**
   * CTR_ERR_QUEUE_FULL (counted) when `run` would refuse any request for `model` now, else undefined: callers ask
   * before they decode a request (src/http/early-refusal.ts); returned, not thrown, so refusing pays no throw.
   */
  admissionRefusal(model: string): CtrError | undefined {
    const refused = this.#admissions.refusal(model, false);
    if (refused) this.#metrics.countShed('queue_full');
    return refused;
  }

  /** Refuses new requests (CTR_ERR_SHUTTING_DOWN) and resolves once every queued batch has run. */
  stop(): Promise<void> {
    this.#stopping = true;
    if (this.pendingBatches === 0 && this.#direct === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIfIdle(): void {
    if (this.pendingBatches > 0 || this.#direct > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #runDirect(servable: Servable, task: BatchTask): Promise<Record<string, HostTensor>> {
    if (this.#direct >= this.#config.maxEnqueuedBatches) {
      this.#metrics.countShed('queue_full');
      throw refusal(
        'CTR_ERR_QUEUE_FULL',
        `${this.#config.maxEnqueuedBatches} predictions are already running; retry later`,
      );
    }
    this.#direct++;
    try {
      // One turn later: requests that arrived together are all admitted or refused before the model holds the loop.
      await new Promise((resolve) => setImmediate(resolve));
      return await this.#call(servable, task.signatureName, task.inputs, task.rows);
    } finally {
      this.#direct--;
      this.#notifyIfIdle();
    }
  }

  // Scheduling after the current event-loop turn lets requests that arrived in the same turn share a batch
  // even with a 0 ms timeout, and keeps callers that loop on microtasks from starving I/O and timers.
  #scheduleSoon(): void {
    if (this.#soon) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.#sliceStartMs = performance.now();
      this.#schedule();
    });
  }

  #schedule(): void {
    const inFlight = this.#config.numBatchThreads * (this.#config.modelThread ? MODEL_THREAD_DEPTH : 1);
    while (this.#running < inFlight) {
      const next = this.#queues.take(performance.now(), this.#config.batchTimeoutMs);
      if (!('batch' in next)) {
        this.#armTimer(next.nextDueMs);
        return;
      }
      const { q, batch } = next;
      this.#running++;
      // The next batch starts at once, without a turn of I/O in between, until DRAIN_SLICE_MS of model time
      // has passed: under overload, clients that retry at once on a 503 would get their refusals interleaved
      // with every batch (measured: 128 connections on one process answered 24–38 requests/s of 1 × 1000 that
      // way), while draining the whole admitted queue in one go kept refusals waiting up to maxQueueDelayMs.
      void this.#execute(q, batch).finally(() => {
        this.#running--;
        if (this.#config.modelThread || performance.now() - this.#sliceStartMs < DRAIN_SLICE_MS)
          this.#schedule();
        else this.#scheduleSoon();
        this.#notifyIfIdle();
      });
    }
  }

  #armTimer(dueMs: number): void {
    if (dueMs === Infinity || (this.#timer && this.#timerDueMs <= dueMs)) return;
    clearTimeout(this.#timer);
    this.#timerDueMs = dueMs;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerDueMs = Infinity;
        this.#sliceStartMs = performance.now();
        this.#schedule();
      },
      Math.max(0, dueMs - performance.now()),
    );
  }

  async #execute(q: Queue, batch: Batch): Promise<void> {
    const startMs = performance.now();
    const live: Item[] = [];
    for (const item of batch.items) {
      if (startMs - item.enqueuedMs > this.#config.predictTimeoutMs) {
        this.#metrics.countShed('timeout');
        item.reject(
          new CtrError(
            'CTR_ERR_TIMEOUT',
            `waited over ${this.#config.predictTimeoutMs} ms for a batch thread`,
          ),
        );
      } else {
        this.#metrics.observeQueueWait((startMs - item.enqueuedMs) / 1000);
        live.push(item);
      }
    }
    if (live.length === 0) return;
    if (live.length === 1) {
      await this.#runOne(q, live[0]!);
      return;
    }
    const rows = live.reduce((n, item) => n + item.rows, 0);
    let outputs: Record<string, HostTensor>;
    try {
      const merged = live[0]!.task.merge(live.map((item) => item.task.inputs));
      outputs = await this.#call(q.servable, q.signatureName, merged, rows);
    } catch {
      for (const item of live) await this.#runOne(q, item);
      return;
    }
    if (!Object.values(outputs).every((t) => t.shape[0] === rows)) {
      for (const item of live) await this.#runOne(q, item); // an output without a batch dim: cannot split
      return;
    }
    let offset = 0;
    for (const item of live) {
      item.resolve(item.task.split(outputs, offset, item.rows));
      offset += item.rows;
    }
  }

  async #runOne(q: Queue, item: Item): Promise<void> {
    try {
      item.resolve(await this.#call(q.servable, q.signatureName, item.task.inputs, item.rows || 1));
    } catch (err) {
      item.reject(err);
    }
  }

  async #call(
    servable: Servable,
    signatureName: string,
    inputs: Readonly<Record<string, HostTensor>>,
    rows: number,
  ): Promise<Record<string, HostTensor>> {
    const t0 = performance.now();
    const admission = this.#admissions.of(servable.id.name);
    // With the model thread the calls queue there back to back: no turn of this loop comes between them.
    if (this.#lastCallEnd.waiting && !this.#config.modelThread)
      admission.observeGap(t0 - this.#lastCallEnd.ms);
    let outputs: Record<string, HostTensor>;
    let prevEndMs = 0;
    try {
      outputs = await servable.model.predictHost(inputs, signatureName);
    } catch (err) {
      if (isCtrError(err)) throw err;
      throw new CtrError('CTR_ERR_EXECUTION', `${servable.id.name}: ${(err as Error)?.message ?? err}`, {
        cause: err,
      });
    } finally {
      prevEndMs = this.#lastCallEnd.ms;
      this.#lastCallEnd = { ms: performance.now(), waiting: this.#queues.waiting > 0 || this.#direct > 1 };
    }
    const endMs = this.#lastCallEnd.ms;
    // On the model thread a call is posted while the one before it runs: what it adds to the queue's delay is
    // the time from that one's end to its own (the thread's throughput as this loop sees it), not its wall time.
    admission.observe(rows, endMs - (this.#config.modelThread ? Math.max(t0, prevEndMs) : t0));
    const runMs = (outputs as { [RUN_MS]?: number })[RUN_MS] ?? endMs - t0;
    this.#metrics.observeInference(servable.id, runMs / 1000, rows);
    return outputs;
  }
}
