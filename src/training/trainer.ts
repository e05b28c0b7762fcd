import * as tf from '@tensorflow/tfjs-core';
// Training differentiates: tfjs-core's gradients (src/training/register-gradients.ts; serving never imports it).
import './register-gradients.ts';
import type { Progress } from './progress.ts';

/**
 * The one training loop (nanoGPT's spirit: pretraining, fine-tuning and distillation are configurations of it).
 * Each step takes a batch from `nextBatch`, computes `loss` under tf.variableGrads, and applies the gradients
 * with one Adam optimizer per parameter group (fine-tuning gives the encoder a learning rate ~100× below the
 * head's). Learning rates warm up linearly over `warmupSteps`, then decay linearly to 10% at the last step.
 *
 * Tensors: `loss` runs inside a tidy; the optimizers are disposed at the end. Returns the loss curve (mean loss
 * per `curveEvery` steps), read once per step with dataSync.
 */
export type OptimizerGroup = { readonly variables: tf.Variable[]; readonly learningRate: number };

export type TrainLoopOptions<B> = {
  readonly steps: number;
  readonly groups: readonly OptimizerGroup[];
  readonly nextBatch: (step: number) => B;
  readonly loss: (batch: B) => tf.Scalar;
  readonly warmupSteps?: number;
  readonly curveEvery?: number;
  readonly progress?: Progress;
};

export type CurvePoint = { readonly step: number; readonly loss: number };

export function trainLoop<B>(opts: TrainLoopOptions<B>): CurvePoint[] {
  const groups = opts.groups.filter((g) => g.variables.length > 0 && g.learningRate > 0);
  const optimizers = groups.map((g) => tf.train.adam(g.learningRate));
  const all = groups.flatMap((g) => g.variables);
  const curve: CurvePoint[] = [];
  const every = opts.curveEvery ?? Math.max(1, Math.floor(opts.steps / 50));
  const warmup = opts.warmupSteps ?? Math.floor(opts.steps * 0.05);
  let acc = 0;
  let n = 0;
  for (let step = 0; step < opts.steps; step++) {
    const scale =
      step < warmup ? (step + 1) / warmup : 1 - (0.9 * (step - warmup)) / Math.max(1, opts.steps - warmup);
    // tfjs reads AdamOptimizer.learningRate on every applyGradients; it is protected only in the typings.
    groups.forEach(
      (g, i) =>
        ((optimizers[i] as unknown as { learningRate: number }).learningRate = g.learningRate * scale),
    );
    const batch = opts.nextBatch(step);
    const lossValue = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => opts.loss(batch), all);
      groups.forEach((g, i) => {
        optimizers[i]!.applyGradients(g.variables.map((v) => ({ name: v.name, tensor: grads[v.name]! })));
      });
      return value.dataSync()[0]!;
    });
    acc += lossValue;
    n++;
    if (n === every || step === opts.steps - 1) {
      curve.push({ step: step + 1, loss: acc / n });
      acc = 0;
      n = 0;
    }
    opts.progress?.update(step + 1, `loss ${curve.at(-1)?.loss.toFixed(4) ?? '-'}`);
  }
  for (const o of optimizers) o.dispose();
  return curve;
}
