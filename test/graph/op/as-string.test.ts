import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr } from '../../../src/graph/builder/graph-builder.ts';
import type { AttrValue } from '../../../src/graph/proto/types.ts';
import { runOp, text } from '../../helpers/run-op.ts';

before(async () => {
  await initBackend();
});

// tensorflow/python/kernel_tests/strings_ops/as_string_op_test.py: each attr combination against Python's
// printf of the same format ("%g" % x ...), written out here.
const FLOATS = [0, 1, -1, 0.5, 0.25, 0.125, Infinity, NaN, -Infinity];

async function asString(
  values: number[],
  dtype: 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL',
  attrs: Record<string, AttrValue>,
) {
  const [out] = await runOp('AsString', [{ dtype, shape: [values.length], values }], {
    T: attr.type(dtype),
    ...attrs,
  });
  assert.equal(out!.dtype, 'string');
  return text(out!.values);
}

test('AsString formats floats as TensorFlow does for shortest, scientific, plain, width and fill', async () => {
  assert.deepEqual(await asString(FLOATS, 'DT_FLOAT', { shortest: attr.b(true) }), [
    '0',
    '1',
    '-1',
    '0.5',
    '0.25',
    '0.125',
    'inf',
    'nan',
    '-inf',
  ]);
  assert.deepEqual(await asString(FLOATS, 'DT_FLOAT', { scientific: attr.b(true) }), [
    '0.000000e+00',
    '1.000000e+00',
    '-1.000000e+00',
    '5.000000e-01',
    '2.500000e-01',
    '1.250000e-01',
    'inf',
    'nan',
    '-inf',
  ]);
  assert.deepEqual(await asString(FLOATS, 'DT_FLOAT', {}), [
    '0.000000',
    '1.000000',
    '-1.000000',
    '0.500000',
    '0.250000',
    '0.125000',
    'inf',
    'nan',
    '-inf',
  ]);
  assert.deepEqual(
    await asString(FLOATS, 'DT_FLOAT', { width: attr.i(3), fill: attr.s('0'), shortest: attr.b(true) }),
    ['000', '001', '-01', '0.5', '0.25', '0.125', 'inf', 'nan', '-inf'],
  );
  assert.deepEqual(await asString(FLOATS, 'DT_FLOAT', { precision: attr.i(10), width: attr.i(3) }), [
    '0.0000000000',
    '1.0000000000',
    '-1.0000000000',
    '0.5000000000',
    '0.2500000000',
    '0.1250000000',
    'inf',
    'nan',
    '-inf',
  ]);
  assert.deepEqual(await asString([1.5, -2], 'DT_FLOAT', { width: attr.i(8), fill: attr.s('-') }), [
    '1.500000',
    '-2.000000',
  ]);
  assert.deepEqual(await asString([1.5], 'DT_FLOAT', { width: attr.i(12) }), ['    1.500000']);
});

test('AsString rounds the exact binary value half to even, as glibc printf', async () => {
  // 0.125 and 2.5 are exact ties; float32(0.1) is 0.100000001490116119384765625.
  assert.deepEqual(await asString([0.125, 2.5, 3.5], 'DT_FLOAT', { precision: attr.i(2) }), [
    '0.12',
    '2.50',
    '3.50',
  ]);
  assert.deepEqual(await asString([0.125, 2.5, 3.5], 'DT_FLOAT', { precision: attr.i(0) }), ['0', '2', '4']);
  assert.deepEqual(await asString([0.1], 'DT_FLOAT', { precision: attr.i(10) }), ['0.1000000015']);
  assert.deepEqual(await asString([123456789], 'DT_FLOAT', { shortest: attr.b(true) }), ['1.23457e+08']);
  assert.deepEqual(await asString([0.0001, 0.00001], 'DT_FLOAT', { shortest: attr.b(true) }), [
    '0.0001',
    '1e-05',
  ]);
});

test('AsString formats integers and bools, and refuses float-only attrs on integers', async () => {
  const ints = [0, -1, 1, -128, 127, -101, 101, -2147483648, 2147483647];
  assert.deepEqual(await asString(ints, 'DT_INT32', {}), [
    '0',
    '-1',
    '1',
    '-128',
    '127',
    '-101',
    '101',
    '-2147483648',
    '2147483647',
  ]);
  assert.deepEqual(await asString(ints.slice(0, 7), 'DT_INT32', { width: attr.i(3) }), [
    '  0',
    ' -1',
    '  1',
    '-128',
    '127',
    '-101',
    '101',
  ]);
  assert.deepEqual(await asString(ints.slice(0, 7), 'DT_INT32', { width: attr.i(3), fill: attr.s('0') }), [
    '000',
    '-01',
    '001',
    '-128',
    '127',
    '-101',
    '101',
  ]);
  assert.deepEqual(await asString([0, 1], 'DT_BOOL', {}), ['false', 'true']);
  await assert.rejects(asString([1], 'DT_INT32', { precision: attr.i(0) }), {
    code: 'CTR_ERR_INVALID_GRAPH',
  });
  await assert.rejects(asString([1], 'DT_FLOAT', { scientific: attr.b(true), shortest: attr.b(true) }), {
    code: 'CTR_ERR_INVALID_GRAPH',
  });
  await assert.rejects(asString([1], 'DT_FLOAT', { fill: attr.s('ab') }), { code: 'CTR_ERR_INVALID_GRAPH' });
});
