import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSavedModel } from '../../../src/graph/bundle/write-saved-model.ts';
import { whileLoop } from '../../../src/graph/builder/control-flow-ops.ts';
import { buildFunction } from '../../../src/graph/builder/function-builder.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { DataType, type MetaGraphDef } from '../../../src/graph/proto/types.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, rng } from '../../helpers/random.ts';
import { readVariableOp, varHandleOp } from '../../../src/graph/builder/variable-ops.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-loopvars-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A TF2 SavedModel whose While body reads a captured resource variable (as a Keras RNN cell's call does inside
 * the loop): loop variables (counter, n, x, kernel handle), body x ← tanh(x · ReadVariableOp(kernel)).
 */
test('a While whose body reads a captured variable is frozen with the variable value as the loop variable', async () => {
  const D = 3;
  const kernel = randomFloats(rng(31), D * D, 0.9);
  const b = new GraphBuilder();
  const x = b.placeholder('serving_default_x', 'DT_FLOAT', [-1, D]);
  const handle = varHandleOp(b, 'kernel', 'DT_FLOAT', [D, D]);
  const args = [
    { name: 'loop_counter', dtype: DataType.DT_INT32 },
    { name: 'n', dtype: DataType.DT_INT32 },
    { name: 'x', dtype: DataType.DT_FLOAT },
    { name: 'kernel_handle', dtype: DataType.DT_RESOURCE },
  ];
  const outs = args.map((a, i) => ({ name: `identity_${i}`, dtype: a.dtype }));
  b.addFunction(
    buildFunction('while_cond_7', args, [{ name: 'identity', dtype: DataType.DT_BOOL }], (f, a) => [
      f.identity(f.less(a[0]!, a[1]!, { name: 'Less' }), { name: 'Identity' }),
    ]),
  );
  b.addFunction(
    buildFunction('while_body_8', args, outs, (f, a) => {
      const w = readVariableOp(f, a[3]!, 'DT_FLOAT', { name: 'MatMul/ReadVariableOp' });
      const y = f.tanh(f.matMul(a[2]!, w));
      const c = f.addV2(a[0]!, f.constant('DT_INT32', [], [1], { name: 'add/y' }));
      return [c, a[1]!, y, a[3]!].map((t, i) => f.identity(t, { name: `Identity_${i}` }));
    }),
  );
  const counter = b.constant('DT_INT32', [], [0], { name: 'while/loop_counter' });
  const n = b.constant('DT_INT32', [], [3], { name: 'while/n' });
  const loop = whileLoop(b, [counter, n, x, handle], {
    cond: 'while_cond_7',
    body: 'while_body_8',
    stateless: false,
  });
  b.identity(loop[2]!, { name: 'y' });
  const meta: MetaGraphDef = {
    metaInfoDef: { tags: ['serve'] },
    graphDef: b.toGraphDef(),
    signatureDef: {
      serving_default: {
        methodName: 'tensorflow/serving/predict',
        inputs: { x: { name: 'serving_default_x:0', dtype: DataType.DT_FLOAT } },
        outputs: { y: { name: 'y:0', dtype: DataType.DT_FLOAT } },
      },
    },
    assetFileDef: [],
  };
  const path = join(dir, 'm');
  await writeSavedModel(path, {
    metaGraphs: [meta],
    variables: { kernel: { dtype: DataType.DT_FLOAT, shape: [D, D], values: kernel } },
  });
  const model = await loadModel(path);
  try {
    const xs = [0.5, -1, 2, 0.1, 0.2, 0.3];
    const out = await model.predictHost({ x: { dtype: 'DT_FLOAT', shape: [2, D], values: xs } });
    let cur = xs.slice();
    for (let it = 0; it < 3; it++) {
      cur = cur.map((_, idx) => {
        const [r, col] = [Math.floor(idx / D), idx % D];
        let s = 0;
        for (let k = 0; k < D; k++) s += cur[r * D + k]! * kernel[k * D + col]!;
        return Math.tanh(s);
      });
    }
    assertClose(out.y!.values as Float32Array, cur, 1e-5, 1e-6);
  } finally {
    model.dispose();
  }
});
