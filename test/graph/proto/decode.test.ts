import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isCtrError } from '../../../src/errors/registry.ts';
import { decodeGraphDef, decodeSavedModel } from '../../../src/graph/proto/decode.ts';
import type { GraphDef, NodeDef } from '../../../src/graph/proto/types.ts';
import { tensorProtoToValues } from '../../../src/graph/tensor/tensor-values.ts';
import { assertClose, fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';

const opts = { skip: skipWithoutFixtures };

function constValue(g: GraphDef, name: string): Float32Array {
  const node = g.node.find((n) => n.name === name);
  assert.ok(node?.attr.value?.tensor, `Const ${name} has a value`);
  return tensorProtoToValues(node.attr.value.tensor, name).values as Float32Array;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(isCtrError(err), `expected a CtrError, got ${String(err)}`);
    return err.code;
  }
  return undefined;
}

test('decodes a frozen GraphDef whose constants reproduce the documented prediction', opts, () => {
  const g = decodeGraphDef(readFileSync(fixture('tf2onnx/regression_graphdef/frozen.pb')), 'frozen.pb');
  assert.deepEqual(
    g.node.map((n: NodeDef) => n.op),
    ['Placeholder', 'Const', 'Identity', 'Const', 'Identity', 'Mul', 'Add', 'Identity'],
  );
  assert.deepEqual(g.node.find((n) => n.name === 'Add')?.input, ['Mul', 'b/read']);
  // README: X=[5] → pred=[2.1193342]; pred = X·W + b.
  assertClose([5 * constValue(g, 'W')[0]! + constValue(g, 'b')[0]!], [2.1193342], 1e-5);
});

test(
  'decodes 1 MB of tensor_content weights that give the fixture README outputs for a zero input',
  opts,
  () => {
    const g = decodeGraphDef(readFileSync(fixture('tf2onnx/fc-layers/frozen.pb')), 'fc-layers/frozen.pb');
    const dense = (x: Float64Array, layer: string, relu: boolean): Float64Array => {
      const w = constValue(g, `${layer}/kernel`);
      const b = constValue(g, `${layer}/bias`);
      const out = new Float64Array(b.length);
      for (let j = 0; j < b.length; j++) {
        let s = b[j]!;
        for (let i = 0; i < x.length; i++) s += x[i]! * w[i * b.length + j]!;
        out[j] = relu ? Math.max(0, s) : s;
      }
      return out;
    };
    const h = dense(dense(new Float64Array(784), 'dense', true), 'dense_1', true);
    assertClose(
      dense(h, 'pred', false),
      [
        -0.3315962, -1.0947976, -0.0923687, -0.2305665, -1.0236655, 0.9712536, -0.763258, -1.4100486,
        0.8121872, -0.2143153,
      ],
      1e-5,
    );
  },
);

test('decodes placeholders, attrs and versions of a frozen graph', opts, () => {
  const g = decodeGraphDef(
    readFileSync(fixture('tensorflow/lite_testdata/multi_add/multi_add.pb')),
    'multi_add.pb',
  );
  const a = g.node.find((n) => n.name === 'a')!;
  assert.equal(a.op, 'Placeholder');
  assert.equal(a.attr.dtype?.type, 1);
  assert.deepEqual(
    a.attr.shape?.shape?.dim.map((d) => d.size),
    [1, 8, 8, 3],
  );
  assert.deepEqual(g.node.find((n) => n.name === 'x')?.input, ['a', 'i']);
  assert.equal(typeof g.versions?.producer, 'number');
});

test('decodes a TF1 SavedModel: tag set, signatures with tensor names, constants', opts, () => {
  const path = fixture('tfserving/saved_model_half_plus_two_cpu/00000123/saved_model.pb');
  const sm = decodeSavedModel(readFileSync(path), path);
  assert.equal(sm.metaGraphs.length, 1);
  const mg = sm.metaGraphs[0]!;
  assert.deepEqual(mg.metaInfoDef?.tags, ['serve']);
  const sig = mg.signatureDef.serving_default!;
  assert.equal(sig.methodName, 'tensorflow/serving/predict');
  assert.equal(sig.inputs.x?.name, 'x:0');
  assert.equal(sig.inputs.x?.dtype, 1);
  assert.equal(sig.outputs.y?.name, 'y:0');
  assert.deepEqual(Object.keys(mg.signatureDef).sort(), [
    'classify_x_to_y',
    'regress_x2_to_y3',
    'regress_x_to_y',
    'regress_x_to_y2',
    'serving_default',
  ]);
  assert.ok(mg.graphDef!.node.some((n) => n.op === 'VariableV2'));
  assert.deepEqual(
    mg.assetFileDef.map((a) => a.filename),
    ['foo.txt'],
  );
});

test('decodes a TF2 SavedModel: function library, object graph, variables', opts, () => {
  const path = fixture('tfserving/saved_model_half_plus_two_tf2_cpu/00000123/saved_model.pb');
  const mg = decodeSavedModel(readFileSync(path), path).metaGraphs[0]!;
  const sig = mg.signatureDef.serving_default!;
  assert.equal(sig.inputs.x?.name, 'serving_default_x:0');
  assert.equal(sig.outputs.y?.name, 'StatefulPartitionedCall_5:0');
  const fns = mg.graphDef!.library!.function;
  assert.ok(fns.length > 0);
  for (const f of fns) {
    assert.ok(f.signature.name.length > 0);
    assert.ok(Array.isArray(f.nodeDef));
    assert.equal(typeof f.ret, 'object');
  }
  const vars = mg.objectGraphDef!.nodes.filter((n) => n.kind === 'variable');
  assert.deepEqual(vars.map((v) => v.variable?.name).sort(), ['a', 'b', 'c']);
  const fn = mg.objectGraphDef!.nodes.find((n) => n.kind === 'function')!;
  const concrete = fn.function!.concreteFunctions[0]!;
  assert.ok(Array.isArray(mg.objectGraphDef!.concreteFunctions[concrete]?.boundInputs));
});

test('decodes the large TFX export with its 76 library functions', opts, () => {
  const path = fixture('tfx/chicago_taxi_estimator_wide_deep/1646034756/saved_model.pb');
  const mg = decodeSavedModel(readFileSync(path), path).metaGraphs[0]!;
  assert.equal(mg.graphDef!.library!.function.length, 76);
  assert.ok(mg.signatureDef.predict);
});

test('refuses a truncated SavedModel with CTR_ERR_PROTO_DECODE naming the file', opts, () => {
  const bytes = readFileSync(fixture('tfserving/saved_model_half_plus_two_cpu/00000123/saved_model.pb'));
  try {
    decodeSavedModel(bytes.subarray(0, bytes.length - 100), 'half_plus_two/saved_model.pb');
    assert.fail('decoded a truncated file');
  } catch (err) {
    assert.ok(isCtrError(err));
    assert.equal(err.code, 'CTR_ERR_PROTO_DECODE');
    assert.match(err.message, /half_plus_two\/saved_model\.pb/);
    assert.ok(err.cause !== undefined);
  }
});

test('refuses text-format protobuf with CTR_ERR_TEXT_PROTO_UNSUPPORTED', () => {
  const enc = new TextEncoder();
  const graph = enc.encode('node {\n  name: "x"\n  op: "Placeholder"\n}\n');
  const sm = enc.encode('# exported\nsaved_model_schema_version: 1\nmeta_graphs {\n}\n');
  assert.equal(
    codeOf(() => decodeGraphDef(graph, 'g.pbtxt')),
    'CTR_ERR_TEXT_PROTO_UNSUPPORTED',
  );
  assert.equal(
    codeOf(() => decodeSavedModel(sm, 'saved_model.pbtxt')),
    'CTR_ERR_TEXT_PROTO_UNSUPPORTED',
  );
});

test('refuses an unknown wire type and an over-long length with CTR_ERR_PROTO_DECODE', () => {
  // wire type 7 does not exist; then field 1 length-delimited claiming 100 bytes with 2 present.
  assert.equal(
    codeOf(() => decodeGraphDef(Uint8Array.of(0x0f, 0x01), 'a.pb')),
    'CTR_ERR_PROTO_DECODE',
  );
  assert.equal(
    codeOf(() => decodeGraphDef(Uint8Array.of(0x0a, 100, 0x0a, 0x00), 'b.pb')),
    'CTR_ERR_PROTO_DECODE',
  );
});

test('decodes an empty buffer as an empty graph with empty repeated fields', () => {
  assert.deepEqual(decodeGraphDef(new Uint8Array(0), 'empty.pb'), { node: [] });
});

test('keeps a map key named __proto__ as an ordinary attr', () => {
  // NodeDef{name:"n", attr{"__proto__": {b:true}}} inside GraphDef.node
  const key = new TextEncoder().encode('__proto__');
  const attrValue = [0x28, 0x01];
  const entry = [0x0a, key.length, ...key, 0x12, attrValue.length, ...attrValue];
  const node = [0x0a, 0x01, 0x6e, 0x2a, entry.length, ...entry];
  const g = decodeGraphDef(Uint8Array.from([0x0a, node.length, ...node]), 'proto.pb');
  const attr = g.node[0]!.attr;
  assert.equal(Object.getPrototypeOf(attr), Object.prototype);
  assert.deepEqual(Object.keys(attr), ['__proto__']);
  assert.equal(Object.getOwnPropertyDescriptor(attr, '__proto__')?.value.b, true);
});

test(
  'the fuzz-generated negative_shape SavedModel decodes, and its bad Const is CTR_ERR_TENSOR_TOO_LARGE',
  opts,
  () => {
    const dir = 'tensorflow/cc_saved_model_testdata/fuzz_generated/negative_shape';
    const sm = decodeSavedModel(readFileSync(fixture(`${dir}/saved_model.pb`)), dir);
    const nodes = sm.metaGraphs[0]!.graphDef!.node;
    const refused = nodes.filter(
      (n) =>
        n.op === 'Const' && codeOf(() => tensorProtoToValues(n.attr.value!.tensor!, n.name)) !== undefined,
    );
    assert.deepEqual(
      refused.map((n) => [n.name, codeOf(() => tensorProtoToValues(n.attr.value!.tensor!, n.name))]),
      [['b/initial_value', 'CTR_ERR_TENSOR_TOO_LARGE']],
    );
  },
);
