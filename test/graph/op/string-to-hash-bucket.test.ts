import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { bigqueryFingerprint, fingerprint32, fingerprint64 } from 'farmhash-modern';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr } from '../../../src/graph/builder/graph-builder.ts';
import { runOp } from '../../helpers/run-op.ts';

before(async () => {
  await initBackend();
});

test("farmhash-modern passes its own test vectors and TensorFlow's Fingerprint64 values", () => {
  // ForbesLindesay/farmhash-modern tests/src/test.mjs
  assert.equal(fingerprint32('hello world'), 430397466);
  assert.equal(
    bigqueryFingerprint(
      'j4VzqT2cFawTN6Ke/BiklGM6ukh+WbKu5OzdXZVD/wYcju7f3PxD1BrD3jJ3ptjdca5b+uiAzyHg5UNiz80sTA==',
    ),
    -4106804224407357979n,
  );
  // tensorflow/python/kernel_tests/strings_ops/string_to_hash_bucket_op_test.py comments
  assert.equal(fingerprint64('a'), 12917804110809363939n);
  assert.equal(fingerprint64('b'), 11795596070477164822n);
  assert.equal(fingerprint64('c'), 11430444447143000872n);
  assert.equal(fingerprint64('d'), 4470636696479570465n);
});

const strings = (xs: string[]) => ({ dtype: 'DT_STRING' as const, shape: [xs.length], values: xs });

test('StringToHashBucketFast gives TensorFlow test values, on raw bytes', async () => {
  const [one] = await runOp('StringToHashBucketFast', [strings(['a', 'b', 'c'])], { num_buckets: attr.i(1) });
  assert.deepEqual(one!.values, [0, 0, 0]);
  const [ten] = await runOp('StringToHashBucketFast', [strings(['a', 'b', 'c', 'd'])], {
    num_buckets: attr.i(10),
  });
  assert.deepEqual(ten!.values, [9, 2, 2, 5]);
  assert.equal(ten!.dtype, 'int32');
  // Bytes that are not UTF-8 hash as bytes: compared with the package on the same bytes.
  const raw = new Uint8Array([0xff, 0xfe, 0x00, 0x80]);
  const [bytes] = await runOp('StringToHashBucketFast', [{ dtype: 'DT_STRING', shape: [1], values: [raw] }], {
    num_buckets: attr.i(1000003),
  });
  assert.deepEqual(bytes!.values, [Number(fingerprint64(raw) % 1000003n)]);
});

test('StringToHashBucketStrong gives TensorFlow test values and refuses a key of the wrong length', async () => {
  const key = (k: number[]) => ({ list: { i: k } });
  const [out] = await runOp('StringToHashBucketStrong', [strings(['a', 'b', 'c'])], {
    num_buckets: attr.i(10),
    key: key([98765, 132]),
  });
  assert.deepEqual(out!.values, [4, 2, 8]);
  const [one] = await runOp('StringToHashBucketStrong', [strings(['a', 'b', 'c'])], {
    num_buckets: attr.i(1),
    key: key([123, 345]),
  });
  assert.deepEqual(one!.values, [0, 0, 0]);
  await assert.rejects(
    runOp('StringToHashBucketStrong', [strings(['a'])], { num_buckets: attr.i(10), key: key([98765]) }),
    { code: 'CTR_ERR_INVALID_GRAPH' },
  );
});
