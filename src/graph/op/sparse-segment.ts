import * as tf from '@tensorflow/tfjs-core';
import { CtrError } from '../../errors/registry.ts';
import type { OpKernel } from './kernel-context.ts';

type Reduction = 'Sum' | 'Mean' | 'SqrtN';

/**
 * SparseSegmentSum / Mean / SqrtN and their WithNumSegments forms (tensorflow/core/kernels/
 * segment_reduction_ops_impl.h): out[s] = reduce of data[indices[j]] over the j with segment_ids[j] = s. Before
 * tfjs's (wasm) kernel sees them, every index is checked against data's rows ("indices[j] = x is out of range"),
 * segment ids must be non-negative and sorted, and below num_segments when given. Sum and Mean then run on
 * tfjs's kernel; SqrtN is the sum divided by √count (tfjs has no SqrtN); WithNumSegments pads empty trailing
 * segments with zeros, as TensorFlow's output has num_segments rows.
 */
const segmentKernel = (reduction: Reduction, withNum: boolean): OpKernel => ({
  op: `SparseSegment${reduction}${withNum ? 'WithNumSegments' : ''}`,
  run(ctx) {
    const data = ctx.input(0);
    const indices = ctx.intInput(1);
    const segments = ctx.intInput(2);
    if (indices.length !== segments.length) {
      throw ctx.invalidArgument(`has ${indices.length} indices and ${segments.length} segment ids`);
    }
    const rows = data.shape[0] ?? 0;
    const counts = checkSegments(ctx, indices, segments, rows, withNum ? ctx.intScalar(3) : undefined);
    const numSegments = withNum ? ctx.intScalar(3) : counts.length;
    return tf.tidy(() => {
      const idx = ctx.input(1) as tf.Tensor1D;
      const seg = ctx.input(2) as tf.Tensor1D;
      let out =
        reduction === 'Mean'
          ? tf.sparse.sparseSegmentMean(data, idx, seg)
          : tf.sparse.sparseSegmentSum(data, idx, seg);
      if (reduction === 'SqrtN') {
        const scale = Float32Array.from(counts, (c) => (c > 0 ? 1 / Math.sqrt(c) : 0));
        out = tf.mul(out, tf.tensor(scale, [counts.length, ...data.shape.slice(1).map(() => 1)]));
      }
      if (numSegments > counts.length) {
        out = tf.pad(out, [
          [0, numSegments - counts.length],
          ...data.shape.slice(1).map(() => [0, 0] as [number, number]),
        ]);
      }
      return out;
    });
  },
});

/**
 * Checks indices and segment ids as the kernels above do before tfjs's kernel runs (the direct executor,
 * ../tfjs/direct-ops.ts, calls it too); returns each segment's count up to the last segment id.
 */
export function checkSegments(
  ctx: { readonly op: string; readonly name: string },
  indices: Int32Array,
  segments: Int32Array,
  rows: number,
  num?: number,
) {
  if (num !== undefined && num < 0) {
    throw new CtrError(
      'CTR_ERR_INVALID_ARGUMENT',
      `${ctx.op} node ${ctx.name}: num_segments ${num} is negative`,
    );
  }
  const last = segments.length ? segments[segments.length - 1]! : -1;
  const counts = new Array<number>(last + 1).fill(0);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (i < 0 || i >= rows) {
      throw new CtrError(
        'CTR_ERR_INDEX_OUT_OF_RANGE',
        `${ctx.op} node ${ctx.name}: indices[${j}] = ${i} is out of range [0, ${rows})`,
      );
    }
    const s = segments[j]!;
    if (s < 0 || (j > 0 && s < segments[j - 1]!)) {
      throw new CtrError(
        'CTR_ERR_INVALID_ARGUMENT',
        `${ctx.op} node ${ctx.name}: segment ids are not increasing`,
      );
    }
    if (num !== undefined && s >= num) {
      throw new CtrError(
        'CTR_ERR_INDEX_OUT_OF_RANGE',
        `${ctx.op} node ${ctx.name}: segment id ${s} is out of range [0, ${num})`,
      );
    }
    counts[s]! += 1;
  }
  return counts;
}

export const SEGMENT_KERNELS: readonly OpKernel[] = (['Sum', 'Mean', 'SqrtN'] as const).flatMap((r) => [
  segmentKernel(r, false),
  segmentKernel(r, true),
]);
