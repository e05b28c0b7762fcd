/**
 * Pure statistics on paired predictions (student s, teacher t), used by the agreement window and by `explain`.
 * Inputs are plain arrays of probabilities; nothing here allocates tensors. Every function returns null where the
 * statistic is undefined (no data, or a correlation with a constant side), never NaN.
 */

/** Probabilities are clipped to [KL_EPSILON, 1 − KL_EPSILON] before the logs of the binary KL divergence. */
export const KL_EPSILON = 1e-7;

const clip = (p: number): number => Math.min(1 - KL_EPSILON, Math.max(KL_EPSILON, p));

/** Binary KL(teacher ‖ student) of one prediction, in nats. */
export function binaryKl(teacher: number, student: number): number {
  const t = clip(teacher);
  const s = clip(student);
  return t * Math.log(t / s) + (1 - t) * Math.log((1 - t) / (1 - s));
}

/** 1-based ranks in ascending order of value; tied values share the average of the ranks they span. */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && values[order[j]] === values[order[i]]) j++;
    const rank = (i + 1 + j) / 2; // mean of ranks i+1 … j
    for (let k = i; k < j; k++) ranks[order[k]] = rank;
    i = j;
  }
  return ranks;
}

/** Pearson correlation by two passes (mean first, then centred sums), which keeps cancellation small. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n < 2 || y.length !== n) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  return correlationFromMoments(sxx, syy, sxy);
}

/** r = Cxy / sqrt(Mxx·Myy), clamped to [−1, 1]; null when either side has no variance. */
export function correlationFromMoments(mxx: number, myy: number, cxy: number): number | null {
  if (!(mxx > 0) || !(myy > 0)) return null;
  const r = cxy / Math.sqrt(mxx * myy);
  return Math.max(-1, Math.min(1, r));
}

/** Spearman's rho: Pearson correlation of the average ranks (ties handled by averaging). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  if (x.length < 2 || y.length !== x.length) return null;
  return pearson(averageRanks(x), averageRanks(y));
}

/** Indices of the k highest scores, highest first; equal scores keep candidate order (lower index first). */
export function topKIndices(scores: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, Math.min(k, scores.length));
}

/**
 * |top-k(student) ∩ top-k(teacher)| / k' with k' = min(k, number of candidates): 1 when both rank the same k'
 * candidates first (in any order), 0 when they share none. Null for an empty request.
 */
export function topKOverlap(
  student: ArrayLike<number>,
  teacher: ArrayLike<number>,
  k: number,
): number | null {
  const kk = Math.min(k, student.length);
  if (kk <= 0) return null;
  const fromTeacher = new Set(topKIndices(teacher, kk));
  let shared = 0;
  for (const i of topKIndices(student, kk)) if (fromTeacher.has(i)) shared++;
  return shared / kk;
}
