import * as tf from '@tensorflow/tfjs-core';
import { checkIndexRows, shapeDebugString } from './index-check.ts';
import { stringBytes, stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';

/**
 * GatherNd (tensorflow/core/kernels/gather_nd_op.cc): each row of the last dim of indices addresses a slice of
 * params. tfjs-backend-wasm's GatherNd adds row × stride to the table's address without any check, so every row
 * is checked first ("indices[1] = [5, 0] does not index into param shape [3,2]", CTR_ERR_INDEX_OUT_OF_RANGE).
 * String params are gathered here on their bytes.
 */
const gatherNd: OpKernel = {
  op: 'GatherNd',
  run(ctx) {
    const params = ctx.input(0);
    const indices = ctx.input(1);
    if (params.rank < 1) throw ctx.invalidArgument('params must be at least a vector');
    if (indices.rank < 1) throw ctx.invalidArgument('indices must be at least a vector');
    const k = indices.shape[indices.rank - 1]!;
    if (k > params.rank) {
      throw ctx.invalidArgument(
        `index innermost dimension length must be <= params rank; saw: ${k} vs. ${params.rank}`,
      );
    }
    const idx = ctx.intInput(1);
    checkIndexRows(ctx, idx, indices.shape, params.shape, 'param shape');
    const rows = indices.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const outShape = [...indices.shape.slice(0, -1), ...params.shape.slice(k)];
    if (params.dtype === 'string') return gatherStringSlices(params, idx, k, rows, outShape);
    if (rows === 0 || k === 0) return tf.tidy(() => emptyOrTiled(params, rows, outShape));
    return tf.gatherND(params, indices);
  },
};

/** k = 0 takes all of params per row; no rows gives an empty output (tfjs refuses both shapes). */
function emptyOrTiled(params: tf.Tensor, rows: number, outShape: number[]): tf.Tensor {
  if (rows === 0) return tf.zeros(outShape, params.dtype);
  return tf.reshape(tf.tile(tf.expandDims(params, 0), [rows, ...params.shape.map(() => 1)]), outShape);
}

function gatherStringSlices(
  params: tf.Tensor,
  idx: Int32Array,
  k: number,
  rows: number,
  outShape: number[],
): tf.Tensor {
  const src = stringBytes(params);
  const slice = params.shape.slice(k).reduce((a, b) => a * b, 1);
  const out: Uint8Array[] = [];
  for (let r = 0; r < rows; r++) {
    let at = 0;
    for (let j = 0; j < k; j++) at = at * params.shape[j]! + idx[r * k + j]!;
    for (let s = 0; s < slice; s++) out.push(src[at * slice + s]!);
  }
  return stringTensor(out, outShape);
}

/**
 * ScatterNd and TensorScatterUpdate (tensorflow/core/kernels/scatter_nd_op.cc): tfjs-backend-wasm's scatter
 * writes each update at row × stride of the output without any check, so every row of indices is checked against
 * the output's shape first ("indices[0] = [5] does not index into shape [4]", CTR_ERR_INDEX_OUT_OF_RANGE), and
 * updates must have the shape indices.shape[:-1] + shape[K:].
 */
const scatterKernel = (op: 'ScatterNd' | 'TensorScatterUpdate'): OpKernel => ({
  op,
  run(ctx) {
    const [iIndices, iUpdates] = op === 'ScatterNd' ? [0, 1] : [1, 2];
    const indices = ctx.input(iIndices);
    const updates = ctx.input(iUpdates);
    const shape = op === 'ScatterNd' ? Array.from(ctx.intInput(2)) : ctx.input(0).shape;
    if (shape.some((d) => d < 0))
      throw ctx.invalidArgument(`shape ${shapeDebugString(shape)} has a negative dim`);
    checkScatterShapes(ctx, indices.shape, updates.shape, shape);
    checkIndexRows(ctx, ctx.intInput(iIndices), indices.shape, shape, 'shape');
    if (op === 'TensorScatterUpdate') return tf.tensorScatterUpdate(ctx.input(0), indices, updates);
    return tf.scatterND(indices, updates, shape);
  },
});

function checkScatterShapes(
  ctx: KernelContext,
  indices: readonly number[],
  updates: readonly number[],
  shape: readonly number[],
): void {
  if (indices.length < 1) throw ctx.invalidArgument('indices must be at least a vector');
  const k = indices[indices.length - 1]!;
  if (k < 1 || k > shape.length) {
    throw ctx.invalidArgument(`indices.shape[-1] = ${k} must be in [1, ${shape.length}] (the rank of shape)`);
  }
  const want = [...indices.slice(0, -1), ...shape.slice(k)];
  if (want.length !== updates.length || want.some((d, i) => d !== updates[i])) {
    throw ctx.invalidArgument(
      `updates has shape ${shapeDebugString(updates)}; indices ${shapeDebugString(indices)} into shape ` +
        `${shapeDebugString(shape)} need ${shapeDebugString(want)}`,
    );
  }
}

export const ND_KERNELS: readonly OpKernel[] = [
  gatherNd,
  scatterKernel('ScatterNd'),
  scatterKernel('TensorScatterUpdate'),
];
