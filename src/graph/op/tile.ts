import * as tf from '@tensorflow/tfjs';
import { stringBytes, stringTensor, type OpKernel } from './kernel-context.ts';

/**
 * Tile (tensorflow/core/kernels/tile_ops.cc): output dim i = input dim i × multiples[i]. tfjs-backend-wasm's
 * Tile aborts the process on string tensors (which Estimator heads tile for `all_classes`), so strings are tiled
 * here on their bytes; every other dtype runs on tfjs's kernel. multiples must match the rank and be >= 0.
 */
export const tile: OpKernel = {
  op: 'Tile',
  run(ctx) {
    const x = ctx.input(0);
    const reps = Array.from(ctx.intInput(1));
    if (reps.length !== x.rank)
      throw ctx.invalidArgument(`multiples has ${reps.length} values for rank ${x.rank}`);
    if (reps.some((r) => r < 0)) throw ctx.invalidArgument(`multiples [${reps}] has a negative value`);
    if (x.dtype !== 'string') return tf.tile(x, reps);
    const src = stringBytes(x);
    const shape = x.shape.map((d, i) => d * reps[i]!);
    const size = shape.reduce((a, b) => a * b, 1);
    const out = new Array<Uint8Array>(size);
    const inStrides = strides(x.shape);
    const outStrides = strides(shape);
    for (let k = 0; k < size; k++) {
      let rest = k;
      let from = 0;
      for (let d = 0; d < shape.length; d++) {
        const c = Math.floor(rest / outStrides[d]!);
        rest -= c * outStrides[d]!;
        from += (c % x.shape[d]!) * inStrides[d]!;
      }
      out[k] = src[from]!;
    }
    return stringTensor(out, shape);
  },
};

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = s;
    s *= shape[d]!;
  }
  return out;
}
