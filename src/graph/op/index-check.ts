import { CtrError } from '../../errors/registry.ts';
import type { KernelContext } from './kernel-context.ts';

/**
 * TensorFlow's SliceDebugString (tensorflow/core/framework/tensor_shape.cc): the multi-index of element `flat` of
 * a row-major tensor of `shape`, "" for a scalar, "[i]" for a vector, "[i,j]" beyond.
 */
export function sliceDebugString(shape: readonly number[], flat: number): string {
  if (shape.length === 0) return '';
  const at = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    at[d] = n > 0 ? flat % n : 0;
    flat = n > 0 ? Math.floor(flat / n) : 0;
  }
  return `[${at.join(',')}]`;
}

/** TensorShape::DebugString: "[3,2]". */
export const shapeDebugString = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/**
 * Every value of `indices` (of `shape`) must lie in [0, limit), else CTR_ERR_INDEX_OUT_OF_RANGE in the words of
 * TensorFlow's gather (tensorflow/core/kernels/gather_op.cc): "indices[1,0] = 150 is not in [0, 100)".
 */
export function checkIndices(
  ctx: KernelContext,
  indices: Int32Array,
  shape: readonly number[],
  limit: number,
): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (v >= 0 && v < limit) continue;
    throw new CtrError(
      'CTR_ERR_INDEX_OUT_OF_RANGE',
      `${ctx.op} node ${ctx.name}: indices${sliceDebugString(shape, i)} = ${v} is not in [0, ${limit})`,
    );
  }
}

/**
 * Rows of an N-d index (the last dim of `shape` is their length K): component j of every row must lie in
 * [0, into[j]), else CTR_ERR_INDEX_OUT_OF_RANGE in the words of TensorFlow's gather_nd / scatter_nd functors
 * (gather_nd_op.h: "indices[1] = [5, 0] does not index into param shape [3,2]"; scatter_nd_op.cc: "... does not
 * index into shape [4]").
 */
export function checkIndexRows(
  ctx: KernelContext,
  indices: Int32Array,
  shape: readonly number[],
  into: readonly number[],
  what: 'param shape' | 'shape',
): void {
  const k = shape[shape.length - 1] ?? 0;
  const rows = k === 0 ? 0 : indices.length / k;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      const v = indices[r * k + j]!;
      if (v >= 0 && v < into[j]!) continue;
      const row = Array.from(indices.subarray(r * k, (r + 1) * k)).join(', ');
      throw new CtrError(
        'CTR_ERR_INDEX_OUT_OF_RANGE',
        `${ctx.op} node ${ctx.name}: indices${sliceDebugString(shape.slice(0, -1), r)} = [${row}] ` +
          `does not index into ${what} ${shapeDebugString(into)}`,
      );
    }
  }
}
