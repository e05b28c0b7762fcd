import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { compileGraph } from '../../../src/graph/tfjs/graph-model.ts';
import { TFJS_OPS } from '../../../src/graph/tfjs/supported-ops.ts';
import { shapeFitsSignature } from '../../../src/graph/signature-shape.ts';

before(async () => {
  await initBackend();
});

test('reads the supported ops from tfjs-converter, which has MatMul and no ParseExampleV2', () => {
  assert.ok(TFJS_OPS.has('MatMul') && TFJS_OPS.has('SparseSegmentMean') && TFJS_OPS.has('_FusedMatMul'));
  assert.ok(!TFJS_OPS.has('ParseExampleV2') && !TFJS_OPS.has('VarHandleOp'));
});

test('lists every unsupported op with its nodes in one CTR_ERR_UNSUPPORTED_OP', () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1]);
  g.op('Foo', [x], {}, { name: 'foo_1' });
  g.op('Foo', [x], {}, { name: 'foo_2' });
  g.op('Bar', [x], {}, { name: 'bar' });
  assert.throws(
    () => compileGraph(g.toGraphDef(), 'm.pb'),
    (err: Error & { code?: string }) =>
      err.code === 'CTR_ERR_UNSUPPORTED_OP' && /Bar \(bar\), Foo \(foo_1, foo_2\)/.test(err.message),
  );
});

test('computes int64 constants in int32 and refuses one that does not fit', () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_INT64', [-1]);
  const k = g.constant('DT_INT64', [2], [3n, -4n], { name: 'k' });
  g.mul(x, k, { name: 'y' });
  const { model } = compileGraph(g.toGraphDef(), 'm.pb');
  const input = tf.tensor([5, 6], [2], 'int32');
  const y = model.execute({ x: input }, 'y:0') as tf.Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [15, -24]);
  tf.dispose([input, y]);
  model.dispose();

  const h = new GraphBuilder();
  h.constant('DT_INT64', [2], [1n, 2n ** 40n], { name: 'big' });
  assert.throws(() => compileGraph(h.toGraphDef(), 'm.pb'), { code: 'CTR_ERR_INT64_RANGE' });
});

test('frees its weights when the GraphModel is disposed', () => {
  const before = tf.memory().numTensors;
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, 2]);
  g.matMul(x, g.constant('DT_FLOAT', [2, 2], [1, 0, 0, 1]), { name: 'y' });
  const { model } = compileGraph(g.toGraphDef(), 'm.pb');
  assert.ok(tf.memory().numTensors > before);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('counts functional control flow as unsupported, since a frozen graph has no function library', () => {
  const g = new GraphBuilder();
  const c = g.placeholder('c', 'DT_BOOL', []);
  const x = g.placeholder('x', 'DT_FLOAT', []);
  const branch = (name: string) => ({ func: { name, attr: {} } });
  g.op('StatelessIf', [c, x], { then_branch: branch('then'), else_branch: branch('else') }, { name: 'cond' });
  assert.throws(() => compileGraph(g.toGraphDef(), 'm.pb'), {
    code: 'CTR_ERR_UNSUPPORTED_OP',
    message: /StatelessIf/,
  });
});

test('binds input shapes only where the signature leaves a dim open, admitting rows without a trailing unit dim', () => {
  const cases: [number[] | null, number[], boolean][] = [
    [null, [7, 7], true],
    [[], [3], true], // a static shape is the example a function was traced with
    [[1, 8, 8, 3], [1, 2, 2, 1], true],
    [[-1, 50], [4, 50], true],
    [[-1, 50], [4, 49], false],
    [[-1, 50], [4], false],
    [[-1, 50], [4, 50, 1], false],
    [[-1, 1], [3], true], // TF Serving's README: [1.0, 2.0, 5.0] to half_plus_two
    [[-1, 1], [1, 2], false],
    [[-1, 1, 1], [4, 1], true],
  ];
  for (const [declared, actual, fits] of cases) {
    assert.equal(
      shapeFitsSignature(declared, actual),
      fits,
      `${JSON.stringify(declared)} ← ${JSON.stringify(actual)}`,
    );
  }
});
