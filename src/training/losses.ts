import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../errors/registry.ts';

/**
 * Distillation losses for a binary (click) output, on logits.
 * - 'none':   CE(y, σ(z_s)) — the student trained on labels only.
 * - 'hinton': CE(y, σ(z_s)) + α·T²·KL(σ(z_t/T) ‖ σ(z_s/T)) — Hinton et al. 2015; for one logit the softmax with
 *             temperature is a sigmoid of z/T, and T² keeps the soft term's gradients the size of the hard one's.
 *             KL = CE(q, p) − H(q): the paper's soft cross-entropy minus a constant (same gradients), so it is 0
 *             when the student matches the teacher and the training curves read well.
 * - 'tang':   CE(y, σ(z_s)) + α·MSE(z_s, z_t) — Tang et al. 2019.
 * Rows of the transfer set that only the teacher labelled carry labelWeight 0: they add to the soft term only.
 * The hard term averages over the batch's labelled rows, the soft term over all its rows. Returns a scalar the
 * caller owns (usually inside tf.tidy). A distillation loss without teacher logits is CTR_ERR_TRAINING_CONFIG.
 */
export type LossKind = 'none' | 'hinton' | 'tang';

export type LossInputs = {
  readonly studentLogit: tf.Tensor1D;
  readonly label: tf.Tensor1D;
  readonly labelWeight: tf.Tensor1D;
  readonly teacherLogit?: tf.Tensor1D;
};

export type LossParams = { readonly alpha: number; readonly temperature: number };

/** Elementwise CE(q, σ(z)) = max(z,0) − z·q + log(1 + e^−|z|), stable for any z. */
export function sigmoidCrossEntropy(target: tf.Tensor, logit: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.add(tf.sub(tf.relu(logit), tf.mul(logit, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logit))))),
  );
}

export function distillLoss(kind: LossKind, x: LossInputs, p: LossParams): tf.Scalar {
  return tf.tidy(() => {
    const hard = tf.div(
      tf.sum(tf.mul(sigmoidCrossEntropy(x.label, x.studentLogit), x.labelWeight)),
      tf.maximum(tf.sum(x.labelWeight), 1),
    );
    if (kind === 'none') return hard as tf.Scalar;
    if (!x.teacherLogit) throw new CtrError('CTR_ERR_TRAINING_CONFIG', `loss "${kind}" needs teacher logits`);
    if (kind === 'hinton') {
      const T = p.temperature;
      const zt = tf.div(x.teacherLogit, T);
      const q = tf.sigmoid(zt);
      const soft = tf.mean(
        tf.sub(sigmoidCrossEntropy(q, tf.div(x.studentLogit, T)), sigmoidCrossEntropy(q, zt)),
      );
      return tf.add(hard, tf.mul(soft, p.alpha * T * T)) as tf.Scalar;
    }
    const mse = tf.mean(tf.squaredDifference(x.studentLogit, x.teacherLogit));
    return tf.add(hard, tf.mul(mse, p.alpha)) as tf.Scalar;
  });
}
