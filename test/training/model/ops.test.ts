import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/graph/backend.ts';
import { eagerOps } from '../../../src/training/model/ops.ts';
import { registerWasmTrainingKernels } from '../../../src/training/wasm-training-kernels.ts';
import { rng } from '../../helpers/random.ts';

before(async () => {
  const backend = await initBackend();
  if (backend === 'wasm') registerWasmTrainingKernels();
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

test('the eager embedding lookup equals tf.gather exactly, values and table gradient, and keeps no tensor', () => {
  const rand = rng(7);
  const V = 40;
  const d = 5;
  const table = tf.variable(
    tf.tensor2d(
      Float32Array.from({ length: V * d }, () => rand() - 0.5),
      [V, d],
    ),
  );
  // Repeated ids and padding (0) included: the gradient must add up repeated rows.
  const ids = tf.tensor2d(
    Int32Array.from({ length: 6 * 4 }, () => Math.floor(rand() * V)),
    [6, 4],
    'int32',
  );
  const weights = tf.tensor3d(
    Float32Array.from({ length: 6 * 4 * d }, () => rand()),
    [6, 4, d],
  );
  const before = tf.memory().numTensors;
  const run = (gather: (p: tf.Tensor, i: tf.Tensor) => tf.Tensor) =>
    tf.tidy(() => {
      const out = gather(table, ids);
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.mul(gather(table, ids), weights)) as tf.Scalar,
        [table],
      );
      return {
        shape: out.shape,
        values: out.dataSync().slice(),
        grad: grads[table.name]!.dataSync().slice(),
      };
    });
  const fast = run((p, i) => eagerOps.gather(p, i));
  const plain = run((p, i) => tf.gather(p, i));
  assert.deepEqual(fast.shape, [6, 4, d]);
  assert.equal(maxAbsDiff(fast.values, plain.values), 0);
  assert.ok(
    maxAbsDiff(fast.grad, plain.grad) <= 1e-6,
    `gradient differs by ${maxAbsDiff(fast.grad, plain.grad)}`,
  );
  assert.ok(fast.grad.some((g) => g !== 0));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([table, ids, weights]);
});

test('lookups on other axes and in tables too large for one-hot give the rows asked for', () => {
  const big = tf.tensor2d(
    Float32Array.from({ length: 1200 }, (_, i) => i),
    [600, 2],
  );
  const ids = tf.tensor1d([599, 3], 'int32');
  const x = tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  tf.tidy(() => {
    assert.deepEqual(Array.from(eagerOps.gather(big, ids).dataSync()), [1198, 1199, 6, 7]);
    assert.deepEqual(
      Array.from(eagerOps.gather(x, tf.tensor1d([2, 0], 'int32'), 1).dataSync()),
      [3, 1, 6, 4],
    );
  });
  tf.dispose([big, ids, x]);
});
