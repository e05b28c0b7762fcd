import * as tf from '@tensorflow/tfjs';
import type { OpKernel } from './kernel-context.ts';

/**
 * Bucketize (tensorflow/core/kernels/bucketize_op.cc): each value's bucket index, the number of boundaries <= it
 * (std::upper_bound), so boundaries [0, 10, 100] put -5 → 0, 0 → 1, 50 → 2, 150 → 3. Boundaries must be sorted
 * (TensorFlow's op refuses unsorted ones at graph construction: CTR_ERR_INVALID_GRAPH here). Output int32.
 */
export const bucketize: OpKernel = {
  op: 'Bucketize',
  run(ctx) {
    const x = ctx.input(0);
    const boundaries = ctx.attrFloats('boundaries');
    for (let i = 1; i < boundaries.length; i++) {
      if (!(boundaries[i - 1]! <= boundaries[i]!)) throw ctx.invalidGraph('has unsorted boundaries');
    }
    const values = x.dataSync();
    const out = new Int32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      let lo = 0;
      let hi = boundaries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (boundaries[mid]! <= v) lo = mid + 1;
        else hi = mid;
      }
      out[i] = lo;
    }
    return tf.tensor(out, x.shape, 'int32');
  },
};
