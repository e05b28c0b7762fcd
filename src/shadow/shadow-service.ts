import type { Registry } from 'prom-client';
import type { ServingConfig } from '../config/serving-config.ts';
import { CtrError } from '../errors/registry.ts';
import type { CtrBatch, CtrUserRequest } from '../ctr/ctr-batch.ts';
import type { ServableId } from '../serving/servable.ts';
import { ShadowMetrics } from './shadow-metrics.ts';
import { shadowPairsJson, type ShadowJson, type ShadowPairSnapshot } from './shadow-pair.ts';
import { ShadowScorer, type ShadowEvent, type ShadowLogger, type TeacherRunner } from './shadow-scorer.ts';
import { TeacherThread } from './teacher-thread.ts';
import { createTeacherRunner, scoreWithTeacher, type TeacherRunnerDeps } from '../ctr/teacher-replay.ts';

/**
 * Shadow scoring as the app sees it: built from ServingConfig (every model with a `shadowModel` is a pair; its
 * rate is the model's own or the global `shadowSampleRate`), it registers the ctr_shadow_* metrics on the app's
 * registry, takes CTR replies through `offer` (CtrPredictor.onCtrScored), answers `GET /v1/shadow` through
 * `json()` and `"explain": true` through `checkExplain` + `explain`.
 *
 * Lifecycle: one per app; `stop()` (app close) drops queued shadow work and waits for the running teacher job.
 * `workerSnapshots`, when set (with `--workers`), returns every worker's pair snapshots so the JSON is pooled
 * over the cluster; without it the JSON is this process's.
 *
 * Failures: shadow traffic never fails a request. `explain` is synchronous and for debugging, so its errors are
 * the client's: CTR_ERR_EXPLAIN_TOO_LARGE (413) over MAX_EXPLAIN_CANDIDATES, else the teacher's own codes.
 */
export const MAX_EXPLAIN_CANDIDATES = 1000;

export type ShadowServiceDeps = TeacherRunnerDeps & {
  readonly registry?: Registry;
  readonly logger?: ShadowLogger;
  readonly random?: () => number;
  /** Teacher deadline per shadow job; default config.predictTimeoutMs. */
  readonly teacherTimeoutMs?: number;
  readonly workerSnapshots?: () => Promise<ShadowPairSnapshot[][]>;
  /** Runs the teacher for shadow jobs; default: in this thread through `manager` and `predictions`. */
  readonly runTeacher?: TeacherRunner;
  /**
   * Shadow jobs go to a TeacherThread (teacher-thread.ts) serving the pairs' teachers, off this thread's event
   * loop; `explain` still runs here, synchronously, through `manager` and `predictions`.
   */
  readonly teacherThread?: boolean;
};

export type Explanation = {
  readonly teacher: { readonly name: string; readonly version: string };
  /** Per user, in candidate order, like the student's `scores`. */
  readonly scores: number[][];
};

export class ShadowService {
  readonly scorer: ShadowScorer;
  readonly metrics: ShadowMetrics | undefined;
  readonly #deps: ShadowServiceDeps;
  readonly #defaultModel: string;
  readonly #shareHistory: boolean;
  readonly #thread: TeacherThread | undefined;

  constructor(config: ServingConfig, deps: ShadowServiceDeps) {
    this.#deps = deps;
    this.#defaultModel = config.defaultModel;
    this.#shareHistory = config.shareHistory;
    const holder: { scorer?: ShadowScorer } = {};
    this.metrics = deps.registry
      ? new ShadowMetrics(deps.registry, () => holder.scorer?.gaugeStats())
      : undefined;
    const pairs = config.models.flatMap((m) =>
      m.shadowModel === undefined
        ? []
        : [
            {
              student: m.name,
              teacher: m.shadowModel,
              sampleRate: m.shadowSampleRate ?? config.shadowSampleRate,
            },
          ],
    );
    const sampled = [...new Set(pairs.filter((p) => p.sampleRate > 0).map((p) => p.teacher))];
    this.#thread =
      deps.teacherThread && sampled.length > 0 ? new TeacherThread(config, sampled, deps.logger) : undefined;
    this.scorer = holder.scorer = new ShadowScorer({
      pairs,
      defaultModel: config.defaultModel,
      queueSize: config.shadowQueueSize,
      windowSize: config.shadowWindowSize,
      teacherTimeoutMs: deps.teacherTimeoutMs ?? config.predictTimeoutMs,
      runTeacher:
        deps.runTeacher ??
        this.#thread?.run ??
        createTeacherRunner({ shareHistory: config.shareHistory, ...deps }),
      random: deps.random,
      metrics: this.metrics,
      logger: deps.logger,
    });
  }

  offer(event: ShadowEvent): void {
    this.scorer.offer(event);
  }

  /** Refuses an explain request the teacher would have to score synchronously beyond the limit (before any work). */
  checkExplain(model: string | undefined, rawRequests: unknown): void {
    if (this.scorer.teacherOf(model ?? this.#defaultModel) === undefined || !Array.isArray(rawRequests))
      return;
    let total = 0;
    for (const r of rawRequests as { candidates?: unknown }[]) {
      if (r && Array.isArray(r.candidates)) total += r.candidates.length;
    }
    if (total > MAX_EXPLAIN_CANDIDATES) {
      throw new CtrError(
        'CTR_ERR_EXPLAIN_TOO_LARGE',
        `"explain" scores ${total} candidates with the teacher synchronously; the limit is ${MAX_EXPLAIN_CANDIDATES}`,
      );
    }
  }

  /** The teacher's scores for a request the student just answered; undefined when the model has no teacher. */
  async explain(
    student: { readonly id: ServableId; readonly batch: CtrBatch },
    requests: readonly CtrUserRequest[],
  ): Promise<Explanation | undefined> {
    const teacher = this.scorer.teacherOf(student.id.name);
    if (teacher === undefined) return undefined;
    this.checkExplain(student.id.name, requests);
    const { id, scores } = await scoreWithTeacher(
      { shareHistory: this.#shareHistory, ...this.#deps },
      teacher,
      requests,
      student.batch,
    );
    const offsets = student.batch.offsets;
    const perUser: number[][] = [];
    for (let u = 0; u + 1 < offsets.length; u++)
      perUser.push(Array.from(scores.subarray(offsets[u], offsets[u + 1])));
    return { teacher: { name: id.name, version: String(id.version) }, scores: perUser };
  }

  /** GET /v1/shadow: every pair, pooled over all workers when running as a cluster. */
  async json(): Promise<ShadowJson> {
    const workers = this.#deps.workerSnapshots
      ? await this.#deps.workerSnapshots()
      : [this.scorer.snapshot()];
    return shadowPairsJson(workers);
  }

  /** Resolves once the teacher thread, when there is one, has tried its first load of every teacher. */
  async ready(): Promise<void> {
    // A thread that failed to start was logged; its jobs then fail and count as teacher errors.
    await this.#thread?.ready().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.scorer.stop();
    await this.#thread?.stop();
  }
}
