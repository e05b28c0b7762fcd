import type { DistillConfig } from '../config.ts';
import { popularityScores, transitionScores } from '../eval/ranking-scores.ts';
import { type RankingMetrics, rankingMetrics } from '../eval/ranking-metrics.ts';
import type { ClickLog } from './click-log.ts';
import { type RankingSet, leaveLastOut } from './leave-last-out.ts';
import type { Prng } from './prng.ts';
import { readSequences } from './sequence-reader.ts';

/**
 * Click sequences as a distill run's data (docs/training.md, "Real click sequences"): the file streamed in, split by
 * leaveLastOut, the two baselines ranked on the test users, and the first `rowUsers` validation and test users
 * expanded into CTR rows (one row per candidate, clicked = the target) for the pointwise metrics, the latency
 * batches and the export check. Ranking metrics cover every test user.
 */
export type SequenceRanking = {
  readonly valid: RankingSet;
  readonly test: RankingSet;
  readonly baselines: Record<'popularity' | 'transitions', RankingMetrics>;
  /** Item weights of the teacher's sampled softmax: interactions in the training parts. */
  readonly popularity: Float64Array;
  readonly users: number;
  readonly interactions: number;
};

export type SequenceData = {
  readonly train: ClickLog;
  readonly valid: ClickLog;
  readonly test: ClickLog;
  readonly sequences: Int32Array;
  readonly vocabSize: number;
  readonly ranking: SequenceRanking;
};

export async function loadSequenceData(c: DistillConfig, path: string, rng: Prng): Promise<SequenceData> {
  const o = c.data.sequences;
  const seqs = await readSequences(path, o.maxUsers > 0 ? { maxUsers: o.maxUsers } : {});
  const split = leaveLastOut(seqs, {
    historyLength: c.data.clickModel.historyLength,
    negatives: o.negatives,
    trainNegatives: o.trainNegatives,
    seed: Math.floor(rng.next() * 4294967296),
  });
  const C = split.test.candidatesPerUser;
  return {
    train: split.train,
    valid: rankingRows(split.valid, o.rowUsers, split.vocabSize),
    test: rankingRows(split.test, o.rowUsers, split.vocabSize),
    sequences: split.sequences,
    vocabSize: split.vocabSize,
    ranking: {
      valid: split.valid,
      test: split.test,
      baselines: {
        popularity: rankingMetrics(popularityScores(split.test, split.trainCounts), C),
        transitions: rankingMetrics(transitionScores(split.test, split, seqs), C),
      },
      popularity: split.trainCounts,
      users: seqs.users,
      interactions: seqs.items.length,
    },
  };
}

/** The first `users` users of a ranking set as CTR rows: each candidate with the user's history. */
export function rankingRows(set: RankingSet, users: number, vocabSize: number): ClickLog {
  const n = Math.min(users, set.users);
  const L = set.historyLength;
  const C = set.candidatesPerUser;
  const rows = n * C;
  const log = {
    vocabSize,
    historyLength: L,
    rows,
    user: new Int32Array(rows),
    history: new Int32Array(rows * L),
    candidate: set.candidates.slice(0, rows),
    clicked: new Uint8Array(rows),
  };
  for (let u = 0; u < n; u++) {
    for (let j = 0; j < C; j++) {
      log.user[u * C + j] = set.user[u]!;
      log.history.set(set.history.subarray(u * L, (u + 1) * L), (u * C + j) * L);
      log.clicked[u * C + j] = j === 0 ? 1 : 0;
    }
  }
  return log;
}
