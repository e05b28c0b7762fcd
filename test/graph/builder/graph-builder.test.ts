import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { DataType } from '../../../src/graph/proto/types.ts';
import {
  readVariableOp,
  resourceGather,
  varHandleOp,
  variableV2,
} from '../../../src/graph/builder/variable-ops.ts';

test('writes the attrs TensorFlow writes for MatMul, BiasAdd, GatherV2, Mean and ConcatV2', () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1, 4]);
  const table = g.constant('DT_FLOAT', [3, 2], new Float32Array([0, 0, 1, 2, 3, 4]), { name: 'table' });
  const pooled = g.mean(g.gatherV2(table, ids), 1);
  const x = g.concatV2([pooled, pooled], 1);
  const w = g.constant('DT_FLOAT', [4, 1], [1, 2, 3, 4]);
  const b = g.constant('DT_FLOAT', [1], [0.5]);
  const y = g.biasAdd(g.matMul(x, w), b);
  assert.equal(y, 'BiasAdd:0');
  const nodes = new Map(g.toGraphDef().node.map((n) => [n.name, n]));

  assert.deepEqual(nodes.get('ids')!.attr.shape.shape, {
    dim: [{ size: -1 }, { size: 4 }],
    unknownRank: false,
  });
  const gather = nodes.get('GatherV2')!;
  assert.deepEqual(gather.input, ['table', 'ids', 'GatherV2/axis']);
  assert.equal(gather.attr.Tparams.type, DataType.DT_FLOAT);
  assert.equal(gather.attr.Tindices.type, DataType.DT_INT32);
  assert.equal(gather.attr.batch_dims.i, 0);
  assert.equal(nodes.get('Mean')!.attr.keep_dims.b, false);
  assert.deepEqual(nodes.get('Mean')!.input, ['GatherV2', 'Mean/reduction_indices']);
  assert.equal(nodes.get('concat')!.attr.N.i, 2);
  assert.equal(nodes.get('MatMul')!.attr.transpose_a.b, false);
  assert.equal(new TextDecoder().decode(nodes.get('BiasAdd')!.attr.data_format.s), 'NHWC');
  // tensor_content for more than one element, float_val for one, as make_tensor_proto does
  assert.equal(nodes.get('table')!.attr.value.tensor!.tensorContent!.byteLength, 24);
  assert.deepEqual(nodes.get('Const_1')!.attr.value.tensor!.floatVal, [0.5]);
});

test('makes node names unique the way TensorFlow does', () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [2]);
  assert.equal(g.relu(x), 'Relu:0');
  assert.equal(g.relu(x), 'Relu_1:0');
  assert.equal(g.sum(x, 0), 'Sum:0');
  assert.equal(g.sum(x, 0), 'Sum_1:0');
  assert.ok(g.toGraphDef().node.some((n) => n.name === 'Sum_1/reduction_indices'));
});

test('writes TF1 and TF2 variables with their reads', () => {
  const g = new GraphBuilder();
  const read = variableV2(g, 'w', 'DT_FLOAT', [2]);
  assert.equal(read, 'w/read:0');
  const h = varHandleOp(g, 'v', 'DT_FLOAT', [3, 2]);
  const ids = g.placeholder('ids', 'DT_INT32', [-1]);
  assert.equal(g.dtypeOf(resourceGather(g, h, ids, 'DT_FLOAT')), DataType.DT_FLOAT);
  assert.equal(g.dtypeOf(readVariableOp(g, h, 'DT_FLOAT')), DataType.DT_FLOAT);
  const nodes = new Map(g.toGraphDef().node.map((n) => [n.name, n]));
  assert.equal(nodes.get('w')!.op, 'VariableV2');
  assert.equal(new TextDecoder().decode(nodes.get('v')!.attr.shared_name.s), 'v');
  assert.equal(nodes.get('w/read')!.attr.T.type, DataType.DT_FLOAT);
});

test('refuses a constant whose value count does not match its shape', () => {
  const g = new GraphBuilder();
  assert.throws(() => g.constant('DT_FLOAT', [2, 2], [1, 2, 3]), { code: 'CTR_ERR_INVALID_GRAPH' });
});
