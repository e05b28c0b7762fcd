import * as tf from '@tensorflow/tfjs';
import { CtrError } from '../../errors/registry.ts';
import { stringBytes, stringTensor, type KernelContext, type OpKernel } from './kernel-context.ts';

/**
 * SparseToDense (tensorflow/core/kernels/sparse_to_dense_op.cc), written here instead of tfjs's wasm scatter,
 * which writes wherever an index points: every index is checked against output_shape first ("indices[i] = [..]
 * is out of bounds"), and with validate_indices (the default) indices must be in strictly increasing row-major
 * order ("is repeated", "is out of order"). sparse_values is a scalar (broadcast) or one value per index.
 */
export const sparseToDense: OpKernel = {
  op: 'SparseToDense',
  run(ctx) {
    const idxT = ctx.input(0);
    const shape = Array.from(ctx.intInput(1));
    const valuesT = ctx.input(2);
    const dflt = ctx.input(3);
    if (shape.some((d) => d < 0)) throw ctx.invalidArgument(`output_shape [${shape}] has a negative dim`);
    const rank = shape.length;
    const n = idxT.rank === 0 ? 1 : idxT.shape[0]!;
    const idxRank = idxT.rank === 2 ? idxT.shape[1]! : 1;
    if (idxT.rank > 2 || idxRank !== rank) {
      throw ctx.invalidArgument(`sparse_indices of shape [${idxT.shape}] do not index a rank-${rank} output`);
    }
    if (valuesT.size !== 1 && valuesT.size !== n) {
      throw ctx.invalidArgument(`sparse_values has ${valuesT.size} values for ${n} indices`);
    }
    if (dflt.size !== 1) throw ctx.invalidArgument('default_value must be a scalar');
    const offsets = flatOffsets(ctx, ctx.intInput(0), n, shape, ctx.attrBool('validate_indices', true));
    const size = shape.reduce((a, b) => a * b, 1);
    if (valuesT.dtype === 'string') {
      const vals = stringBytes(valuesT);
      const out = new Array<Uint8Array>(size).fill(stringBytes(dflt)[0]!);
      offsets.forEach((o, i) => (out[o] = vals[vals.length === 1 ? 0 : i]!));
      return stringTensor(out, shape);
    }
    const vals = valuesT.dataSync();
    const out = valuesT.dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
    out.fill(dflt.dataSync()[0] as number);
    offsets.forEach((o, i) => (out[o] = vals[vals.length === 1 ? 0 : i] as number));
    return tf.tensor(out, shape, valuesT.dtype === 'bool' ? 'bool' : valuesT.dtype);
  },
};

/** Row-major offsets of the indices, each checked against `shape` (and for order when `ordered`). */
function flatOffsets(ctx: KernelContext, idx: Int32Array, n: number, shape: number[], ordered: boolean) {
  const rank = shape.length;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) {
      const v = idx[i * rank + d]!;
      if (v < 0 || v >= shape[d]!) {
        const at = Array.from(idx.subarray(i * rank, i * rank + rank));
        throw new CtrError(
          'CTR_ERR_INDEX_OUT_OF_RANGE',
          `${ctx.op} node ${ctx.name}: indices[${i}] = [${at}] is out of bounds: need 0 <= index < [${shape}]`,
        );
      }
      o = o * shape[d]! + v;
    }
    if (ordered && i > 0 && o <= out[i - 1]!) {
      throw ctx.invalidArgument(`indices[${i}] is ${o === out[i - 1] ? 'repeated' : 'out of order'}`);
    }
    out[i] = o;
  }
  return out;
}
