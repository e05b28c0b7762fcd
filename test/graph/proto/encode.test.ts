import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { decodeGraphDef, decodeSavedModel } from '../../../src/graph/proto/decode.ts';
import { encodeGraphDef, encodeSavedModel } from '../../../src/graph/proto/encode.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';

const opts = { skip: skipWithoutFixtures };

const frozen = [
  'tf2onnx/regression_graphdef/frozen.pb',
  'tf2onnx/fc-layers/frozen.pb',
  'tensorflow/lite_testdata/multi_add/multi_add.pb',
  'tfrust/addition/model.pb',
  'tfrust/regression_graphdef/model.pb',
];

const savedModels = [
  'tfserving/saved_model_half_plus_two_cpu/00000123',
  'tfserving/saved_model_half_plus_two_tf2_cpu/00000123',
  'tfserving/matrix_half_plus_two/1',
  'tfjs/times_three_float',
  'tfjs/times_two_int',
  'tfjs/module_with_multiple_signatures',
  'tfjs/model_multi_output',
  'tfjs/int64_multiply',
  'tensorflow/cc_saved_model_testdata/x_plus_y_v2_debuginfo',
  'tensorflow/tensorrt_testdata/tf_variablev2_saved_model',
  'tensorflow/cc_saved_model_testdata/fuzz_generated/negative_shape',
  'tfx/chicago_taxi_estimator_wide_deep/1646034756',
];

for (const rel of frozen) {
  test(`re-encoding the GraphDef ${rel} decodes to the same graph and the same bytes`, opts, () => {
    const bytes = readFileSync(fixture(rel));
    const g = decodeGraphDef(bytes, rel);
    const again = encodeGraphDef(g);
    assert.deepEqual(decodeGraphDef(again, 'encoded'), g);
    assert.ok(Buffer.from(again).equals(bytes), 'TensorFlow and ctr-serve serialise this graph identically');
  });
}

for (const rel of savedModels) {
  test(`re-encoding the SavedModel ${rel} decodes to the same model`, opts, () => {
    const sm = decodeSavedModel(readFileSync(fixture(`${rel}/saved_model.pb`)), rel);
    assert.deepEqual(decodeSavedModel(encodeSavedModel(sm), 'encoded'), sm);
  });
}

test('zero-valued oneof attrs, int64 payloads and empty tensors survive a round trip', () => {
  const g: GraphDef = {
    node: [
      {
        name: 'c',
        op: 'Const',
        input: [],
        device: '',
        attr: {
          i0: { i: 0 },
          f0: { f: 0 },
          b0: { b: false },
          s0: { s: new Uint8Array(0) },
          list: {
            list: { i: [0, -5, 2 ** 40], s: [], f: [], b: [], type: [], shape: [], tensor: [], func: [] },
          },
          value: {
            tensor: {
              dtype: 9,
              tensorShape: { dim: [{ size: 2, name: '' }], unknownRank: false },
              versionNumber: 0,
              halfVal: [],
              floatVal: [],
              doubleVal: [],
              intVal: [],
              stringVal: [],
              int64Val: [-(2n ** 63n), 2n ** 63n - 1n],
              boolVal: [],
              uint32Val: [],
              uint64Val: [],
            },
          },
        },
      },
    ],
  };
  const back = decodeGraphDef(encodeGraphDef(g), 'rt');
  assert.deepEqual(back, g);
});
