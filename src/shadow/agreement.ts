import {
  EMPTY_MOMENTS,
  batchMoments,
  mergeMoments,
  momentStats,
  slice,
  type AgreementMoments,
  type AgreementStats,
} from './agreement-moments.ts';
import { AgreementWindow, windowStats, type WindowSnapshot } from './agreement-window.ts';
import { topKOverlap } from './rank-stats.ts';

export type { AgreementStats } from './agreement-moments.ts';

export const DEFAULT_TOP_K = 10;

/**
 * Agreement between a student and its teacher on the same predictions: cumulative (streaming moments, since
 * start) and over a sliding window of the last `windowSize` predictions (docs/shadow.md).
 *
 * Lifecycle: one tracker per (student, teacher) pair, fed by the shadow scorer after each teacher run; read with
 * `snapshot()` (plain data that crosses worker boundaries) and `agreementReport()` (which merges one or more
 * workers' snapshots). Single-threaded like the event loop that owns it; no tensors, nothing to dispose.
 */
export type AgreementSnapshot = {
  readonly topK: number;
  readonly moments: AgreementMoments;
  readonly window: WindowSnapshot;
};

export type AgreementReport = {
  readonly predictions: number;
  readonly cumulative: AgreementStats;
  readonly window: { readonly size: number; readonly predictions: number } & AgreementStats;
};

export class AgreementTracker {
  readonly topK: number;
  #moments: AgreementMoments = EMPTY_MOMENTS;
  #window: AgreementWindow;

  constructor(opts: { windowSize: number; topK?: number }) {
    this.topK = opts.topK ?? DEFAULT_TOP_K;
    if (!Number.isInteger(this.topK) || this.topK < 1)
      throw new RangeError('topK must be a positive integer');
    this.#window = new AgreementWindow(opts.windowSize);
  }

  /**
   * Records one scored batch. `offsets` has one entry per user plus the end (user u owns rows
   * offsets[u]..offsets[u+1]); each user is one request for the top-k overlap.
   */
  record(
    student: ArrayLike<number>,
    teacher: ArrayLike<number>,
    offsets: ArrayLike<number>,
    atMs = Date.now(),
  ): void {
    if (student.length !== teacher.length) {
      throw new RangeError(`student has ${student.length} predictions, teacher ${teacher.length}`);
    }
    this.#moments = mergeMoments(this.#moments, batchMoments(student, teacher, offsets, this.topK));
    for (let u = 0; u + 1 < offsets.length; u++) {
      const s = slice(student, offsets[u], offsets[u + 1]);
      const t = slice(teacher, offsets[u], offsets[u + 1]);
      this.#window.addRequest(s, t, topKOverlap(s, t, this.topK), atMs);
    }
  }

  get predictions(): number {
    return this.#moments.n;
  }

  snapshot(): AgreementSnapshot {
    return { topK: this.topK, moments: this.#moments, window: this.#window.snapshot() };
  }
}

/** Pools one or more workers' snapshots of the same pair: exact merge of the moments, newest-N of the windows. */
export function agreementReport(snapshots: readonly AgreementSnapshot[]): AgreementReport {
  const moments = snapshots.reduce((acc, s) => mergeMoments(acc, s.moments), EMPTY_MOMENTS);
  return {
    predictions: moments.n,
    cumulative: momentStats(moments),
    window: windowStats(snapshots.map((s) => s.window)),
  };
}
