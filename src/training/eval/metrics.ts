/**
 * Ranking and calibration metrics on host arrays. Written by hand: they are a few lines each and no installed
 * package provides them. AUC counts tied scores as half (the Mann–Whitney U statistic, as sklearn's
 * roc_auc_score does); log-loss clips probabilities to [1e-7, 1-1e-7].
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!]) {
        pos++;
        rankSumPos += midRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function logLoss(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = Math.min(Math.max(probs[i]!, 1e-7), 1 - 1e-7);
    s -= labels[i] ? Math.log(p) : Math.log(1 - p);
  }
  return s / probs.length;
}

/** ROC curve points (false positive rate, true positive rate), thinned to at most `maxPoints`. */
export function rocCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  maxPoints = 200,
): [number, number][] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let P = 0;
  for (let i = 0; i < labels.length; i++) P += labels[i] ? 1 : 0;
  const N = labels.length - P;
  const pts: [number, number][] = [[0, 0]];
  let tp = 0;
  let fp = 0;
  const step = Math.max(1, Math.floor(order.length / maxPoints));
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]!]) tp++;
    else fp++;
    if (k % step === step - 1) pts.push([fp / Math.max(N, 1), tp / Math.max(P, 1)]);
  }
  pts.push([1, 1]);
  return pts;
}

/** Mean predicted vs observed click rate in `bins` equal-count bins of the prediction. */
export function calibration(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { predicted: number; observed: number; count: number }[] {
  const order = Array.from({ length: probs.length }, (_, i) => i).sort((a, b) => probs[a]! - probs[b]!);
  const out = [];
  for (let b = 0; b < bins; b++) {
    const lo = Math.floor((b * order.length) / bins);
    const hi = Math.floor(((b + 1) * order.length) / bins);
    if (hi <= lo) continue;
    let sp = 0;
    let sy = 0;
    for (let k = lo; k < hi; k++) {
      sp += probs[order[k]!]!;
      sy += labels[order[k]!]!;
    }
    out.push({ predicted: sp / (hi - lo), observed: sy / (hi - lo), count: hi - lo });
  }
  return out;
}
