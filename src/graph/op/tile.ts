import * as tf from '@tensorflow/tfjs';
import { stringTensor, type OpKernel } from './kernel-context.ts';

/**
 * Tile (tensorflow/core/ops/array_ops.cc): output dim i = input dim i × multiples[i], the input repeated along
 * each axis. tfjs's wasm Tile has no string kernel (it aborts), and Estimator heads tile their class labels
 * (head/Tile: ["0", "1"] per example), so string inputs are tiled here on the raw bytes; numeric ones go to tf.tile.
 */
export const tile: OpKernel = {
  op: 'Tile',
  run(ctx) {
    const x = ctx.input(0);
    const multiples = Array.from(ctx.intInput(1));
    if (multiples.length !== x.shape.length) {
      throw ctx.invalidArgument(`Expected multiples argument to be a vector of length ${x.shape.length}`);
    }
    if (multiples.some((m) => !Number.isInteger(m) || m < 0)) {
      throw ctx.invalidArgument(`Expected multiples to be non-negative, got [${multiples}]`);
    }
    if (x.dtype !== 'string') return tf.tile(x, multiples);
    const values = ctx.stringInput(0);
    const inShape = x.shape;
    const outShape = inShape.map((d, i) => d * multiples[i]!);
    const size = outShape.reduce((a, b) => a * b, 1);
    const out = new Array<Uint8Array>(size);
    const outStrides = strides(outShape);
    const inStrides = strides(inShape);
    for (let flat = 0; flat < size; flat++) {
      let src = 0;
      let rest = flat;
      for (let d = 0; d < outShape.length; d++) {
        const coord = Math.floor(rest / outStrides[d]!);
        rest -= coord * outStrides[d]!;
        src += (coord % inShape[d]!) * inStrides[d]!;
      }
      out[flat] = values[src]!;
    }
    return stringTensor(out, outShape);
  },
};

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}
