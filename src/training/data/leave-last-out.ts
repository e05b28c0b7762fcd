import { padHistoryInto } from '../../ctr/ctr-batch.ts';
import type { ClickLog } from './click-log.ts';
import { PopularitySampler, itemCounts } from './popularity-sampler.ts';
import { type Sequences, userItems } from './sequence-reader.ts';

/**
 * The evaluation protocol of BERT4Rec (Sun et al. 2019, section 4.1; the authors' run.py EvalHooks and
 * gen_data_fin.py), on click sequences:
 * - per user, the last item is the test target, the one before it the validation target, the rest the training
 *   part; users with fewer than 3 items are training data only (as the authors' data_partition);
 * - each target is ranked against `negatives` (100) items drawn by PopularitySampler from the counts over the whole
 *   file, excluding every item of the user's sequence, from a fixed seed (EVAL_SEED, as EvalHooks' 12345); the
 *   validation history is the training part, the test history adds the validation item;
 * - CTR training rows: each item of a training part after the first is a click (history: the items before it),
 *   and `trainNegatives` items drawn the same way (own seed) are non-clicks with the same history.
 * Histories go through padHistoryInto (src/ctr/ctr-batch.ts), the function serving pads requests with.
 */
export type RankingSet = {
  readonly users: number;
  readonly historyLength: number;
  /** 1 + negatives: the target is column 0. */
  readonly candidatesPerUser: number;
  /** Index of each row's user in the Sequences. */
  readonly user: Int32Array;
  /** users × historyLength, left-padded, newest last. */
  readonly history: Int32Array;
  /** users × candidatesPerUser. */
  readonly candidates: Int32Array;
  /** The newest item of each history (the transition baseline's context). */
  readonly lastItem: Int32Array;
  /** Each history unpadded and untruncated (views into the Sequences): what a client sends to /v1/ctr:predict. */
  readonly past: readonly Int32Array[];
};

export type LeaveLastOut = {
  /** maxItem + 1 (0 is padding). */
  readonly vocabSize: number;
  /** Interactions per item over the whole file (the samplers' weights). */
  readonly counts: Float64Array;
  /** Interactions per item over the training parts only (the popularity baseline: no test leakage). */
  readonly trainCounts: Float64Array;
  readonly train: ClickLog;
  readonly valid: RankingSet;
  readonly test: RankingSet;
  /** Pretraining rows × (historyLength + 1): windows of the training parts (pretrainRows), left-padded. */
  readonly sequences: Int32Array;
  /** For each user, the number of items in the training part. */
  readonly trainLength: Int32Array;
};

export type LeaveLastOutOptions = {
  readonly historyLength: number;
  readonly negatives: number;
  readonly trainNegatives: number;
  /** Seed of the training negatives. */
  readonly seed: number;
};

/** The fixed seed of the evaluation negatives (EvalHooks seeds numpy with 12345); validation uses the next one. */
export const EVAL_SEED = 12345;

export function leaveLastOut(s: Sequences, o: LeaveLastOutOptions): LeaveLastOut {
  const counts = itemCounts(s.items, s.maxItem);
  const trainLength = new Int32Array(s.users);
  for (let u = 0; u < s.users; u++) {
    const n = s.offsets[u + 1]! - s.offsets[u]!;
    trainLength[u] = n < 3 ? n : n - 2;
  }
  const trainItems: number[] = [];
  for (let u = 0; u < s.users; u++) trainItems.push(...userItems(s, u).subarray(0, trainLength[u]!));
  return {
    vocabSize: s.maxItem + 1,
    counts,
    trainCounts: itemCounts(trainItems, s.maxItem),
    train: trainRows(s, trainLength, o, new PopularitySampler(counts, o.seed)),
    valid: rankingSet(s, trainLength, 0, o, new PopularitySampler(counts, EVAL_SEED + 1)),
    test: rankingSet(s, trainLength, 1, o, new PopularitySampler(counts, EVAL_SEED)),
    sequences: pretrainRows(s, trainLength, o.historyLength),
    trainLength,
  };
}

function rankingSet(
  s: Sequences,
  trainLength: Int32Array,
  extra: 0 | 1,
  o: LeaveLastOutOptions,
  sampler: PopularitySampler,
): RankingSet {
  const L = o.historyLength;
  const C = o.negatives + 1;
  const eligible: number[] = [];
  for (let u = 0; u < s.users; u++) if (s.offsets[u + 1]! - s.offsets[u]! >= 3) eligible.push(u);
  const n = eligible.length;
  const set = {
    users: n,
    historyLength: L,
    candidatesPerUser: C,
    user: Int32Array.from(eligible),
    history: new Int32Array(n * L),
    candidates: new Int32Array(n * C),
    lastItem: new Int32Array(n),
    past: [] as Int32Array[],
  };
  eligible.forEach((u, r) => {
    const all = userItems(s, u);
    const past = all.subarray(0, trainLength[u]! + extra);
    padHistoryInto(past, L, set.history, r * L);
    set.past.push(past);
    set.lastItem[r] = past[past.length - 1]!;
    set.candidates[r * C] = all[past.length]!;
    set.candidates.set(sampler.sample(new Set(all), o.negatives), r * C + 1);
  });
  return set;
}

function trainRows(
  s: Sequences,
  trainLength: Int32Array,
  o: LeaveLastOutOptions,
  sampler: PopularitySampler,
): ClickLog {
  const L = o.historyLength;
  const per = 1 + o.trainNegatives;
  let positives = 0;
  for (let u = 0; u < s.users; u++) positives += Math.max(0, trainLength[u]! - 1);
  const rows = positives * per;
  const log = {
    vocabSize: s.maxItem + 1,
    historyLength: L,
    rows,
    user: new Int32Array(rows),
    history: new Int32Array(rows * L),
    candidate: new Int32Array(rows),
    clicked: new Uint8Array(rows),
    group: per,
  };
  let r = 0;
  for (let u = 0; u < s.users; u++) {
    const all = userItems(s, u);
    const seen = new Set(all);
    for (let t = 1; t < trainLength[u]!; t++) {
      const negatives = o.trainNegatives > 0 ? sampler.sample(seen, o.trainNegatives) : new Int32Array(0);
      for (let k = 0; k < per; k++, r++) {
        log.user[r] = u;
        padHistoryInto(all.subarray(0, t), L, log.history, r * L);
        log.candidate[r] = k === 0 ? all[t]! : negatives[k - 1]!;
        log.clicked[r] = k === 0 ? 1 : 0;
      }
    }
  }
  return log;
}

/**
 * Pretraining rows, as BERT4Rec's gen_data_fin.py builds them: each user's training part cut into windows of
 * L + 1 items from its end backwards (the newest window first; a shorter part, or the oldest remainder of ≥ 2
 * items, left-padded). Masking happens per batch (teacher-training.ts: the last slot always, others with
 * maskProb), so every pass over the rows masks them anew, as the authors' dupe_factor copies do.
 */
function pretrainRows(s: Sequences, trainLength: Int32Array, L: number): Int32Array {
  const S = L + 1;
  const windows = (n: number) => (n < 2 ? 0 : 1 + Math.max(0, Math.ceil((n - S - 1) / S)));
  let rows = 0;
  for (let u = 0; u < s.users; u++) rows += windows(trainLength[u]!);
  const out = new Int32Array(rows * S);
  let r = 0;
  for (let u = 0; u < s.users; u++) {
    const part = userItems(s, u).subarray(0, trainLength[u]!);
    for (let k = 0; k < windows(part.length); k++, r++)
      padHistoryInto(
        part.subarray(Math.max(0, part.length - (k + 1) * S), part.length - k * S),
        S,
        out,
        r * S,
      );
  }
  return out;
}
