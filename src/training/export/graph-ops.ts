import type { GraphBuilder } from '../../graph/builder/graph-builder.ts';
import type { Ops } from '../model/ops.ts';
import { emitScan } from './graph-scan.ts';

/**
 * `Ops` over tensor names: each call adds the TensorFlow node(s) TensorFlow itself would write for the op to a
 * GraphBuilder (src/graph/builder) and returns the output tensor name ("teacher/layer_0/MatMul:0"). The model
 * code that trained is run once with these ops to emit its forward graph, so export cannot drift from training.
 * Node names are scoped by `prefix` ("teacher/", "student/") so two models live in one graph.
 */
export function graphOps(b: GraphBuilder, prefix: string): Ops<string> {
  const n = (op: string) => ({ name: `${prefix}${op}` });
  return {
    gather: (p, i, axis = 0) => b.gatherV2(p, i, axis, n('GatherV2')),
    matMul: (a, x, tb = false) => b.matMul(a, x, { ...n('MatMul'), transposeB: tb }),
    batchMatMul: (a, x, adjY = false) => b.batchMatMulV2(a, x, { ...n('BatchMatMulV2'), adjY }),
    add: (a, x) => b.addV2(a, x, n('add')),
    sub: (a, x) => b.sub(a, x, n('sub')),
    mul: (a, x) => b.mul(a, x, n('mul')),
    div: (a, x) => b.realDiv(a, x, n('truediv')),
    maximum: (a, x) => b.maximum(a, x, n('Maximum')),
    squaredDifference: (a, x) => b.squaredDifference(a, x, n('SquaredDifference')),
    reshape: (x, shape) => b.reshape(x, shape, n('Reshape')),
    transpose: (x, perm) => b.transpose(x, perm, n('transpose')),
    expandDims: (x, axis) => b.expandDims(x, axis, n('ExpandDims')),
    concat: (xs, axis) => b.concatV2(xs, axis, n('concat')),
    mean: (x, axis, keepDims) => b.mean(x, axis, { ...n('Mean'), keepDims }),
    sum: (x, axis, keepDims) => b.sum(x, axis, { ...n('Sum'), keepDims }),
    rsqrt: (x) => b.rsqrt(x, n('Rsqrt')),
    erf: (x) => b.erf(x, n('Erf')),
    tanh: (x) => b.tanh(x, n('Tanh')),
    sigmoid: (x) => b.sigmoid(x, n('Sigmoid')),
    relu: (x) => b.relu(x, n('Relu')),
    abs: (x) => b.abs(x, n('Abs')),
    softmax: (x) => b.softmax(x, n('Softmax')),
    nonPaddingMask: (ids) =>
      b.cast(
        b.notEqual(ids, b.constant('DT_INT32', [], [0], n('zero')), n('NotEqual')),
        'DT_FLOAT',
        n('Cast'),
      ),
    scalar: (v) => b.constant('DT_FLOAT', [], [v], n('Const')),
    int32: (v) => b.constant('DT_INT32', [v.length], v, n('Const')),
    named: (x, name) => b.identity(x, { name }),
    scan: (spec) => emitScan(b, prefix, spec, graphOps),
  };
}
