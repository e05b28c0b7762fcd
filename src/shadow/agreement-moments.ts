import { binaryKl, correlationFromMoments, topKOverlap } from './rank-stats.ts';

/**
 * Cumulative agreement as streaming moments: running means and centred second moments (Welford), which merge
 * exactly across batches and across workers by Chan et al.'s pairwise formulas. Plain data (JSON-safe), so a
 * worker can send its state to the primary. Spearman needs every rank and has no streaming form: it is reported
 * over the window only.
 */
export type AgreementMoments = {
  /** Predictions scored by both models. */
  readonly n: number;
  readonly meanStudent: number;
  readonly meanTeacher: number;
  /** Σ(s − s̄)², Σ(t − t̄)², Σ(s − s̄)(t − t̄). */
  readonly m2Student: number;
  readonly m2Teacher: number;
  readonly coMoment: number;
  readonly meanAbsDiff: number;
  readonly meanKl: number;
  /** Requests (users) with at least one candidate, and their mean top-k overlap. */
  readonly requests: number;
  readonly meanTopKOverlap: number;
};

export const EMPTY_MOMENTS: AgreementMoments = Object.freeze({
  n: 0,
  meanStudent: 0,
  meanTeacher: 0,
  m2Student: 0,
  m2Teacher: 0,
  coMoment: 0,
  meanAbsDiff: 0,
  meanKl: 0,
  requests: 0,
  meanTopKOverlap: 0,
});

/** Weighted mean of two means without forming sums (a + (b − a)·nb/n stays accurate for large n). */
const mergeMean = (a: number, na: number, b: number, nb: number): number =>
  na + nb === 0 ? 0 : a + ((b - a) * nb) / (na + nb);

export function mergeMoments(a: AgreementMoments, b: AgreementMoments): AgreementMoments {
  if (b.n === 0 && b.requests === 0) return a;
  if (a.n === 0 && a.requests === 0) return b;
  const n = a.n + b.n;
  const ds = b.meanStudent - a.meanStudent;
  const dt = b.meanTeacher - a.meanTeacher;
  const w = n === 0 ? 0 : (a.n * b.n) / n;
  return {
    n,
    meanStudent: mergeMean(a.meanStudent, a.n, b.meanStudent, b.n),
    meanTeacher: mergeMean(a.meanTeacher, a.n, b.meanTeacher, b.n),
    m2Student: a.m2Student + b.m2Student + ds * ds * w,
    m2Teacher: a.m2Teacher + b.m2Teacher + dt * dt * w,
    coMoment: a.coMoment + b.coMoment + ds * dt * w,
    meanAbsDiff: mergeMean(a.meanAbsDiff, a.n, b.meanAbsDiff, b.n),
    meanKl: mergeMean(a.meanKl, a.n, b.meanKl, b.n),
    requests: a.requests + b.requests,
    meanTopKOverlap: mergeMean(a.meanTopKOverlap, a.requests, b.meanTopKOverlap, b.requests),
  };
}

/**
 * Moments of one scored batch, computed in two passes (means, then centred sums) and ready to merge.
 * `offsets[u]..offsets[u+1]` are user u's rows; each user is one request for the top-k overlap.
 */
export function batchMoments(
  student: ArrayLike<number>,
  teacher: ArrayLike<number>,
  offsets: ArrayLike<number>,
  topK: number,
): AgreementMoments {
  const n = student.length;
  if (n === 0) return EMPTY_MOMENTS;
  let ms = 0;
  let mt = 0;
  let abs = 0;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    ms += student[i];
    mt += teacher[i];
    abs += Math.abs(student[i] - teacher[i]);
    kl += binaryKl(teacher[i], student[i]);
  }
  ms /= n;
  mt /= n;
  let m2s = 0;
  let m2t = 0;
  let co = 0;
  for (let i = 0; i < n; i++) {
    const ds = student[i] - ms;
    const dt = teacher[i] - mt;
    m2s += ds * ds;
    m2t += dt * dt;
    co += ds * dt;
  }
  let requests = 0;
  let overlapSum = 0;
  for (let u = 0; u + 1 < offsets.length; u++) {
    const from = offsets[u];
    const to = offsets[u + 1];
    const overlap = topKOverlap(slice(student, from, to), slice(teacher, from, to), topK);
    if (overlap === null) continue;
    requests++;
    overlapSum += overlap;
  }
  return {
    n,
    meanStudent: ms,
    meanTeacher: mt,
    m2Student: m2s,
    m2Teacher: m2t,
    coMoment: co,
    meanAbsDiff: abs / n,
    meanKl: kl / n,
    requests,
    meanTopKOverlap: requests === 0 ? 0 : overlapSum / requests,
  };
}

export function slice(values: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  return ArrayBuffer.isView(values)
    ? (values as unknown as Float32Array).subarray(from, to)
    : Array.prototype.slice.call(values, from, to);
}

/** The statistics of docs/shadow.md, as /v1/shadow prints them (null where undefined). */
export type AgreementStats = {
  readonly mae: number | null;
  readonly kl: number | null;
  readonly pearson: number | null;
  readonly spearman: number | null;
  readonly topk_overlap: number | null;
  readonly mean_ctr_student: number | null;
  readonly mean_ctr_teacher: number | null;
};

export function momentStats(m: AgreementMoments): AgreementStats {
  const has = m.n > 0;
  return {
    mae: has ? m.meanAbsDiff : null,
    kl: has ? m.meanKl : null,
    pearson: correlationFromMoments(m.m2Student, m.m2Teacher, m.coMoment),
    spearman: null,
    topk_overlap: m.requests > 0 ? m.meanTopKOverlap : null,
    mean_ctr_student: has ? m.meanStudent : null,
    mean_ctr_teacher: has ? m.meanTeacher : null,
  };
}
