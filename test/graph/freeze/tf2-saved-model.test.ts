import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeSavedModel } from '../../../src/graph/bundle/write-saved-model.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { makeTensorProto } from '../../../src/graph/builder/tensor-proto.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { messageType } from '../../../src/graph/proto/schema.ts';
import { toMessage } from '../../../src/graph/proto/to-message.ts';
import {
  DataType,
  type FunctionDef,
  type MetaGraphDef,
  type NodeDef,
} from '../../../src/graph/proto/types.ts';
import type { DecodedTensor } from '../../../src/graph/tensor/tensor-values.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { varHandleOp } from '../../../src/graph/builder/variable-ops.ts';

const F = DataType.DT_FLOAT;
const I = DataType.DT_INT32;
const R = DataType.DT_RESOURCE;
const node = (name: string, op: string, input: string[], a: NodeDef['attr'] = {}): NodeDef => ({
  name,
  op,
  input,
  attr: a,
});
const arg = (name: string, type: number) => ({ name, type });
const fnAttr = (name: string, extra: NodeDef['attr'] = {}) => ({ func: { name, attr: extra } });

const EMB = new Float32Array([0, 0, 1, 2, -1, 0.5, 3, -2, 0.25, 0.25]); // [5,2]
const KERNEL = new Float32Array([0.5, -1]); // [2,1]

/**
 * A model shaped like what tf.saved_model.save writes, built by hand: a serving signature calling a function
 * that reads two resource variables (ResourceGather, ReadVariableOp), uses an attr placeholder, a multi-output
 * op addressed as "node:out_arg:idx", and a nested PartitionedCall; the checkpoint keys are read by a traced
 * restore function, as in TF2 exports.
 */
function tf2Functions(): FunctionDef[] {
  const serve: FunctionDef = {
    signature: {
      name: '__inference_serve_10',
      inputArg: [arg('ids', I), arg('emb_resource', R), arg('kernel_resource', R)],
      outputArg: [arg('score', F), arg('best', I), arg('logit', F)],
      attr: [],
    },
    attr: {},
    nodeDef: [
      node('gather', 'ResourceGather', ['emb_resource', 'ids', '^kernel/read'], {
        dtype: attr.type(F),
        Tindices: attr.type(I),
        batch_dims: attr.i(0),
        validate_indices: attr.b(true),
      }),
      node('kernel/read', 'ReadVariableOp', ['kernel_resource'], { dtype: attr.type(F) }),
      node('mm', 'MatMul', ['gather:output:0', 'kernel/read:value:0'], {
        T: { placeholder: 'T' },
        transpose_a: attr.b(false),
        transpose_b: attr.b(false),
      }),
      node('inner', 'PartitionedCall', ['mm:product:0'], {
        f: fnAttr('__inference_sigmoid_20'),
        Tin: { list: { type: [F] } },
        Tout: { list: { type: [F] } },
      }),
      node('squeeze_axis', 'Const', [], {
        dtype: attr.type(I),
        value: { tensor: makeTensorProto(I, [1], [1]) },
      }),
      node('sq', 'Squeeze', ['inner:output:0'], { T: attr.type(F), squeeze_dims: { list: { i: [1] } } }),
      node('logits', 'Reshape', ['mm:product:0', 'minus_one:output:0'], {
        T: attr.type(F),
        Tshape: attr.type(I),
      }),
      node('minus_one', 'Const', [], {
        dtype: attr.type(I),
        value: { tensor: makeTensorProto(I, [1], [-1]) },
      }),
      node('k', 'Const', [], { dtype: attr.type(I), value: { tensor: makeTensorProto(I, [], [1]) } }),
      node('row', 'Reshape', ['logits:output:0', 'one_by_n:output:0'], {
        T: attr.type(F),
        Tshape: attr.type(I),
      }),
      node('one_by_n', 'Const', [], {
        dtype: attr.type(I),
        value: { tensor: makeTensorProto(I, [2], [1, -1]) },
      }),
      node('topk', 'TopKV2', ['row:output:0', 'k:output:0'], { T: attr.type(F), sorted: attr.b(true) }),
      node('best', 'Reshape', ['topk:indices:0', 'minus_one:output:0'], {
        T: attr.type(I),
        Tshape: attr.type(I),
      }),
      node('noop', 'NoOp', ['^gather']),
      node('score', 'Identity', ['sq:output:0', '^noop'], { T: attr.type(F) }),
    ],
    ret: { score: 'score:output:0', best: 'best:output:0', logit: 'logits:output:0' },
  };
  const sigmoid: FunctionDef = {
    signature: {
      name: '__inference_sigmoid_20',
      inputArg: [arg('x', F)],
      outputArg: [arg('y', F)],
      attr: [],
    },
    attr: {},
    nodeDef: [
      node('s', 'Sigmoid', ['x'], { T: attr.type(F) }),
      node('Identity', 'Identity', ['s:y:0'], { T: attr.type(F) }),
    ],
    ret: { y: 'Identity:output:0' },
  };
  const strings = (values: string[]) => ({
    tensor: {
      dtype: DataType.DT_STRING,
      tensorShape: { dim: [{ size: values.length }], unknownRank: false },
      stringVal: values.map((v) => new TextEncoder().encode(v)),
    },
  });
  const restore: FunctionDef = {
    signature: {
      name: '__inference__traced_restore_77',
      inputArg: [arg('file_prefix', DataType.DT_STRING), arg('assign_emb', R), arg('assign_kernel', R)],
      outputArg: [arg('identity', DataType.DT_STRING)],
      attr: [],
    },
    attr: {},
    nodeDef: [
      node('RestoreV2/tensor_names', 'Const', [], {
        dtype: attr.type(DataType.DT_STRING),
        value: strings(['model/kernel/.ATTRIBUTES/VARIABLE_VALUE', 'model/emb/.ATTRIBUTES/VARIABLE_VALUE']),
      }),
      node('RestoreV2/shape_and_slices', 'Const', [], {
        dtype: attr.type(DataType.DT_STRING),
        value: strings(['', '']),
      }),
      node(
        'RestoreV2',
        'RestoreV2',
        ['file_prefix', 'RestoreV2/tensor_names:output:0', 'RestoreV2/shape_and_slices:output:0'],
        {
          dtypes: { list: { type: [F, F] } },
        },
      ),
      node('Identity', 'Identity', ['RestoreV2:tensors:1'], { T: attr.type(F) }),
      node('AssignVariableOp', 'AssignVariableOp', ['assign_emb', 'Identity:output:0'], {
        dtype: attr.type(F),
      }),
      node('Identity_1', 'Identity', ['RestoreV2:tensors:0'], { T: attr.type(F) }),
      node('AssignVariableOp_1', 'AssignVariableOp', ['assign_kernel', 'Identity_1:output:0'], {
        dtype: attr.type(F),
      }),
      node('Identity_2', 'Identity', ['file_prefix', '^AssignVariableOp', '^AssignVariableOp_1'], {
        T: attr.type(DataType.DT_STRING),
      }),
    ],
    ret: { identity: 'Identity_2:output:0' },
  };
  return [serve, sigmoid, restore];
}

function tf2MetaGraph(withRestore: boolean, scoresSignature = false): MetaGraphDef {
  const g = new GraphBuilder();
  const ids = g.placeholder('serving_default_ids', 'DT_INT32', [-1]);
  // shared_names differ from the checkpoint keys, as in TF2 exports ("Variable", "Variable_1" → "model/...").
  const emb = varHandleOp(g, 'Variable', 'DT_FLOAT', [5, 2], 'Variable');
  const kernel = varHandleOp(g, 'Variable_1', 'DT_FLOAT', [2, 1], 'Variable_1');
  g.op(
    'StatefulPartitionedCall',
    [ids, emb, kernel],
    {
      f: fnAttr('__inference_serve_10', { T: attr.type(F) }),
      Tin: { list: { type: [I, R, R] } },
      Tout: { list: { type: [F, I, F] } },
    },
    { outDtypes: [F, I, F] },
  );
  const filename = g.placeholder('saver_filename', 'DT_STRING', []);
  if (withRestore) {
    const restoreAttrs = {
      f: fnAttr('__inference__traced_restore_77'),
      Tin: { list: { type: [DataType.DT_STRING, R, R] } },
      Tout: { list: { type: [DataType.DT_STRING] } },
    };
    g.op('StatefulPartitionedCall', [filename, emb, kernel], restoreAttrs, {
      name: 'StatefulPartitionedCall_2',
    });
  }
  const graphDef = { ...g.toGraphDef(), library: { function: tf2Functions() } };
  const info = (name: string, dtype: number) => ({
    name,
    dtype,
    tensorShape: { dim: [{ size: -1 }], unknownRank: false },
  });
  return {
    metaInfoDef: { tags: ['serve'] },
    graphDef,
    signatureDef: {
      serving_default: {
        inputs: { ids: info('serving_default_ids:0', I) },
        outputs: {
          score: info('StatefulPartitionedCall:0', F),
          best: info('StatefulPartitionedCall:1', I),
          logit: info('StatefulPartitionedCall:2', F),
        },
        methodName: 'tensorflow/serving/predict',
      },
      ...(scoresSignature
        ? {
            scores: {
              inputs: { ids: info('serving_default_ids:0', I) },
              outputs: { score: info('StatefulPartitionedCall:0', F) },
              methodName: 'tensorflow/serving/predict',
            },
          }
        : {}),
    },
    assetFileDef: [],
  };
}

const variables = (): Record<string, DecodedTensor> => ({
  'model/emb/.ATTRIBUTES/VARIABLE_VALUE': { dtype: F, shape: [5, 2], values: EMB },
  'model/kernel/.ATTRIBUTES/VARIABLE_VALUE': { dtype: F, shape: [2, 1], values: KERNEL },
});

function expected(ids: number[]): { logit: number[]; score: number[]; best: number[] } {
  const logit = ids.map((i) => EMB[2 * i] * KERNEL[0] + EMB[2 * i + 1] * KERNEL[1]);
  const best = [logit.indexOf(Math.max(...logit))];
  return { logit, score: logit.map((z) => 1 / (1 + Math.exp(-z))), best };
}

describe('a hand-built TF2-style SavedModel (functions, resource variables, checkpoint)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'ctr-tf2-'));
    dirs.push(d);
    return d;
  };
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('runs after inlining calls and reading variable keys from the traced restore function', async () => {
    const dir = await tempDir();
    await writeSavedModel(dir, { metaGraphs: [tf2MetaGraph(true)], variables: variables() });
    const model = await loadModel(dir);
    try {
      const ids = [1, 3, 2, 0];
      const out = await model.predictHost({ ids: { dtype: 'DT_INT32', shape: [4], values: ids } });
      const want = expected(ids);
      assertClose(out.logit.values as Float32Array, want.logit, 1e-6);
      assertClose(out.score.values as Float32Array, want.score, 1e-6);
      assert.deepEqual(Array.from(out.best.values as Int32Array), want.best);
      assert.equal(out.best.dtype, 'DT_INT32');
    } finally {
      model.dispose();
    }
  });

  test('maps shared names to checkpoint keys through the checkpoint object graph when there is no restore function', async () => {
    const dir = await tempDir();
    const objectGraph = {
      nodes: [
        { children: [{ nodeId: 1, localName: 'model' }], attributes: [] },
        {
          children: [
            { nodeId: 2, localName: 'emb' },
            { nodeId: 3, localName: 'kernel' },
          ],
          attributes: [],
        },
        {
          children: [],
          attributes: [
            {
              name: 'VARIABLE_VALUE',
              fullName: 'Variable',
              checkpointKey: 'model/emb/.ATTRIBUTES/VARIABLE_VALUE',
            },
          ],
        },
        {
          children: [],
          attributes: [
            {
              name: 'VARIABLE_VALUE',
              fullName: 'Variable_1',
              checkpointKey: 'model/kernel/.ATTRIBUTES/VARIABLE_VALUE',
            },
          ],
        },
      ],
    };
    const type = messageType('TrackableObjectGraph');
    const bytes = type.encode(toMessage(type, objectGraph)).finish();
    await writeSavedModel(dir, {
      metaGraphs: [tf2MetaGraph(false)],
      variables: {
        ...variables(),
        _CHECKPOINTABLE_OBJECT_GRAPH: { dtype: DataType.DT_STRING, shape: [], values: [bytes] },
      },
    });
    const model = await loadModel(dir);
    try {
      const out = await model.predictHost({ ids: { dtype: 'DT_INT32', shape: [2], values: [4, 1] } });
      assertClose(out.logit.values as Float32Array, expected([4, 1]).logit, 1e-6);
    } finally {
      model.dispose();
    }
  });

  test('names the variable and the checkpoint when a key is missing', async () => {
    const dir = await tempDir();
    const vars = variables();
    delete vars['model/kernel/.ATTRIBUTES/VARIABLE_VALUE'];
    vars['other/.ATTRIBUTES/VARIABLE_VALUE'] = { dtype: F, shape: [1], values: new Float32Array([1]) };
    await writeSavedModel(dir, { metaGraphs: [tf2MetaGraph(true)], variables: vars });
    await assert.rejects(loadModel(dir), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CTR_ERR_MISSING_VARIABLE');
      assert.match(err.message, /Variable_1/);
      assert.match(err.message, /variables[/\\]variables/);
      return true;
    });
  });

  test('holds one copy of the weights for signatures that share their inputs', async () => {
    const one = await tempDir();
    const two = await tempDir();
    await writeSavedModel(one, { metaGraphs: [tf2MetaGraph(true)], variables: variables() });
    await writeSavedModel(two, { metaGraphs: [tf2MetaGraph(true, true)], variables: variables() });
    const before = tf.memory().numTensors;
    const a = await loadModel(one);
    const single = tf.memory().numTensors - before;
    const b = await loadModel(two);
    assert.equal(tf.memory().numTensors - before - single, single);
    assert.deepEqual(Object.keys(b.info.signatures).sort(), ['scores', 'serving_default']);
    const ids = { ids: { dtype: 'DT_INT32' as const, shape: [2], values: [1, 2] } };
    const scores = await b.predictHost(ids, 'scores');
    assertClose(scores.score.values as Float32Array, expected([1, 2]).score, 1e-6);
    a.dispose();
    b.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('refuses a tag set the SavedModel does not have, listing the ones it has', async () => {
    const dir = await tempDir();
    await writeSavedModel(dir, { metaGraphs: [tf2MetaGraph(true)], variables: variables() });
    await assert.rejects(loadModel(dir, { tags: ['serve', 'gpu'] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CTR_ERR_TAG_SET_NOT_FOUND');
      assert.match(err.message, /\[serve\]/);
      return true;
    });
  });
});
