import * as tf from '@tensorflow/tfjs';

/**
 * Distillation losses for a binary (click) output, on logits.
 * - 'none':   CE(y, σ(z_s)) — the student trained on labels only.
 * - 'hinton': CE(y, σ(z_s)) + α·T²·CE(σ(z_t/T), σ(z_s/T)) — Hinton et al. 2015; for one logit the softmax with
 *             temperature is a sigmoid of z/T, and T² keeps the soft term's gradients the size of the hard one's.
 * - 'tang':   CE(y, σ(z_s)) + α·MSE(z_s, z_t) — Tang et al. 2019.
 * Rows of the transfer set that only the teacher labelled carry labelWeight 0: they add to the soft term only.
 * Each term is a mean over the batch rows. Returns a scalar owned by the caller (usually inside tf.tidy).
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
    if (!x.teacherLogit) throw new Error(`loss "${kind}" needs teacher logits`);
    if (kind === 'hinton') {
      const T = p.temperature;
      const soft = tf.mean(
        sigmoidCrossEntropy(tf.sigmoid(tf.div(x.teacherLogit, T)), tf.div(x.studentLogit, T)),
      );
      return tf.add(hard, tf.mul(soft, p.alpha * T * T)) as tf.Scalar;
    }
    const mse = tf.mean(tf.squaredDifference(x.studentLogit, x.teacherLogit));
    return tf.add(hard, tf.mul(mse, p.alpha)) as tf.Scalar;
  });
}
