import type { AgreementStats } from './agreement-moments.ts';
import { binaryKl, pearson, spearman } from './rank-stats.ts';

/**
 * The last `size` predictions scored by both models, in a ring buffer (fixed memory, O(1) per prediction), plus
 * the top-k overlap of the requests they came from. Statistics are computed when asked (a scrape or GET
 * /v1/shadow), not per prediction: Spearman sorts the window.
 *
 * Workers merge by time: a snapshot is plain data with each prediction's wall-clock time, and the merged window is
 * the `size` newest predictions over all workers. A request counts in the window's top-k overlap when at least one
 * of its predictions is in the window.
 */
export type WindowSnapshot = {
  readonly size: number;
  /** Oldest first. `request` is the worker-local ordinal of the request each prediction came from. */
  readonly atMs: number[];
  readonly student: number[];
  readonly teacher: number[];
  readonly request: number[];
  /** Top-k overlap of every request that has a prediction in the window, keyed by ordinal. */
  readonly overlaps: Record<string, number>;
};

export class AgreementWindow {
  readonly size: number;
  #atMs: Float64Array;
  #student: Float64Array;
  #teacher: Float64Array;
  #request: Float64Array;
  #next = 0;
  #count = 0;
  #overlaps = new Map<number, number>();
  #nextRequest = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`window size must be a positive integer`);
    this.size = size;
    this.#atMs = new Float64Array(size);
    this.#student = new Float64Array(size);
    this.#teacher = new Float64Array(size);
    this.#request = new Float64Array(size);
  }

  /** Adds one request's predictions (its overlap is null when it had no candidates). */
  addRequest(
    student: ArrayLike<number>,
    teacher: ArrayLike<number>,
    overlap: number | null,
    atMs: number,
  ): void {
    const ordinal = this.#nextRequest++;
    if (student.length === 0) return;
    if (overlap !== null) this.#overlaps.set(ordinal, overlap);
    for (let i = 0; i < student.length; i++) {
      this.#atMs[this.#next] = atMs;
      this.#student[this.#next] = student[i];
      this.#teacher[this.#next] = teacher[i];
      this.#request[this.#next] = ordinal;
      this.#next = (this.#next + 1) % this.size;
      if (this.#count < this.size) this.#count++;
    }
    // Each request in the window has ≥ 1 prediction in it, so keys older than the oldest prediction's can go.
    const oldest = this.#request[this.#count < this.size ? 0 : this.#next];
    if (this.#overlaps.size > this.size) {
      for (const key of this.#overlaps.keys()) {
        if (key >= oldest) break;
        this.#overlaps.delete(key);
      }
    }
  }

  snapshot(): WindowSnapshot {
    const start = this.#count < this.size ? 0 : this.#next;
    const atMs: number[] = [];
    const student: number[] = [];
    const teacher: number[] = [];
    const request: number[] = [];
    const overlaps: Record<string, number> = {};
    for (let j = 0; j < this.#count; j++) {
      const i = (start + j) % this.size;
      atMs.push(this.#atMs[i]);
      student.push(this.#student[i]);
      teacher.push(this.#teacher[i]);
      request.push(this.#request[i]);
      const overlap = this.#overlaps.get(this.#request[i]);
      if (overlap !== undefined) overlaps[String(this.#request[i])] = overlap;
    }
    return { size: this.size, atMs, student, teacher, request, overlaps };
  }
}

/** Statistics over the newest `size` predictions of one or several workers' windows. */
export function windowStats(
  snapshots: readonly WindowSnapshot[],
): { size: number; predictions: number } & AgreementStats {
  const size = Math.max(0, ...snapshots.map((w) => w.size));
  const rows: { at: number; w: number; i: number }[] = [];
  snapshots.forEach((w, wi) => w.atMs.forEach((at, i) => rows.push({ at, w: wi, i })));
  if (snapshots.length > 1) rows.sort((a, b) => a.at - b.at || a.w - b.w || a.i - b.i);
  const kept = rows.slice(Math.max(0, rows.length - size));
  const s = kept.map((r) => snapshots[r.w].student[r.i]);
  const t = kept.map((r) => snapshots[r.w].teacher[r.i]);
  const n = kept.length;
  let sumS = 0;
  let sumT = 0;
  let abs = 0;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    sumS += s[i];
    sumT += t[i];
    abs += Math.abs(s[i] - t[i]);
    kl += binaryKl(t[i], s[i]);
  }
  const seen = new Set<string>();
  let overlapSum = 0;
  let requests = 0;
  for (const r of kept) {
    const ordinal = String(snapshots[r.w].request[r.i]);
    const key = `${r.w}:${ordinal}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const overlap = snapshots[r.w].overlaps[ordinal];
    if (overlap === undefined) continue;
    requests++;
    overlapSum += overlap;
  }
  return {
    size,
    predictions: n,
    mae: n > 0 ? abs / n : null,
    kl: n > 0 ? kl / n : null,
    pearson: pearson(s, t),
    spearman: spearman(s, t),
    topk_overlap: requests > 0 ? overlapSum / requests : null,
    mean_ctr_student: n > 0 ? sumS / n : null,
    mean_ctr_teacher: n > 0 ? sumT / n : null,
  };
}
