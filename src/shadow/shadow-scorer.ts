import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { CtrBatch, CtrUserRequest } from '../ctr/ctr-batch.ts';
import type { ServableId } from '../serving/servable.ts';
import type { AgreementStats } from './agreement.ts';
import { windowStats } from './agreement-window.ts';
import { ShadowPair, type ShadowPairSnapshot } from './shadow-pair.ts';
import type { ShadowMetrics } from './shadow-metrics.ts';

/**
 * Scores a sample of the student's CTR traffic with its teacher after the reply was sent (docs/shadow.md).
 *
 * Lifecycle: `offer(event)` is called by the HTTP layer after each CTR reply; it samples (per model rate, from an
 * injectable RNG), then enqueues the event into a bounded queue (full → dropped and counted; `offer` never waits
 * and never throws). One worker loop drains the queue one job at a time, yielding to the event loop before each
 * job, and runs the teacher through `runTeacher` (which acquires the teacher servable, predicts and releases it).
 * A job that outlives `teacherTimeoutMs` counts as a timeout and its result is thrown away, but the worker waits
 * for it to settle before the next job, so a slow teacher fills the queue (drops) instead of piling up work.
 * Teacher failures are logged (throttled) and counted, never seen by clients; a job the teacher's batch queue
 * sheds (CTR_ERR_QUEUE_FULL) counts as dropped, like a full shadow queue. `stop()` refuses new offers,
 * forgets queued jobs and waits for the running one.
 *
 * Tensors: events carry host arrays only; `runTeacher` owns and disposes any tensors it makes.
 */
export type ShadowRequest = CtrUserRequest;

/** What the CTR route hands over after its reply (CtrPredictor's onCtrScored event). */
export type ShadowEvent = {
  readonly id: ServableId;
  /** Student probabilities, user after user, each user's candidates in request order. */
  readonly scores: ArrayLike<number>;
  readonly requests: readonly ShadowRequest[];
  /** The student's input tensors (CtrBatch); a runner may replay them when the teacher's shapes match. */
  readonly batch?: CtrBatch;
};

/** Runs `teacher` on the event's requests and returns its probabilities in the same order as event.scores. */
export type TeacherRunner = (
  teacher: string,
  event: ShadowEvent,
) => Promise<{ readonly id: ServableId; readonly scores: ArrayLike<number> }>;

export type ShadowLogger = {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
};

export type ShadowPairConfig = {
  readonly student: string;
  readonly teacher: string;
  readonly sampleRate: number;
};

export type ShadowScorerOptions = {
  readonly pairs: readonly ShadowPairConfig[];
  /** Model whose pair the `ctr_shadow_agreement` gauges show. */
  readonly defaultModel?: string;
  readonly queueSize: number;
  readonly windowSize: number;
  readonly topK?: number;
  readonly teacherTimeoutMs: number;
  readonly runTeacher: TeacherRunner;
  /** Uniform [0, 1); Math.random unless a test seeds one. */
  readonly random?: () => number;
  readonly metrics?: ShadowMetrics;
  readonly logger?: ShadowLogger;
  /** Minimum time between two logged teacher failures (the others are counted). */
  readonly logEveryMs?: number;
};

type Job = { readonly pair: ShadowPair; readonly event: ShadowEvent };

const TIMED_OUT = Symbol('timed out');

export class ShadowScorer {
  readonly #opts: ShadowScorerOptions;
  readonly #pairs = new Map<string, ShadowPair>();
  readonly #queue: Job[] = [];
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastLogMs = -Infinity;
  #unlogged = 0;
  #cache: { generation: number; pair: ShadowPair; stats: AgreementStats } | undefined;

  constructor(opts: ShadowScorerOptions) {
    this.#opts = opts;
    for (const p of opts.pairs) {
      if (!(p.sampleRate >= 0 && p.sampleRate <= 1))
        throw new RangeError(`sample rate of ${p.student} not in [0, 1]`);
      this.#pairs.set(
        p.student,
        new ShadowPair(p.student, p.teacher, p.sampleRate, { windowSize: opts.windowSize, topK: opts.topK }),
      );
    }
  }

  /** The teacher of `student`, when it has one. */
  teacherOf(student: string): string | undefined {
    return this.#pairs.get(student)?.teacher;
  }

  offer(event: ShadowEvent): void {
    const pair = this.#pairs.get(event.id.name);
    if (!pair || this.#stopped || pair.sampleRate === 0) return;
    if ((this.#opts.random ?? Math.random)() >= pair.sampleRate) return;
    this.#count(pair, 'sampled');
    if (this.#queue.length >= this.#opts.queueSize) {
      this.#count(pair, 'dropped');
      return;
    }
    this.#queue.push({ pair, event });
    this.#kick();
  }

  #kick(): void {
    if (this.#running || this.#stopped) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      // An offer that came in after the loop's last shift but before this callback is still queued.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Resolves once the queue is empty and no job runs (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    await this.idle();
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  snapshot(): ShadowPairSnapshot[] {
    return [...this.#pairs.values()].map((p) => p.snapshot());
  }

  /** Window statistics of the default model's pair (cached until the next record), for the gauges. */
  gaugeStats(): AgreementStats | undefined {
    const pair = this.#pairs.get(this.#opts.defaultModel ?? '') ?? this.#pairs.values().next().value;
    if (!pair || pair.generation === 0) return undefined;
    if (this.#cache?.pair !== pair || this.#cache.generation !== pair.generation) {
      this.#cache = {
        pair,
        generation: pair.generation,
        stats: windowStats([pair.snapshot().agreement.window]),
      };
    }
    return this.#cache.stats;
  }

  async #drain(): Promise<void> {
    for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
      // Let replies and new requests that arrived meanwhile go first.
      await yieldToEventLoop();
      await this.#score(job);
    }
  }

  async #score({ pair, event }: Job): Promise<void> {
    let started: ReturnType<TeacherRunner>;
    try {
      started = this.#opts.runTeacher(pair.teacher, event);
    } catch (err) {
      started = Promise.reject(err);
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.#opts.teacherTimeoutMs);
    });
    try {
      const result = await Promise.race([started, deadline]);
      if (result === TIMED_OUT) {
        this.#count(pair, 'timeout');
        this.#log(pair, new Error(`teacher took longer than ${this.#opts.teacherTimeoutMs} ms`));
        await started.catch(() => undefined);
        return;
      }
      if (result.scores.length !== event.scores.length) {
        throw new Error(
          `teacher returned ${result.scores.length} scores for ${event.scores.length} candidates`,
        );
      }
      const offsets = [0];
      for (const r of event.requests) offsets.push(offsets[offsets.length - 1] + r.candidates.length);
      pair.record(event.id, result.id, event.scores, result.scores, offsets);
      this.#opts.metrics?.observeDiffs(event.scores, result.scores);
      this.#count(pair, 'scored');
    } catch (err) {
      // The teacher's batch queue shed the job under load: that is a drop, not a teacher failure.
      if ((err as { code?: unknown })?.code === 'CTR_ERR_QUEUE_FULL') {
        this.#count(pair, 'dropped');
        return;
      }
      this.#count(pair, 'error');
      this.#log(pair, err);
    } finally {
      clearTimeout(timer);
    }
  }

  #count(pair: ShadowPair, outcome: 'sampled' | 'scored' | 'dropped' | 'error' | 'timeout'): void {
    const key = outcome === 'error' ? 'errors' : outcome === 'timeout' ? 'timeouts' : outcome;
    pair.counts[key]++;
    this.#opts.metrics?.count(outcome);
  }

  #log(pair: ShadowPair, err: unknown): void {
    const now = Date.now();
    if (now - this.#lastLogMs < (this.#opts.logEveryMs ?? 10_000)) {
      this.#unlogged++;
      return;
    }
    const code = (err as { code?: unknown })?.code;
    this.#opts.logger?.warn(
      {
        student: pair.student,
        teacher: pair.teacher,
        code: typeof code === 'string' ? code : undefined,
        err: err instanceof Error ? err.message : String(err),
        suppressed: this.#unlogged,
      },
      'shadow scoring failed; the client was not affected',
    );
    this.#lastLogMs = now;
    this.#unlogged = 0;
  }
}
