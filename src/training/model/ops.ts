import * as tf from '@tensorflow/tfjs-core';
// Training differentiates: tfjs-core's gradients (src/training/register-gradients.ts; serving never imports it).
import '../register-gradients.ts';

/**
 * The op vocabulary the teacher and student forward passes are written in. Each model is written ONCE against
 * this interface and run two ways: `eagerOps` (tfjs tensors; differentiable, used to train and evaluate) and the
 * graph emitter in src/training/export/graph-ops.ts (TensorFlow NodeDefs, used to export). So the exported graph
 * computes exactly what was trained, op for op. Every method maps to one TensorFlow op (named in the comment).
 *
 * Tensors: eager results belong to the caller's tf.tidy scope; nothing here keeps a tensor.
 */
export interface Ops<T> {
  /** GatherV2(params, indices, axis). */
  gather(params: T, indices: T, axis?: number): T;
  /** MatMul on rank-2 operands. */
  matMul(a: T, b: T, transposeB?: boolean): T;
  /** BatchMatMulV2. */
  batchMatMul(a: T, b: T, adjY?: boolean): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  /** RealDiv. */
  div(a: T, b: T): T;
  maximum(a: T, b: T): T;
  squaredDifference(a: T, b: T): T;
  /** -1 marks the one unknown (batch) dimension. */
  reshape(x: T, shape: number[]): T;
  transpose(x: T, perm: number[]): T;
  expandDims(x: T, axis: number): T;
  concat(xs: T[], axis: number): T;
  mean(x: T, axis: number, keepDims: boolean): T;
  sum(x: T, axis: number, keepDims: boolean): T;
  rsqrt(x: T): T;
  erf(x: T): T;
  tanh(x: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  abs(x: T): T;
  /** Softmax over the last axis. */
  softmax(x: T): T;
  /** Cast(NotEqual(x, 0), float32): 1 where an id is not padding. */
  nonPaddingMask(ids: T): T;
  scalar(value: number): T;
  int32(values: number[]): T;
  /** Identity that gives a tensor its public name (a graph node name; a no-op when eager). */
  named(x: T, name: string): T;
  /**
   * A recurrence over the time axis (axis 1) of `sequences` ([B, L, …] each): states ← step(ops, the sequences'
   * slices at t, states, captures) for t oldest to newest (newest first with `reverse`); returns the last
   * states. Eager: a loop of tfjs ops (differentiable). Graph: a StatelessWhile over the time axis whose cond and
   * body are library functions, as TensorFlow's while_v2 writes a Keras recurrent layer (export/graph-scan.ts),
   * the same `step` written into the body. `captures` are the tensors the step reads besides its inputs (weights).
   */
  scan(spec: ScanSpec<T>): T[];
}

export type ScanSpec<T> = {
  /** Scope of the loop's nodes and functions ("gru", "bilstm/forward"). */
  readonly name: string;
  /** [B, L, …] tensors and the shape of one time step with -1 for the batch ([-1, dim], [-1]). */
  readonly sequences: readonly { readonly tensor: T; readonly stepShape: readonly number[] }[];
  readonly initial: readonly T[];
  readonly captures: readonly T[];
  readonly reverse?: boolean;
  readonly step: <U>(o: Ops<U>, xs: readonly U[], states: readonly U[], captures: readonly U[]) => U[];
};

/**
 * Embedding tables up to this many rows are looked up eagerly as oneHot(ids)·table: tfjs-backend-wasm's GatherV2
 * kernel indexes element by element (≈ 7 ms for [1000, 12] ids into a [100, 16] table, 85% of the student's
 * eager forward pass), while XNNPACK's matmul does the same lookup several times faster, and its gradient is a
 * matmul too (no UnsortedSegmentSum). The values are exact (each output is 1·row + 0·others). Exported graphs keep
 * GatherV2, which the serving loader rewrites to sparse segment ops.
 */
const ONE_HOT_MAX_ROWS = 512;

function lookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  // tf.oneHot's float32 output is wrong on wasm (tfjs 4.22 writes int32 bits), hence int32 then Cast.
  const oneHot = tf.cast(tf.oneHot(tf.reshape(ids, [-1]) as tf.Tensor1D, table.shape[0]!), 'float32');
  return tf.reshape(tf.matMul(oneHot as tf.Tensor2D, table as tf.Tensor2D), [...ids.shape, table.shape[1]!]);
}

export const eagerOps: Ops<tf.Tensor> = {
  gather: (p, i, axis = 0) =>
    axis === 0 && p.rank === 2 && p.shape[0]! <= ONE_HOT_MAX_ROWS && i.dtype === 'int32'
      ? lookup(p, i)
      : tf.gather(p, i, axis),
  matMul: (a, b, tb = false) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, tb),
  batchMatMul: (a, b, adjY = false) => tf.matMul(a, b, false, adjY),
  add: (a, b) => tf.add(a, b),
  sub: (a, b) => tf.sub(a, b),
  mul: (a, b) => tf.mul(a, b),
  div: (a, b) => tf.div(a, b),
  maximum: (a, b) => tf.maximum(a, b),
  squaredDifference: (a, b) => tf.squaredDifference(a, b),
  reshape: (x, shape) => tf.reshape(x, shape),
  transpose: (x, perm) => tf.transpose(x, perm),
  expandDims: (x, axis) => tf.expandDims(x, axis),
  concat: (xs, axis) => tf.concat(xs, axis),
  mean: (x, axis, keep) => tf.mean(x, axis, keep),
  sum: (x, axis, keep) => tf.sum(x, axis, keep),
  rsqrt: (x) => tf.rsqrt(x),
  erf: (x) => tf.erf(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  relu: (x) => tf.relu(x),
  abs: (x) => tf.abs(x),
  softmax: (x) => tf.softmax(x),
  nonPaddingMask: (ids) => tf.cast(tf.notEqual(ids, tf.scalar(0, 'int32')), 'float32'),
  scalar: (v) => tf.scalar(v),
  int32: (v) => tf.tensor1d(v, 'int32'),
  named: (x) => x,
  scan: (spec) => {
    const slices = spec.sequences.map((q) => tf.unstack(q.tensor, 1));
    const L = slices[0]?.length ?? 0;
    let states = [...spec.initial];
    for (let k = 0; k < L; k++) {
      const t = spec.reverse ? L - 1 - k : k;
      states = spec.step(
        eagerOps,
        slices.map((u) => u[t]!),
        states,
        spec.captures,
      );
    }
    return states;
  },
};

/** x·W + b on [rows, in] inputs. */
export function dense<T>(o: Ops<T>, x: T, w: T, b: T): T {
  return o.add(o.matMul(x, w), b);
}

/** LayerNorm over the last axis (ε = 1e-6 as in BERT's TF code is 1e-12; 1e-6 keeps float32 stable). */
export function layerNorm<T>(o: Ops<T>, x: T, gamma: T, beta: T): T {
  // Sub then Mul, not SquaredDifference: tfjs's SquaredDifference gradient does not reduce broadcast shapes.
  const centered = o.sub(x, o.mean(x, -1, true));
  const variance = o.mean(o.mul(centered, centered), -1, true);
  return o.add(o.mul(o.mul(centered, o.rsqrt(o.add(variance, o.scalar(1e-6)))), gamma), beta);
}

/** GELU with erf, as BERT: 0.5·x·(1 + erf(x/√2)). */
export function gelu<T>(o: Ops<T>, x: T): T {
  return o.mul(o.mul(x, o.scalar(0.5)), o.add(o.scalar(1), o.erf(o.mul(x, o.scalar(Math.SQRT1_2)))));
}
