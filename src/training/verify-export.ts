import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../errors/registry.ts';
import type { LoadedModel } from '../graph/model.ts';
import type { ClickLog } from './data/click-log.ts';

/**
 * Loads nothing itself: compares a LoadedModel (the serving loader's view of an exported model) with the
 * in-training model's logits on the first `rows` rows of `log`. Both `ctr` and `logit` must agree within
 * tol·max(1, |expected|). Returns the largest absolute difference; throws CTR_ERR_EXPORT_MISMATCH beyond it.
 */
export async function compareExported(
  model: LoadedModel,
  name: string,
  log: ClickLog,
  expectedLogits: Float32Array,
  rows: number,
  tol = 1e-5,
): Promise<number> {
  const n = Math.min(rows, log.rows);
  const L = log.historyLength;
  const out = await model.predictHost({
    history: { dtype: 'DT_INT32', shape: [n, L], values: log.history.slice(0, n * L) },
    candidate: { dtype: 'DT_INT32', shape: [n], values: log.candidate.slice(0, n) },
  });
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const z = expectedLogits[i]!;
    const pairs: [number, number][] = [
      [Number(out.logit!.values[i]), z],
      [Number(out.ctr!.values[i]), 1 / (1 + Math.exp(-z))],
    ];
    for (const [got, want] of pairs) {
      const d = Math.abs(got - want);
      worst = Math.max(worst, d);
      if (!(d <= tol * Math.max(1, Math.abs(want)))) {
        throw new CtrError(
          'CTR_ERR_EXPORT_MISMATCH',
          `${name}: row ${i} gives ${got} after export, ${want} in training (tolerance ${tol})`,
        );
      }
    }
  }
  return worst;
}

/** Median ms of `repeats` predict calls of a loaded model on `rows` rows (after two warm-up calls). */
export async function measureLoadedLatencyMs(
  model: LoadedModel,
  log: ClickLog,
  rows: number,
  repeats: number,
): Promise<number> {
  const n = Math.min(rows, log.rows);
  const L = log.historyLength;
  const h = tf.tensor2d(log.history.subarray(0, n * L), [n, L], 'int32');
  const c = tf.tensor1d(log.candidate.subarray(0, n), 'int32');
  const times: number[] = [];
  try {
    for (let r = 0; r < repeats + 2; r++) {
      const t0 = performance.now();
      const out = await model.predict({ history: h, candidate: c });
      await out.ctr!.data();
      if (r >= 2) times.push(performance.now() - t0);
      for (const t of Object.values(out)) t.dispose();
    }
  } finally {
    h.dispose();
    c.dispose();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
