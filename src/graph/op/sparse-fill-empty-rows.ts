import * as tf from '@tensorflow/tfjs';
import { CtrError } from '../../errors/registry.ts';
import { stringBytes, stringTensor, type OpKernel } from './kernel-context.ts';

/**
 * SparseFillEmptyRows (tensorflow/core/kernels/sparse_fill_empty_rows_op.cc), in host code so that no row index
 * reaches a wasm kernel unchecked: each row must lie in [0, dense_shape[0]) ("indices(i, 0) is invalid"); rows
 * with no entry get one at [row, 0, ...] holding default_value. Outputs: output_indices, output_values (entries
 * grouped by row, rows in order, input order kept within a row), empty_row_indicator, reverse_index_map.
 */
export const sparseFillEmptyRows: OpKernel = {
  op: 'SparseFillEmptyRows',
  run(ctx) {
    const indicesT = ctx.input(0);
    const valuesT = ctx.input(1);
    const denseShape = ctx.intInput(2);
    const dflt = ctx.input(3);
    if (indicesT.rank !== 2)
      throw ctx.invalidArgument(`indices must be a matrix, has shape [${indicesT.shape}]`);
    const [n, rank] = indicesT.shape as [number, number];
    if (valuesT.rank !== 1 || valuesT.size !== n)
      throw ctx.invalidArgument(`values must be a vector of ${n}`);
    if (denseShape.length !== rank || rank < 1)
      throw ctx.invalidArgument(`dense_shape must have ${rank} dims`);
    if (dflt.size !== 1) throw ctx.invalidArgument('default_value must be a scalar');
    const denseRows = denseShape[0]!;
    if (denseRows < 0) throw ctx.invalidArgument(`dense_shape[0] = ${denseRows} is negative`);
    const indices = ctx.intInput(0);
    const counts = new Int32Array(denseRows);
    for (let i = 0; i < n; i++) {
      const row = indices[i * rank]!;
      if (row < 0 || row >= denseRows) {
        throw new CtrError(
          'CTR_ERR_INDEX_OUT_OF_RANGE',
          `${ctx.op} node ${ctx.name}: indices(${i}, 0) = ${row} is invalid: not in [0, ${denseRows})`,
        );
      }
      counts[row]! += 1;
    }
    const start = new Int32Array(denseRows + 1);
    for (let r = 0; r < denseRows; r++) start[r + 1] = start[r]! + Math.max(counts[r]!, 1);
    const total = start[denseRows]!;
    const outIndices = new Int32Array(total * rank);
    const reverse = new Int32Array(n);
    const empty = new Uint8Array(denseRows);
    const filled = new Int32Array(denseRows);
    const source = new Int32Array(total).fill(-1);
    for (let i = 0; i < n; i++) {
      const row = indices[i * rank]!;
      const at = start[row]! + filled[row]!++;
      outIndices.set(indices.subarray(i * rank, i * rank + rank), at * rank);
      reverse[i] = at;
      source[at] = i;
    }
    for (let r = 0; r < denseRows; r++) {
      if (counts[r] === 0) {
        empty[r] = 1;
        outIndices[start[r]! * rank] = r;
      }
    }
    return [
      tf.tensor(outIndices, [total, rank], 'int32'),
      pick(valuesT, dflt, source),
      tf.tensor(empty, [denseRows], 'bool'),
      tf.tensor(reverse, [n], 'int32'),
    ];
  },
};

/** values[source[k]], or the default where source[k] is -1. */
function pick(values: tf.Tensor, dflt: tf.Tensor, source: Int32Array): tf.Tensor {
  if (values.dtype === 'string') {
    const v = stringBytes(values);
    const d = stringBytes(dflt)[0]!;
    return stringTensor(
      Array.from(source, (s) => (s < 0 ? d : v[s]!)),
      [source.length],
    );
  }
  const v = values.dataSync();
  const d = dflt.dataSync()[0] as number;
  const out = values.dtype === 'float32' ? new Float32Array(source.length) : new Int32Array(source.length);
  source.forEach((s, k) => (out[k] = s < 0 ? d : (v[s] as number)));
  return tf.tensor(out, [source.length], values.dtype);
}
