import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCtrError } from '../../../src/errors/registry.ts';
import { encodeExample, type Feature } from '../../../src/graph/tf-example.ts';
import { parseExamples, type ParseConfig } from '../../../src/graph/op/example-batch.ts';

const floats = (...v: number[]): Feature => ({ kind: 'float_list', value: Float32Array.from(v) });
const ints = (...v: number[]): Feature => ({ kind: 'int64_list', value: BigInt64Array.from(v.map(BigInt)) });
const bytes = (...v: string[]): Feature => ({ kind: 'bytes_list', value: v.map((s) => Buffer.from(s)) });
const ex = (f: Record<string, Feature>) => encodeExample(new Map(Object.entries(f)));
const text = (v: unknown) => (v as Uint8Array[]).map((b) => Buffer.from(b).toString());
const none: ParseConfig = { dense: [], sparse: [], ragged: [] };

test("VarLenFeature: the SparseTensor of tf.io.parse_example's documented example", () => {
  // tf.io.parse_example docstring: ft = [1.0, 2.0] / no feature / [3.0] →
  // indices [[0,0],[0,1],[2,0]], values [1,2,3], dense_shape [3,2]
  const r = parseExamples([ex({ ft: floats(1, 2) }), ex({}), ex({ ft: floats(3) })], [], {
    ...none,
    sparse: [{ key: 'ft', type: 'float' }],
  });
  const s = r.sparse[0]!;
  assert.deepEqual([...(s.indices.values as Int32Array)], [0, 0, 0, 1, 2, 0]);
  assert.deepEqual(s.indices.shape, [3, 2]);
  assert.deepEqual([...(s.values.values as Float32Array)], [1, 2, 3]);
  assert.deepEqual([...(s.shape.values as Int32Array)], [3, 2]);
});

test('FixedLenFeature: values, defaults for missing (and empty-kind) features, string features as bytes', () => {
  const config: ParseConfig = {
    ...none,
    dense: [
      { key: 'age', type: 'int64', shape: [], defaultValue: Int32Array.of(-1) },
      { key: 'gender', type: 'string', shape: [], defaultValue: [] },
      { key: 'xy', type: 'float', shape: [2], defaultValue: Float32Array.of(0.5, 0.25) },
    ],
  };
  const r = parseExamples(
    [
      ex({ age: ints(0), gender: bytes('f'), xy: floats(1, 2) }),
      ex({ gender: bytes('m'), age: { kind: 'none' } }),
    ],
    [],
    config,
  );
  assert.deepEqual([...(r.dense[0]!.values as Int32Array)], [0, -1]);
  assert.deepEqual(r.dense[0]!.shape, [2]);
  assert.deepEqual(text(r.dense[1]!.values), ['f', 'm']);
  assert.deepEqual([...(r.dense[2]!.values as Float32Array)], [1, 2, 0.5, 0.25]);
  assert.deepEqual(r.dense[2]!.shape, [2, 2]);
});

test('FixedLenSequenceFeature (first dim -1): padded with the default to the longest example', () => {
  const config: ParseConfig = {
    ...none,
    dense: [{ key: 's', type: 'int64', shape: [-1, 2], defaultValue: Int32Array.of(9) }],
  };
  const r = parseExamples([ex({ s: ints(1, 2, 3, 4) }), ex({}), ex({ s: ints(5, 6) })], [], config);
  assert.deepEqual(r.dense[0]!.shape, [3, 2, 2]);
  assert.deepEqual([...(r.dense[0]!.values as Int32Array)], [1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 9, 9]);
});

test('RaggedFeature (V2): flat values and row splits over the batch', () => {
  const r = parseExamples([ex({ r: bytes('a', 'b') }), ex({}), ex({ r: bytes('c') })], [], {
    ...none,
    ragged: [{ key: 'r', type: 'string' }],
  });
  assert.deepEqual(text(r.ragged[0]!.values.values), ['a', 'b', 'c']);
  assert.deepEqual([...(r.ragged[0]!.splits.values as Int32Array)], [0, 2, 2, 3]);
});

test("TensorFlow's INVALID_ARGUMENTs are CTR_ERR_INVALID_EXAMPLE with its words; int64 beyond int32 CTR_ERR_INT64_RANGE", () => {
  const x: ParseConfig = {
    ...none,
    dense: [{ key: 'x', type: 'float', shape: [1], defaultValue: new Float32Array(0) }],
  };
  const fails = (serialized: Uint8Array[], config: ParseConfig, code: string, message: RegExp) =>
    assert.throws(
      () => parseExamples(serialized, [], config),
      (e: unknown) => isCtrError(e) && e.code === code && message.test(e.message),
    );
  fails(
    [ex({})],
    x,
    'CTR_ERR_INVALID_EXAMPLE',
    /Feature: x \(data type: float\) is required but could not be found/,
  );
  fails(
    [ex({ x: ints(2) })],
    x,
    'CTR_ERR_INVALID_EXAMPLE',
    /Data types don't match. Data type: int64 but expected type: float/,
  );
  fails(
    [ex({ x: floats(1, 2) })],
    x,
    'CTR_ERR_INVALID_EXAMPLE',
    /Number of float values != expected.  Values size: 2/,
  );
  fails([Uint8Array.of(0x0a, 0x09)], x, 'CTR_ERR_INVALID_EXAMPLE', /Could not parse example 0 input/);
  fails(
    [ex({ s: floats(1) })],
    { ...none, sparse: [{ key: 's', type: 'string' }] },
    'CTR_ERR_INVALID_EXAMPLE',
    /Expected type: string, Actual type: float/,
  );
  fails(
    [ex({ s: ints(2 ** 31) })],
    { ...none, sparse: [{ key: 's', type: 'int64' }] },
    'CTR_ERR_INT64_RANGE',
    /2147483648/,
  );
});
