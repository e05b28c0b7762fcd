import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { DataType, type GraphDef } from '../../../src/graph/proto/types.ts';
import { foldConstants } from '../../../src/graph/rewrite/fold-constants.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

before(async () => {
  await initBackend('wasm');
});

/** A frozen Keras BatchNormalization after a dense layer: the scale/shift arithmetic is on constants only. */
function batchNormGraph(): GraphDef {
  const next = rng(8);
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, 4]);
  const c = (name: string, scale = 1) => g.constant('DT_FLOAT', [4], randomFloats(next, 4, scale), { name });
  const variance = g.abs(c('moving_variance'));
  const scale = g.mul(g.rsqrt(g.addV2(variance, g.constant('DT_FLOAT', [], [1e-3]))), c('gamma'), {
    name: 'bn/mul',
  });
  const shift = g.sub(c('beta'), g.mul(c('moving_mean'), scale), { name: 'bn/sub' });
  g.identity(g.addV2(g.mul(x, scale), shift), { name: 'y' });
  return g.toGraphDef();
}

test('constant batch-norm arithmetic is computed once and the graph gives the same outputs', async () => {
  const graph = batchNormGraph();
  const folded = foldConstants(graph);
  const ops = folded.node.map((n) => n.op);
  assert.ok(!ops.includes('Rsqrt') && !ops.includes('Sub') && !ops.includes('Abs'));
  assert.equal(folded.node.find((n) => n.name === 'bn/mul')?.op, 'Const', 'folded nodes keep their names');
  assert.equal(folded.node.find((n) => n.name === 'bn/sub')?.op, 'Const');
  assert.ok(!folded.node.some((n) => n.name === 'moving_variance'), 'inputs only the fold read are pruned');
  const before = tf.memory().numTensors;
  for (const batch of [1, 7]) {
    const feeds = { x: { values: randomFloats(rng(batch), batch * 4, 5), shape: [batch, 4] } };
    const [want] = await runGraph(graph, feeds, ['y']);
    const [got] = await runGraph(folded, feeds, ['y']);
    assertClose(got, want, 1e-6, 1e-7);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('an int64 shape computed from constants folds into an int64 Const of the same value', () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, 6]);
  const dims = g.constant('DT_INT64', [2], [2n, 3n], { name: 'dims' });
  const shape = g.op(
    'Pack',
    [
      g.constant('DT_INT64', [], [-1n]),
      g.op(
        'Prod',
        [dims, g.constant('DT_INT32', [], [0])],
        { T: { type: DataType.DT_INT64 }, Tidx: { type: DataType.DT_INT32 }, keep_dims: { b: false } },
        { name: 'width', outDtypes: [DataType.DT_INT64] },
      )[0],
    ],
    { T: { type: DataType.DT_INT64 }, N: { i: 2 }, axis: { i: 0 } },
    { name: 'shape', outDtypes: [DataType.DT_INT64] },
  )[0];
  g.reshape(x, shape, { name: 'y' });
  const folded = foldConstants(g.toGraphDef());
  const node = folded.node.find((n) => n.name === 'shape');
  assert.equal(node?.op, 'Const');
  const t = node?.attr.value?.tensor;
  assert.equal(t?.dtype, DataType.DT_INT64);
  const bytes = t!.tensorContent!;
  assert.deepEqual(Array.from(new BigInt64Array(bytes.slice().buffer)), [-1n, 6n]);
});

test('random ops, PlaceholderWithDefault and nodes read at output 1 are not folded', () => {
  const g = new GraphBuilder();
  const shape = g.constant('DT_INT32', [1], [3], { name: 'shape' });
  g.op(
    'RandomUniform',
    [shape],
    { T: { type: DataType.DT_INT32 }, dtype: { type: DataType.DT_FLOAT }, seed: { i: 1 }, seed2: { i: 2 } },
    { name: 'noise', outDtypes: [DataType.DT_FLOAT] },
  );
  const d = g.op(
    'PlaceholderWithDefault',
    [g.constant('DT_FLOAT', [], [1])],
    { dtype: { type: DataType.DT_FLOAT }, shape: { shape: { dim: [], unknownRank: false } } },
    { name: 'rate', outDtypes: [DataType.DT_FLOAT] },
  )[0];
  g.identity(d, { name: 'rate_out' });
  const split = g.op(
    'Unpack',
    [g.constant('DT_FLOAT', [2], [1, 2])],
    { T: { type: DataType.DT_FLOAT }, num: { i: 2 }, axis: { i: 0 } },
    { name: 'halves', outDtypes: [DataType.DT_FLOAT, DataType.DT_FLOAT] },
  );
  g.identity(split[1]!, { name: 'second' });
  const graph = g.toGraphDef();
  const folded = foldConstants(graph);
  for (const name of ['noise', 'rate', 'rate_out', 'halves']) {
    assert.notEqual(folded.node.find((n) => n.name === name)?.op, 'Const', name);
  }
});

test('a graph without constant subgraphs is returned as it is', () => {
  const g = new GraphBuilder();
  g.relu(g.placeholder('x', 'DT_FLOAT', [-1]), { name: 'y' });
  const graph = g.toGraphDef();
  assert.equal(foldConstants(graph), graph);
});
