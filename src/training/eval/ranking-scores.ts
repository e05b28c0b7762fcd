import type { LeaveLastOut, RankingSet } from '../data/leave-last-out.ts';
import { userItems, type Sequences } from '../data/sequence-reader.ts';
import { type Forward, predictLogits } from '../dataset.ts';
import type { Progress } from '../progress.ts';

/**
 * Scores of every (user, candidate) pair of a RankingSet, users × candidatesPerUser, target first: from a model
 * (its logit for the user's history and each candidate, the rows a /v1/ctr:predict request with that history and
 * those candidates makes), or from the two baselines computed here:
 * - popularity: the candidate's interactions in the training parts (POP in BERT4Rec's Table 2 ranks by popularity);
 * - transitions: how often the candidate followed the history's newest item in the training parts (a first-order
 *   item-to-item Markov chain), ties broken by popularity.
 */
export function modelRankingScores(
  forward: Forward,
  set: RankingSet,
  chunkUsers = 40,
  progress?: Progress,
): Float32Array {
  const L = set.historyLength;
  const C = set.candidatesPerUser;
  const out = new Float32Array(set.users * C);
  for (let s = 0; s < set.users; s += chunkUsers) {
    const e = Math.min(set.users, s + chunkUsers);
    const history = new Int32Array((e - s) * C * L);
    for (let u = s; u < e; u++) {
      const row = set.history.subarray(u * L, (u + 1) * L);
      for (let j = 0; j < C; j++) history.set(row, ((u - s) * C + j) * L);
    }
    const logits = predictLogits(forward, history, set.candidates.subarray(s * C, e * C), L, 4096);
    out.set(logits, s * C);
    progress?.update(e);
  }
  return out;
}

export function popularityScores(set: RankingSet, trainCounts: Float64Array): Float32Array {
  return Float32Array.from(set.candidates, (c) => trainCounts[c] ?? 0);
}

export function transitionScores(set: RankingSet, data: LeaveLastOut, seqs: Sequences): Float32Array {
  const next = new Map<number, Map<number, number>>();
  for (let u = 0; u < seqs.users; u++) {
    const part = userItems(seqs, u).subarray(0, data.trainLength[u]!);
    for (let t = 1; t < part.length; t++) {
      let m = next.get(part[t - 1]!);
      if (!m) next.set(part[t - 1]!, (m = new Map()));
      m.set(part[t]!, (m.get(part[t]!) ?? 0) + 1);
    }
  }
  let maxCount = 0;
  for (const c of data.trainCounts) maxCount = Math.max(maxCount, c);
  const C = set.candidatesPerUser;
  const out = new Float32Array(set.users * C);
  for (let u = 0; u < set.users; u++) {
    const m = next.get(set.lastItem[u]!);
    for (let j = 0; j < C; j++) {
      const c = set.candidates[u * C + j]!;
      out[u * C + j] = (m?.get(c) ?? 0) + (data.trainCounts[c] ?? 0) / (maxCount + 1);
    }
  }
  return out;
}
