import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSavedModel } from '../../../src/graph/bundle/write-saved-model.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { DataType, type MetaGraphDef } from '../../../src/graph/proto/types.ts';
import { addTf1Saver } from '../../../src/training/export/tf1-saver.ts';
import { variableV2 } from '../../../src/graph/builder/variable-ops.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-initop-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A TF1 export with assets (as tensorflow_serving's saved_model_half_plus_two.py writes one): `a` is saved in the
 * checkpoint and restored by save/restore_all; `Variable` (collections=[], so never saved) has its initializer
 * (Variable/Assign, 100) and is set to 7 by the "Assign" that legacy_init_op runs after the restore. y = a·x +
 * Variable. TensorFlow's loader gives y = 0.5x + 7.
 */
async function writeModel(collection: 'legacy_init_op' | 'saved_model_main_op'): Promise<string> {
  const b = new GraphBuilder();
  const x = b.placeholder('x', 'DT_FLOAT', [-1]);
  const a = variableV2(b, 'a', 'DT_FLOAT', []);
  const v = variableV2(b, 'Variable', 'DT_FLOAT', []);
  const assign = (name: string, value: number) =>
    b.op(
      'Assign',
      ['Variable:0', b.constant('DT_FLOAT', [], [value], { name: `${name}/value` })],
      { T: attr.type('DT_FLOAT'), use_locking: attr.b(true), validate_shape: attr.b(true) },
      { name, outDtypes: [DataType.DT_FLOAT + 100] },
    );
  assign('Variable/Assign', 100);
  assign('Assign', 7);
  b.op('NoOp', ['^Assign'], {}, { name: 'legacy_init_op', outDtypes: [] });
  b.addV2(b.mul(a, x), v, { name: 'y' });
  const saverDef = addTf1Saver(b, [{ name: 'a', read: a }]);
  const meta: MetaGraphDef = {
    metaInfoDef: { tags: ['serve'] },
    graphDef: b.toGraphDef(),
    saverDef,
    signatureDef: {
      serving_default: {
        methodName: 'tensorflow/serving/predict',
        inputs: {
          x: {
            name: 'x:0',
            dtype: DataType.DT_FLOAT,
            tensorShape: { dim: [{ size: -1 }], unknownRank: false },
          },
        },
        outputs: { y: { name: 'y:0', dtype: DataType.DT_FLOAT } },
      },
    },
    assetFileDef: [],
    collectionDef: { [collection]: { nodeList: { value: ['legacy_init_op'] } } },
  };
  const path = join(dir, collection);
  await writeSavedModel(path, {
    metaGraphs: [meta],
    variables: { a: { dtype: DataType.DT_FLOAT, shape: [], values: new Float32Array([0.5]) } },
  });
  mkdirSync(join(path, 'assets'));
  writeFileSync(join(path, 'assets', 'foo.txt'), 'asset-file-contents');
  return path;
}

for (const collection of ['legacy_init_op', 'saved_model_main_op'] as const) {
  test(`a variable the checkpoint lacks takes the constant its ${collection} assigns, as TensorFlow's loader does`, async () => {
    const model = await loadModel(await writeModel(collection));
    try {
      const out = await model.predictHost({ x: { dtype: 'DT_FLOAT', shape: [3], values: [1, 2, 4] } });
      assert.deepEqual(Array.from(out.y!.values as Float32Array), [7.5, 8, 9]);
    } finally {
      model.dispose();
    }
  });
}
