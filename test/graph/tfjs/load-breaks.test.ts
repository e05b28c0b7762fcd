import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { encodeGraphDef } from '../../../src/graph/proto/encode.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, rng } from '../../helpers/random.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-breaks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeGraph(name: string, g: GraphDef): string {
  const path = join(dir, `${name}.pb`);
  writeFileSync(path, encodeGraphDef(g));
  return path;
}

test('a signature input its outputs do not need is accepted, checked and ignored', async () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1]);
  g.placeholder('unused', 'DT_FLOAT', [-1, 2]);
  g.mul(x, g.constant('DT_FLOAT', [], [2]), { name: 'y' });
  const model = await loadModel(writeGraph('unused', g.toGraphDef()));
  try {
    assert.deepEqual(Object.keys(model.info.signatures.serving_default!.inputs).sort(), ['unused', 'x']);
    const out = await model.predictHost({
      x: { dtype: 'DT_FLOAT', shape: [3], values: [1, 2, 3] },
      unused: { dtype: 'DT_FLOAT', shape: [1, 2], values: [9, 9] },
    });
    assert.deepEqual(Array.from(out.y!.values as Float32Array), [2, 4, 6]);
    await assert.rejects(
      model.predictHost({
        x: { dtype: 'DT_FLOAT', shape: [1], values: [1] },
        unused: { dtype: 'DT_FLOAT', shape: [1, 3], values: [9, 9, 9] },
      }),
      { code: 'CTR_ERR_INPUT_MISMATCH' },
    );
  } finally {
    model.dispose();
  }
});

/**
 * Keras Conv1D as TF 2.x saves it (tensorflow/python/ops/nn_ops.py conv1d): ExpandDims of input (axis -3) and
 * kernel (axis 0), Conv2D with strides [1,1,s,1], Squeeze(-3), BiasAdd; saved_model.save strips default attrs,
 * so dilation 1 leaves Conv2D without `dilations` (and data_format), while dilation 2 writes [1,1,2,1].
 */
function conv1dGraph(K: number, C: number, O: number, dilation: number, w: Float32Array, b: Float32Array) {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, -1, C]);
  const kernel = g.constant('DT_FLOAT', [K, C, O], w, { name: 'conv1d/kernel' });
  const xe = g.expandDims(x, -3, { name: 'conv1d/Conv1D/ExpandDims' });
  const ke = g.expandDims(kernel, 0, { name: 'conv1d/Conv1D/ExpandDims_1' });
  const attrs = {
    T: attr.type('DT_FLOAT'),
    strides: { list: { i: [1, 1, 1, 1] } },
    padding: attr.s('VALID'),
    ...(dilation === 1 ? {} : { dilations: { list: { i: [1, 1, dilation, 1] } } }),
  };
  const conv = g.op('Conv2D', [xe, ke], attrs, { name: 'conv1d/Conv1D' })[0]!;
  const sq = g.squeeze(conv, [-3], { name: 'conv1d/Conv1D/Squeeze' });
  g.biasAdd(sq, g.constant('DT_FLOAT', [O], b, { name: 'conv1d/bias' }), { name: 'y' });
  return g.toGraphDef();
}

for (const dilation of [1, 2]) {
  test(`a Keras Conv1D (dilation ${dilation}) runs and matches a direct convolution`, async () => {
    const [B, L, C, O, K] = [2, 9, 3, 4, 3];
    const next = rng(10 + dilation);
    const w = randomFloats(next, K * C * O);
    const b = randomFloats(next, O);
    const xs = randomFloats(next, B * L * C);
    const model = await loadModel(writeGraph(`conv1d_${dilation}`, conv1dGraph(K, C, O, dilation, w, b)));
    try {
      const input = tf.tensor(xs, [B, L, C]);
      const { y } = await model.predict({ x: input });
      const Lo = L - dilation * (K - 1);
      const want = new Float64Array(B * Lo * O);
      for (let n = 0; n < B; n++)
        for (let t = 0; t < Lo; t++)
          for (let o = 0; o < O; o++) {
            let s = b[o]!;
            for (let k = 0; k < K; k++)
              for (let c = 0; c < C; c++)
                s += xs[(n * L + t + k * dilation) * C + c]! * w[(k * C + c) * O + o]!;
            want[(n * Lo + t) * O + o] = s;
          }
      assert.deepEqual(y!.shape, [B, Lo, O]);
      assertClose(await y!.data(), want, 1e-5, 1e-5);
      tf.dispose([input, y!]);
    } finally {
      model.dispose();
    }
  });
}
