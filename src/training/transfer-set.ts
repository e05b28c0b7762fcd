import { padHistoryInto } from '../ctr/ctr-batch.ts';
import type { ClickLog } from './data/click-log.ts';
import type { Prng } from './data/prng.ts';
import type { TrainSet } from './dataset.ts';

/**
 * The distillation transfer set (Tang et al. 2019 §3.1, adapted to click histories): the labelled training rows,
 * plus `copies` perturbed copies of each row, plus unlabelled sequences cut into (history, next click) rows.
 * Perturbations, one per copy, chosen at random:
 * - mask: each history item becomes padding (0) with probability maskProb, in place;
 * - drop: each item is removed with probability maskProb and the history is left-padded again;
 * - shuffle: a random span of 2..spanMax consecutive items is shuffled;
 * - candidate: the candidate is replaced by a random item.
 * Added rows have labelWeight 0: only the teacher labels them (teacherLogit, filled in by the caller).
 */
export type TransferConfig = {
  readonly copies: number;
  readonly maskProb: number;
  readonly spanMax: number;
  /** How many unlabelled sequences to add as rows (0: none). */
  readonly unlabelledRows: number;
};

export function buildTransferSet(
  log: ClickLog,
  sequences: Int32Array,
  cfg: TransferConfig,
  rng: Prng,
): TrainSet {
  const L = log.historyLength;
  const seqRows = Math.min(cfg.unlabelledRows, sequences.length / (L + 1));
  const rows = log.rows * (1 + cfg.copies) + seqRows;
  const history = new Int32Array(rows * L);
  const candidate = new Int32Array(rows);
  const label = new Float32Array(rows);
  const labelWeight = new Float32Array(rows);
  history.set(log.history);
  candidate.set(log.candidate);
  for (let r = 0; r < log.rows; r++) {
    label[r] = log.clicked[r]!;
    labelWeight[r] = 1;
  }
  let out = log.rows;
  const buf = new Int32Array(L);
  for (let k = 0; k < cfg.copies; k++) {
    for (let r = 0; r < log.rows; r++, out++) {
      buf.set(log.history.subarray(r * L, (r + 1) * L));
      let cand = log.candidate[r]!;
      const kind = rng.int(4);
      if (kind === 0) maskItems(buf, cfg.maskProb, rng);
      else if (kind === 1) dropItems(buf, cfg.maskProb, rng);
      else if (kind === 2) shuffleSpan(buf, cfg.spanMax, rng);
      else cand = 1 + rng.int(log.vocabSize - 1);
      history.set(buf, out * L);
      candidate[out] = cand;
    }
  }
  for (let s = 0; s < seqRows; s++, out++) {
    history.set(sequences.subarray(s * (L + 1), s * (L + 1) + L), out * L);
    candidate[out] = rng.next() < 0.5 ? sequences[s * (L + 1) + L]! : 1 + rng.int(log.vocabSize - 1);
  }
  return { rows, historyLength: L, history, candidate, label, labelWeight };
}

export function maskItems(h: Int32Array, p: number, rng: Prng): void {
  for (let j = 0; j < h.length; j++) if (h[j] !== 0 && rng.next() < p) h[j] = 0;
}

export function dropItems(h: Int32Array, p: number, rng: Prng): void {
  const kept = Array.from(h).filter((id) => id !== 0 && rng.next() >= p);
  padHistoryInto(kept, h.length, h);
}

export function shuffleSpan(h: Int32Array, spanMax: number, rng: Prng): void {
  const start = h.findIndex((id) => id !== 0);
  if (start < 0) return;
  const n = h.length - start;
  const span = Math.min(n, 2 + rng.int(Math.max(1, spanMax - 1)));
  const from = start + rng.int(n - span + 1);
  const part = Array.from(h.subarray(from, from + span));
  rng.shuffle(part);
  h.set(part, from);
}
