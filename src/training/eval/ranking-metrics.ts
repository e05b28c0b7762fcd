/**
 * Leave-one-out ranking metrics as the BERT4Rec authors' EvalHooks compute them: per user, the target (column 0
 * of the candidates) has rank r = the number of candidates scored above it (0 = first); HR@k = [r < k],
 * NDCG@k = [r < k] / log2(r + 2), MRR = 1 / (r + 1), each averaged over users. AUC is the share of negatives
 * scored below the target, averaged over users. Ties: EvalHooks breaks them by argsort order, arbitrary; here a
 * tie counts as the expectation over a uniformly random order of the tied candidates (exact, and deterministic),
 * which matters for baselines with integer scores. Written by hand: a few lines, no installed package has it.
 */
export type RankingMetrics = {
  readonly users: number;
  readonly hr1: number;
  readonly hr5: number;
  readonly hr10: number;
  readonly ndcg5: number;
  readonly ndcg10: number;
  readonly mrr: number;
  readonly auc: number;
};

export const RANKING_KEYS = ['hr1', 'hr5', 'hr10', 'ndcg5', 'ndcg10', 'mrr', 'auc'] as const;

/** scores: users × candidatesPerUser, the target first in each row. */
export function rankingMetrics(scores: ArrayLike<number>, candidatesPerUser: number): RankingMetrics {
  const C = candidatesPerUser;
  const users = Math.floor(scores.length / C);
  const sum = { hr1: 0, hr5: 0, hr10: 0, ndcg5: 0, ndcg10: 0, mrr: 0, auc: 0 };
  for (let u = 0; u < users; u++) {
    const target = scores[u * C]!;
    let above = 0;
    let ties = 0;
    for (let j = 1; j < C; j++) {
      const s = scores[u * C + j]!;
      if (s > target) above++;
      else if (s === target) ties++;
    }
    // The target's rank is uniform on above .. above + ties.
    const w = 1 / (ties + 1);
    for (let r = above; r <= above + ties; r++) {
      sum.hr1 += r < 1 ? w : 0;
      sum.hr5 += r < 5 ? w : 0;
      sum.hr10 += r < 10 ? w : 0;
      sum.ndcg5 += r < 5 ? w / Math.log2(r + 2) : 0;
      sum.ndcg10 += r < 10 ? w / Math.log2(r + 2) : 0;
      sum.mrr += w / (r + 1);
    }
    sum.auc += (C - 1 - above - ties / 2) / (C - 1);
  }
  const mean = (x: number) => (users ? x / users : Number.NaN);
  return {
    users,
    hr1: mean(sum.hr1),
    hr5: mean(sum.hr5),
    hr10: mean(sum.hr10),
    ndcg5: mean(sum.ndcg5),
    ndcg10: mean(sum.ndcg10),
    mrr: mean(sum.mrr),
    auc: mean(sum.auc),
  };
}
