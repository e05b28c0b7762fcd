import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import '../../src/training/register-gradients.ts';
import { assertClose, REPO_ROOT } from '../helpers/fixtures.ts';

test("tfjs-core's gradients are in the registry the CommonJS tfjs-core (tfjs-converter's and the backends') reads", async () => {
  await initBackend('wasm');
  // Kernels behind the teacher and student forward passes (src/training/model/ops.ts).
  for (const kernel of [
    'BatchMatMul',
    'GatherV2',
    'Sigmoid',
    'Tanh',
    'Erf',
    'Relu',
    'Sum',
    'Mean',
    'Softmax',
  ]) {
    assert.ok(tf.getGradient(kernel), `no gradient for ${kernel}`);
  }
  // d/dx Σ sigmoid(x)·x = s + x·s·(1 − s), written out here, not by tfjs.
  const x = [-2, -0.5, 0, 1.5, 3];
  const input = tf.tensor1d(x);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.sigmoid(v), v)))(input);
  const want = x.map((v) => {
    const s = 1 / (1 + Math.exp(-v));
    return s + v * s * (1 - s);
  });
  assertClose(await g.data(), want);
  tf.dispose([input, g]);
});

test('no source file imports the @tensorflow/tfjs umbrella', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const offenders = ['src', 'bench', 'scripts', 'test']
    .flatMap((d) => files(join(REPO_ROOT, d)))
    .filter((f) => /(from|import|require\()\s*['"]@tensorflow\/tfjs['"]/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});
