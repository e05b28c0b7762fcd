import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32c, unmaskCrc } from '../../../src/graph/bundle/crc32c.ts';
import { parseBlock, readVarint } from '../../../src/graph/bundle/table-reader.ts';
import { readTensorBundle } from '../../../src/graph/bundle/tensor-bundle.ts';
import { writeSavedModel } from '../../../src/graph/bundle/write-saved-model.ts';
import { writeTensorBundle } from '../../../src/graph/bundle/write-tensor-bundle.ts';
import { decodeSavedModel } from '../../../src/graph/proto/decode.ts';
import type { DecodedTensor } from '../../../src/graph/tensor/tensor-values.ts';
import {
  BENCH_REFERENCE,
  fixture,
  skipWithoutBenchReference,
  skipWithoutFixtures,
} from '../../helpers/fixtures.ts';

const opts = { skip: skipWithoutFixtures };
const tmp = mkdtempSync(join(tmpdir(), 'ctr-write-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshPrefix = () => join(tmp, `b${n++}`, 'variables');

async function readAll(prefix: string): Promise<Record<string, DecodedTensor>> {
  const b = await readTensorBundle(prefix);
  return Object.fromEntries(b.keys().map((k) => [k, b.read(k)]));
}

function sampleTensors(): Record<string, DecodedTensor> {
  const big = new Float32Array(650_000).map((_, i) => Math.sin(i));
  const out: Record<string, DecodedTensor> = {
    'embedding/E': { dtype: 1, shape: [20_000, 32], values: big.subarray(0, 640_000) },
    'dense/bias': { dtype: 1, shape: [3], values: Float32Array.of(0.5, -1, 2) },
    'dense/kernel': { dtype: 2, shape: [2, 2], values: Float64Array.of(1, 2, 3, 4) },
    empty: { dtype: 1, shape: [0, 7], values: new Float32Array(0) },
    global_step: { dtype: 9, shape: [], values: BigInt64Array.of(123456789012345n) },
    ids: { dtype: 3, shape: [4], values: Int32Array.of(-1, 0, 1, 2 ** 31 - 1) },
    mask: { dtype: 10, shape: [3], values: Uint8Array.of(1, 0, 1) },
    half: { dtype: 19, shape: [2], values: Float32Array.of(1, -0.25) },
    vocab: {
      dtype: 7,
      shape: [3],
      values: [Uint8Array.of(97), new Uint8Array(0), new Uint8Array(300).fill(7)],
    },
    'é/unicode key': { dtype: 6, shape: [2], values: Int32Array.of(-128, 127) },
  };
  for (let i = 0; i < 60; i++)
    out[`layer_${String(i).padStart(2, '0')}/w`] = { dtype: 1, shape: [1], values: Float32Array.of(i) };
  return out;
}

test('a written bundle reads back identical, over several blocks and restart points', async () => {
  const prefix = freshPrefix();
  const tensors = sampleTensors();
  await writeTensorBundle(prefix, tensors, { blockSizeBytes: 256 });
  assert.deepEqual(await readAll(prefix), tensors);
});

test('a bundle spread over three shards reads back identical', async () => {
  const prefix = freshPrefix();
  const tensors = sampleTensors();
  await writeTensorBundle(prefix, tensors, { numShards: 3 });
  const b = await readTensorBundle(prefix);
  assert.equal(b.header.numShards, 3);
  assert.deepEqual(new Set(b.keys().map((k) => b.entry(k).shardId)), new Set([0, 1, 2]));
  assert.deepEqual(await readAll(prefix), tensors);
  assert.ok(existsSync(`${prefix}.data-00002-of-00003`));
});

test('the written index has the table footer, magic number and valid block checksums', async () => {
  const prefix = freshPrefix();
  await writeTensorBundle(prefix, sampleTensors(), { blockSizeBytes: 512 });
  const index = readFileSync(`${prefix}.index`);
  const footer = index.subarray(index.length - 48);
  assert.deepEqual([...footer.subarray(40)], [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
  let pos = 0;
  const handles: [number, number][] = [];
  for (let h = 0; h < 2; h++) {
    const [offset, p1] = readVarint(footer, pos, 'f');
    const [size, p2] = readVarint(footer, p1, 'f');
    handles.push([offset, size]);
    pos = p2;
  }
  assert.ok(
    footer.subarray(pos, 40).every((b) => b === 0),
    'footer padding is zero',
  );
  const [, [indexOffset, indexSize]] = handles as [[number, number], [number, number]];
  assert.equal(
    indexOffset + indexSize + 5,
    index.length - 48,
    'the index block sits right before the footer',
  );
  const dataHandles = parseBlock(index.subarray(indexOffset, indexOffset + indexSize), 'index').map((e) => {
    const [o, q] = readVarint(e.value, 0, 'h');
    return [o, readVarint(e.value, q, 'h')[0]] as const;
  });
  assert.ok(dataHandles.length > 2);
  for (const [o, s] of [...handles, ...dataHandles]) {
    assert.equal(index[o + s], 0, 'blocks are uncompressed');
    assert.equal(unmaskCrc(index.readUInt32LE(o + s + 1)), crc32c(index.subarray(o, o + s + 1)));
  }
});

for (const model of [
  'tensorflow/tensorrt_testdata/tf_variablev2_saved_model',
  'tfserving/saved_model_half_plus_two_2_versions/00000123',
  'tfx/chicago_taxi_estimator_wide_deep/1646034756',
]) {
  test(
    `rewriting the TensorFlow checkpoint of ${model.split('/')[1]} gives the same bytes`,
    opts,
    async () => {
      const src = fixture(`${model}/variables/variables`);
      const prefix = freshPrefix();
      await writeTensorBundle(prefix, await readAll(src));
      assert.ok(readFileSync(`${prefix}.index`).equals(readFileSync(`${src}.index`)), 'index bytes');
      const data = 'data-00000-of-00001';
      assert.ok(readFileSync(`${prefix}.${data}`).equals(readFileSync(`${src}.${data}`)), 'data bytes');
    },
  );
}

test('writeSavedModel writes a SavedModel and checkpoint that read back as the originals', opts, async () => {
  const model = fixture('tfserving/saved_model_half_plus_two_cpu/00000123');
  const sm = decodeSavedModel(readFileSync(join(model, 'saved_model.pb')), 'saved_model.pb');
  const variables = await readAll(join(model, 'variables/variables'));
  const dir = join(tmp, 'sm', '1');
  await writeSavedModel(dir, { metaGraphs: sm.metaGraphs, variables });
  assert.deepEqual(decodeSavedModel(readFileSync(join(dir, 'saved_model.pb')), 'written'), sm);
  assert.deepEqual(await readAll(join(dir, 'variables/variables')), variables);
});

test(
  'the 2.5 MB reference student weights round-trip through a bundle as aligned views',
  { skip: skipWithoutBenchReference },
  async () => {
    const meta = JSON.parse(readFileSync(join(BENCH_REFERENCE, 'meta.json'), 'utf8')) as {
      layout: [string, number[]][];
    };
    const weights = readFileSync(join(BENCH_REFERENCE, 'weights.bin'));
    const tensors: Record<string, DecodedTensor> = {};
    let offset = 0;
    for (const [name, shape] of meta.layout) {
      const count = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(count);
      new Uint8Array(values.buffer).set(weights.subarray(offset, offset + count * 4));
      tensors[`student/${name}`] = { dtype: 1, shape, values };
      offset += count * 4;
    }
    assert.equal(offset, weights.length, 'meta.json layout covers weights.bin');
    const prefix = freshPrefix();
    await writeTensorBundle(prefix, tensors);
    const b = await readTensorBundle(prefix);
    const e = b.read('student/E');
    const values = e.values as Float32Array;
    assert.deepEqual(e.shape, [20_000, 32]);
    assert.equal(values.byteOffset % 4, 0);
    const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    assert.ok(bytes.equals(weights.subarray(0, 2_560_000)));
    assert.ok(
      values.subarray(0, 32).every((v) => v === 0),
      'row 0, the padding id, is zero',
    );
    assert.deepEqual(await readAll(prefix), tensors);
  },
);
