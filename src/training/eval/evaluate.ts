import * as tf from '@tensorflow/tfjs-core';
import type { ClickLog } from '../data/click-log.ts';
import type { Forward } from '../dataset.ts';
import { auc, calibration, logLoss, rocCurve } from './metrics.ts';

/**
 * Scores a model on held-out rows: AUC and log-loss of its probabilities against the observed clicks, plus the
 * curves the HTML report draws. `bayes` scores the generator's true probabilities (synthetic logs only): the best
 * any model can do on these rows.
 */
export type ModelScore = {
  readonly name: string;
  readonly auc: number;
  readonly logLoss: number;
  readonly roc: [number, number][];
  readonly calibration: { predicted: number; observed: number; count: number }[];
};

export function scoreProbs(name: string, probs: ArrayLike<number>, labels: ArrayLike<number>): ModelScore {
  return {
    name,
    auc: auc(probs, labels),
    logLoss: logLoss(probs, labels),
    roc: rocCurve(probs, labels),
    calibration: calibration(probs, labels),
  };
}

/**
 * Median wall time of one forward pass at `batchSize` rows (the first `warmup` runs are discarded). The machine
 * is shared: medians of a few runs, and ratios taken in the same process, are what is comparable.
 */
export function measureLatencyMs(
  forward: Forward,
  test: ClickLog,
  batchSize: number,
  repeats: number,
  warmup = 2,
): number {
  const L = test.historyLength;
  const n = Math.min(batchSize, test.rows);
  const h = tf.tensor2d(test.history.subarray(0, n * L), [n, L], 'int32');
  const c = tf.tensor1d(test.candidate.subarray(0, n), 'int32');
  const times: number[] = [];
  try {
    for (let r = 0; r < warmup + repeats; r++) {
      const t0 = performance.now();
      tf.tidy(() => forward(h as tf.Tensor2D, c as tf.Tensor1D).ctr.dataSync());
      if (r >= warmup) times.push(performance.now() - t0);
    }
  } finally {
    h.dispose();
    c.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
