import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isCtrError } from '../../../src/errors/registry.ts';
import { parseBlock, readVarint } from '../../../src/graph/bundle/table-reader.ts';
import { readTensorBundle, type TensorBundle } from '../../../src/graph/bundle/tensor-bundle.ts';
import { fixture, skipWithoutFixtures } from '../../helpers/fixtures.ts';

const opts = { skip: skipWithoutFixtures };
const vars = (model: string) => fixture(`${model}/variables/variables`);
const tmp = mkdtempSync(join(tmpdir(), 'ctr-bundle-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const scalar = (b: TensorBundle, key: string) => {
  const t = b.read(key);
  assert.deepEqual(t.shape, []);
  return (t.values as ArrayLike<number | bigint>)[0];
};

async function codeOf(fn: () => unknown): Promise<{ code?: string; message?: string }> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isCtrError(err), `expected a CtrError, got ${String(err)}`);
    return { code: err.code, message: err.message };
  }
  return {};
}

/** A copy of a fixture's variables/ in a fresh temp dir, for corrupting. */
function copyFixture(model: string): string {
  const dir = mkdtempSync(join(tmp, 'm-'));
  const prefix = join(dir, 'variables');
  copyFileSync(`${vars(model)}.index`, `${prefix}.index`);
  copyFileSync(`${vars(model)}.data-00000-of-00001`, `${prefix}.data-00000-of-00001`);
  return prefix;
}

function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  b[at] = b[at]! ^ 0x40;
  writeFileSync(file, b);
}

test('reads the snappy-compressed TF1 half_plus_two checkpoint: a=0.5, b=2, c=3', opts, async () => {
  const prefix = vars('tfserving/saved_model_half_plus_two_cpu/00000123');
  const index = readFileSync(`${prefix}.index`);
  const footer = index.subarray(index.length - 48);
  const [, p0] = readVarint(footer, 0, 'footer');
  const [, p] = readVarint(footer, p0, 'footer'); // metaindex handle: offset, size
  const [indexOffset, p2] = readVarint(footer, p, 'footer');
  const [indexSize] = readVarint(footer, p2, 'footer');
  assert.equal(index[indexOffset + indexSize], 0, 'the index block is stored plain');
  const [first] = parseBlock(index.subarray(indexOffset, indexOffset + indexSize), 'index');
  const [dataOffset, q] = readVarint(first!.value, 0, 'handle');
  const [dataSize] = readVarint(first!.value, q, 'handle');
  assert.equal(index[dataOffset + dataSize], 1, 'the data block is snappy-compressed');

  const b = await readTensorBundle(prefix);
  assert.equal(b.header.numShards, 1);
  assert.deepEqual(b.keys(), ['a', 'a2', 'b', 'c', 'c2']);
  assert.equal(scalar(b, 'a'), 0.5);
  assert.equal(scalar(b, 'b'), 2);
  assert.equal(scalar(b, 'c'), 3);
  assert.equal(b.objectGraph, undefined);
});

test('reads a TF2 checkpoint with its object graph mapping variables to keys', opts, async () => {
  const b = await readTensorBundle(vars('tfserving/saved_model_half_plus_two_tf2_cpu/00000123'));
  const attrs = b.objectGraph!.nodes.flatMap((n) => n.attributes);
  const keyOf = (name: string) =>
    attrs.find((a) => a.fullName === name && a.name === 'VARIABLE_VALUE')?.checkpointKey;
  assert.equal(scalar(b, keyOf('a')!), 0.5);
  assert.equal(scalar(b, keyOf('b')!), 2);
  assert.equal(scalar(b, keyOf('c')!), 3);
});

test('reads the variables of the tfjs fixtures with their dtypes', opts, async () => {
  const three = await readTensorBundle(vars('tfjs/times_three_float'));
  assert.equal(three.read('v/.ATTRIBUTES/VARIABLE_VALUE').dtype, 1);
  assert.equal(scalar(three, 'v/.ATTRIBUTES/VARIABLE_VALUE'), 3);
  const two = await readTensorBundle(vars('tfjs/times_two_int'));
  assert.ok(two.read('v/.ATTRIBUTES/VARIABLE_VALUE').values instanceof Int32Array);
  assert.equal(scalar(two, 'v/.ATTRIBUTES/VARIABLE_VALUE'), 2);
  const multi = await readTensorBundle(vars('tfjs/module_with_multiple_signatures'));
  assert.equal(scalar(multi, 'v/.ATTRIBUTES/VARIABLE_VALUE'), 3);
  assert.equal(scalar(multi, 'two/.ATTRIBUTES/VARIABLE_VALUE'), 2);
  // int64_multiply: [3,4] → [18,24], the product of its two int64 variables.
  const i64 = await readTensorBundle(vars('tfjs/int64_multiply'));
  const v1 = scalar(i64, 'v1/.ATTRIBUTES/VARIABLE_VALUE') as bigint;
  const v2 = scalar(i64, 'v2/.ATTRIBUTES/VARIABLE_VALUE') as bigint;
  assert.equal(typeof v1, 'bigint');
  assert.equal(v1 * v2, 6n);
});

test('reads the TensorRT VariableV2 weights 13 and 37 and the TFX estimator checkpoint', opts, async () => {
  const trt = await readTensorBundle(vars('tensorflow/tensorrt_testdata/tf_variablev2_saved_model'));
  assert.deepEqual(trt.read('var1'), { dtype: 1, shape: [1, 1, 1], values: Float32Array.of(13) });
  assert.deepEqual(trt.read('var2'), { dtype: 1, shape: [1, 1, 1], values: Float32Array.of(37) });
  const tfx = await readTensorBundle(vars('tfx/chicago_taxi_estimator_wide_deep/1646034756'));
  const kernel = tfx.read('dnn/hiddenlayer_1/kernel');
  assert.deepEqual(kernel.shape, [100, 70]);
  assert.equal(kernel.values.length, 7000);
  assert.equal(tfx.read('global_step').dtype, 9);
  const keys = tfx.keys();
  assert.deepEqual(keys, [...keys].sort());
});

test('a flipped bit in an index block fails with CTR_ERR_CHECKSUM naming the file', opts, async () => {
  const prefix = copyFixture('tfjs/times_three_float');
  flipByte(`${prefix}.index`, 10);
  const r = await codeOf(() => readTensorBundle(prefix));
  assert.equal(r.code, 'CTR_ERR_CHECKSUM');
  assert.match(r.message!, /variables\.index/);
});

test('a bad magic, a truncated index or a missing index is CTR_ERR_BUNDLE_CORRUPT', opts, async () => {
  const magic = copyFixture('tfjs/times_three_float');
  const size = readFileSync(`${magic}.index`).length;
  flipByte(`${magic}.index`, size - 1);
  assert.equal((await codeOf(() => readTensorBundle(magic))).code, 'CTR_ERR_BUNDLE_CORRUPT');
  const truncated = copyFixture('tfjs/times_three_float');
  truncateSync(`${truncated}.index`, 30);
  assert.equal((await codeOf(() => readTensorBundle(truncated))).code, 'CTR_ERR_BUNDLE_CORRUPT');
  const missing = copyFixture('tfjs/times_three_float');
  unlinkSync(`${missing}.index`);
  assert.equal((await codeOf(() => readTensorBundle(missing))).code, 'CTR_ERR_BUNDLE_CORRUPT');
});

test('a missing or truncated shard is CTR_ERR_BUNDLE_CORRUPT naming the shard file', opts, async () => {
  const missing = copyFixture('tfserving/saved_model_half_plus_two_cpu/00000123');
  unlinkSync(`${missing}.data-00000-of-00001`);
  const r = await codeOf(() => readTensorBundle(missing));
  assert.equal(r.code, 'CTR_ERR_BUNDLE_CORRUPT');
  assert.match(r.message!, /variables\.data-00000-of-00001/);
  const truncated = copyFixture('tfserving/saved_model_half_plus_two_cpu/00000123');
  truncateSync(`${truncated}.data-00000-of-00001`, 10);
  assert.equal((await codeOf(() => readTensorBundle(truncated))).code, 'CTR_ERR_BUNDLE_CORRUPT');
});

test('a flipped bit in tensor data fails the read with CTR_ERR_CHECKSUM naming the key', opts, async () => {
  const prefix = copyFixture('tensorflow/tensorrt_testdata/tf_variablev2_saved_model');
  flipByte(`${prefix}.data-00000-of-00001`, 5); // var2 is bytes 4..8
  const b = await readTensorBundle(prefix);
  assert.deepEqual(b.read('var1').values, Float32Array.of(13));
  const r = await codeOf(() => b.read('var2'));
  assert.equal(r.code, 'CTR_ERR_CHECKSUM');
  assert.match(r.message!, /var2/);
});

test('a corrupted object graph string fails at open with CTR_ERR_CHECKSUM', opts, async () => {
  const prefix = copyFixture('tfjs/times_three_float');
  const data = readFileSync(`${prefix}.data-00000-of-00001`);
  flipByte(`${prefix}.data-00000-of-00001`, data.length - 3);
  assert.equal((await codeOf(() => readTensorBundle(prefix))).code, 'CTR_ERR_CHECKSUM');
});

test('reading an absent key is CTR_ERR_MISSING_VARIABLE', opts, async () => {
  const b = await readTensorBundle(vars('tfjs/times_two_int'));
  assert.equal(b.has('nope'), false);
  assert.equal((await codeOf(() => b.read('nope'))).code, 'CTR_ERR_MISSING_VARIABLE');
});
