import * as tf from '@tensorflow/tfjs-core';
import { checkIndices } from './index-check.ts';
import { stringBytes, stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';

/**
 * Set at load time (../guard/mark-proven-gathers.ts) on a gather whose indices the request's index guards already
 * bound: the rows of the axis the proof assumed. The kernel then skips its own check when the table it is given
 * has exactly that many rows (any other size is checked as if the attr were absent).
 */
export const INDICES_PROVEN_ATTR = '_ctr_indices_proven';

/**
 * GatherV2, Gather (TF1: axis 0) and ResourceGather of a frozen variable (axis = batch_dims), as TensorFlow's
 * GatherOp (tensorflow/core/kernels/gather_op.cc): params, axis and batch_dims validated as there, then every
 * index checked against the gathered axis before tfjs's kernel runs ("indices[1] = 150 is not in [0, 100)",
 * CTR_ERR_INDEX_OUT_OF_RANGE), unless the load-time proof covers it (INDICES_PROVEN_ATTR). tfjs-backend-wasm's
 * Gather reads wherever an index points; string params are gathered here on their bytes.
 */
const gatherKernel = (op: 'GatherV2' | 'Gather' | 'ResourceGather'): OpKernel => ({
  op,
  run(ctx) {
    const params = ctx.input(0);
    const indices = ctx.input(1);
    if (params.rank < 1) throw ctx.invalidArgument('params must be at least 1 dimensional');
    const { axis, batchDims } = gatherAxes(ctx, params.shape, indices.shape);
    const limit = params.shape[axis]!;
    const proven = ctx.has(INDICES_PROVEN_ATTR) && ctx.attrInt(INDICES_PROVEN_ATTR) === limit;
    const idx = proven && params.dtype !== 'string' ? undefined : ctx.intInput(1);
    if (idx && !proven) checkIndices(ctx, idx, indices.shape, limit);
    if (idx && params.dtype === 'string') return gatherStrings(params, idx, indices.shape, axis, batchDims);
    if (idx && batchDims > 0) return gatherBatched(params, idx, indices.shape, axis, batchDims);
    return tf.gather(params, indices, axis, batchDims);
  },
});

/** The gathered axis and batch_dims, resolved and checked as GatherOp::Compute does. */
function gatherAxes(ctx: KernelContext, paramsShape: readonly number[], indicesShape: readonly number[]) {
  const rank = paramsShape.length;
  const given = ctx.op === 'GatherV2' ? ctx.intScalar(2) : undefined;
  let batchDims = ctx.op === 'Gather' ? 0 : ctx.attrInt('batch_dims', 0);
  let axis = given ?? 0;
  const minRank = axis < 0 ? -axis : axis + 1;
  if (rank < minRank) throw ctx.invalidArgument(`Shape must be at least rank ${minRank} but is rank ${rank}`);
  if (axis < 0) axis += rank;
  if (batchDims !== 0) {
    const r = indicesShape.length;
    if (batchDims < -r || batchDims > r) {
      throw ctx.invalidArgument(`Expected batch_dims in the range [${-r}, ${r}], but got ${batchDims}`);
    }
    if (batchDims < 0) batchDims += r;
    if (given === undefined) axis = batchDims;
    if (batchDims >= rank) {
      throw ctx.invalidArgument(`batch_dims (${batchDims}) must be less than rank(params) (${rank}).`);
    }
    if (axis < batchDims) {
      throw ctx.invalidArgument(`batch_dims (${batchDims}) must be less than or equal to axis (${axis}).`);
    }
    for (let i = 0; i < batchDims; i++) {
      if (paramsShape[i] !== indicesShape[i]) {
        throw ctx.invalidArgument(
          `params.shape[${i}]: ${paramsShape[i]} should be equal to indices.shape[${i}]: ${indicesShape[i]}`,
        );
      }
    }
  }
  return { axis, batchDims };
}

/** The sizes of a batched gather: params seen as [batch, outer, rows, inner], `per` indices per batch. */
function gatherSizes(shape: readonly number[], count: number, axis: number, batchDims: number) {
  const prod = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  const batch = prod(shape.slice(0, batchDims));
  return {
    batch,
    outer: prod(shape.slice(batchDims, axis)),
    rows: shape[axis]!,
    inner: prod(shape.slice(axis + 1)),
    per: batch > 0 ? count / batch : 0,
  };
}

const outputShape = (p: readonly number[], i: readonly number[], axis: number, batchDims: number) => [
  ...p.slice(0, axis),
  ...i.slice(batchDims),
  ...p.slice(axis + 1),
];

/**
 * batch_dims > 0 as a plain gather of rows of params seen as [batch·outer·rows, inner]: tfjs-backend-wasm 4.22's
 * Gather reads the index of batch b at b·batch_size instead of b·(indices per batch) (kernels/Gather.cc), which
 * is wrong, and reads past the indices whenever the two differ.
 */
function gatherBatched(
  params: tf.Tensor,
  idx: Int32Array,
  indicesShape: readonly number[],
  axis: number,
  batchDims: number,
): tf.Tensor {
  const { batch, outer, rows, inner, per } = gatherSizes(params.shape, idx.length, axis, batchDims);
  const flat = new Int32Array(batch * outer * per);
  let k = 0;
  for (let b = 0; b < batch; b++)
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < per; i++) flat[k++] = (b * outer + o) * rows + idx[b * per + i]!;
  const shape = outputShape(params.shape, indicesShape, axis, batchDims);
  return tf.tidy(() =>
    tf.reshape(
      tf.gather(tf.reshape(params, [batch * outer * rows, inner]), tf.tensor1d(flat, 'int32')),
      shape,
    ),
  );
}

/** tf.gather's output for string params, on their bytes (indices already checked). */
function gatherStrings(
  params: tf.Tensor,
  idx: Int32Array,
  indicesShape: readonly number[],
  axis: number,
  batchDims: number,
): tf.Tensor {
  const src = stringBytes(params);
  const { batch, outer, rows, inner, per } = gatherSizes(params.shape, idx.length, axis, batchDims);
  const out: Uint8Array[] = [];
  for (let b = 0; b < batch; b++)
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < per; i++) {
        const from = ((b * outer + o) * rows + idx[b * per + i]!) * inner;
        for (let s = 0; s < inner; s++) out.push(src[from + s]!);
      }
  const shape = outputShape(params.shape, indicesShape, axis, batchDims);
  return stringTensor(out, shape);
}

export const GATHER_KERNELS: readonly OpKernel[] = [
  gatherKernel('GatherV2'),
  gatherKernel('Gather'),
  gatherKernel('ResourceGather'),
];
