import { refusal, type CtrError } from '../errors/registry.ts';

/**
 * Admission control by estimated queue delay, for the batcher: a request is admitted when the requests already
 * admitted and not yet finished would run within `maxQueueDelayMs` at the model's measured speed, else refused
 * at once (the batcher answers CTR_ERR_QUEUE_FULL). Without it a burst waits in full (in the batcher's queues, or
 * in the kernel's socket backlog while the model holds the event loop) and every request becomes slow; with it
 * the excess gets a fast 503 and the admitted ones wait about `maxQueueDelayMs` at most.
 *
 * Speed: a model call of r rows takes about a + b·r ms (a: per-call overhead, which dominates small calls on
 * tfjs; b: per row), fitted by least squares over recent calls with exponential forgetting. Until calls of
 * different sizes have been seen, b is 0 and a the mean call time. The queued work is a·calls + b·rows, where
 * calls are the queued requests, or with batching the batches their rows fill; each call also waits for the
 * event loop's turn between calls (gapMs, measured), so the bound holds in wall time when other requests' reading
 * and refusing take the loop between calls (issue 9, bench/README.md "Overload"). Every request is admitted while
 * nothing is queued (a single large request is never refused on an idle server). Before any call is measured, a
 * prior of 1 ms per call + 10 µs per row (about a third of the reference student's speed here) stands in, so that
 * a burst on a cold process is bounded too; the first measured call replaces it.
 * Pure bookkeeping: no timers, no tensors; `admit` and `finish` must pair up for every admitted request.
 */
export type AdmissionOptions = {
  /** 0 turns the bound off (every request is admitted). */
  readonly maxQueueDelayMs: number;
  /** With batching, queued rows run in calls of up to this many rows; undefined: one call per request. */
  readonly maxBatchSize?: number;
};

const DECAY = 0.95;
/** A measured gap between model calls counts for this long after it was last seen (gapMs). */
const GAP_TTL_MS = 1000;
const PRIOR = Object.freeze({ perCallMs: 1, perRowMs: 0.01 });

export class QueueDelayAdmission {
  readonly #options: AdmissionOptions;
  #queuedRows = 0;
  #queuedRequests = 0;
  // Exponentially weighted sums of 1, rows, ms, rows², rows·ms over model calls.
  #w = 0;
  #x = 0;
  #y = 0;
  #xx = 0;
  #xy = 0;
  // Exponentially weighted count and sum of the gaps between model calls (gapMs).
  #gapW = 0;
  #gapSum = 0;
  #gapAtMs = -Infinity;

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** Rows admitted and not yet finished. */
  get queuedRows(): number {
    return this.#queuedRows;
  }

  /** How long the requests already admitted would take to run (0 when none is queued). */
  get estimatedDelayMs(): number {
    if (this.#queuedRequests === 0) return 0;
    const { perCallMs, perRowMs } = this.speed;
    const max = this.#options.maxBatchSize;
    const calls = max
      ? Math.min(this.#queuedRequests, Math.ceil(this.#queuedRows / max))
      : this.#queuedRequests;
    return calls * (perCallMs + this.gapMs) + this.#queuedRows * perRowMs;
  }

  /**
   * The event loop's time between two model calls while calls were waiting (reading, refusing and answering other
   * requests, other models' calls): each queued call waits for it as well as for the calls before it. Under
   * overload it is mostly the refusals of one turn, and on a shared CPU it grows as the process gets less of it.
   */
  get gapMs(): number {
    // Gaps are seen only while calls wait; once none was seen for GAP_TTL_MS the overload is over.
    if (this.#gapW === 0 || performance.now() - this.#gapAtMs > GAP_TTL_MS) return 0;
    return this.#gapSum / this.#gapW;
  }

  /** The fitted cost of a model call: perCallMs + perRowMs · rows. */
  get speed(): { readonly perCallMs: number; readonly perRowMs: number } {
    if (this.#w === 0) return PRIOR;
    const spread = this.#w * this.#xx - this.#x * this.#x;
    // Sizes that barely vary cannot separate the two terms: charge everything to the call.
    const perRowMs =
      spread > 0.01 * this.#x * this.#x ? Math.max(0, (this.#w * this.#xy - this.#x * this.#y) / spread) : 0;
    return { perCallMs: Math.max(0, (this.#y - perRowMs * this.#x) / this.#w), perRowMs };
  }

  /** Admits a request of `rows` rows (queued until `finish`), or returns false when the queue is over budget. */
  admit(rows: number): boolean {
    const max = this.#options.maxQueueDelayMs;
    if (max > 0 && this.estimatedDelayMs > max) return false;
    this.#queuedRows += rows;
    this.#queuedRequests++;
    return true;
  }

  finish(rows: number): void {
    this.#queuedRows = Math.max(0, this.#queuedRows - rows);
    this.#queuedRequests = Math.max(0, this.#queuedRequests - 1);
  }

  /** `ms` passed between the end of a model call and the start of the next while calls were waiting. */
  observeGap(ms: number): void {
    if (!(ms >= 0)) return;
    this.#gapW = this.#gapW * DECAY + 1;
    this.#gapSum = this.#gapSum * DECAY + ms;
    this.#gapAtMs = performance.now();
  }

  /** One model call of `rows` rows took `ms`. */
  observe(rows: number, ms: number): void {
    if (!(rows > 0 && ms >= 0)) return;
    this.#w = this.#w * DECAY + 1;
    this.#x = this.#x * DECAY + rows;
    this.#y = this.#y * DECAY + ms;
    this.#xx = this.#xx * DECAY + rows * rows;
    this.#xy = this.#xy * DECAY + rows * ms;
  }
}

/**
 * One QueueDelayAdmission per model name (every version of a model shares one), as TF Serving's batch queues are
 * per servable: a model's queued rows are costed at its own measured speed, and a slow model's backlog (a teacher
 * replayed in-thread for shadow scoring) never refuses another model's requests.
 */
export class AdmissionByModel {
  readonly #options: AdmissionOptions;
  readonly #byModel = new Map<string, QueueDelayAdmission>();

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** The model's admission if it ever ran a request (a name from a request line creates nothing). */
  peek(model: string): QueueDelayAdmission | undefined {
    return this.#byModel.get(model);
  }

  of(model: string): QueueDelayAdmission {
    let admission = this.#byModel.get(model);
    if (!admission) this.#byModel.set(model, (admission = new QueueDelayAdmission(this.#options)));
    return admission;
  }

  /**
   * The refusal (CTR_ERR_QUEUE_FULL, without a stack) for a request to `model` while its queued work is over
   * maxQueueDelayMs: when `always` (admit() just said no), else only when that holds now (undefined otherwise).
   */
  refusal(model: string, always: boolean): CtrError | undefined {
    const max = this.#options.maxQueueDelayMs;
    const delayMs = this.#byModel.get(model)?.estimatedDelayMs ?? 0;
    if (!always && !(max > 0 && delayMs > max)) return undefined;
    return refusal(
      'CTR_ERR_QUEUE_FULL',
      `${model}: the queued requests need about ${Math.round(delayMs)} ms to run, over max_queue_delay_ms ` +
        `${max}; retry later`,
    );
  }
}
