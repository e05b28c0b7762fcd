import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCtrError } from '../../../src/errors/registry.ts';
import { DataType, type TensorProto } from '../../../src/graph/proto/types.ts';
import { floatToBfloat16Bits, floatToHalfBits, halfBitsToFloat } from '../../../src/graph/tensor/half.ts';
import {
  tensorProtoToValues,
  valuesToTensorProto,
  type DecodedTensor,
} from '../../../src/graph/tensor/tensor-values.ts';

const shape = (...dims: number[]) => ({ dim: dims.map((size) => ({ size })), unknownRank: false });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(isCtrError(err), `expected a CtrError, got ${String(err)}`);
    return err.code;
  }
  return undefined;
}

const le = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const cases: { name: string; proto: TensorProto; expected: DecodedTensor }[] = [
  {
    name: 'a single float_val fills the whole shape (Const zeros)',
    proto: { dtype: DataType.DT_FLOAT, tensorShape: shape(2, 3), floatVal: [0] },
    expected: { dtype: 1, shape: [2, 3], values: new Float32Array(6) },
  },
  {
    name: 'fewer int_val values than elements repeat the last one',
    proto: { dtype: DataType.DT_INT32, tensorShape: shape(5), intVal: [1, 2, 7] },
    expected: { dtype: 3, shape: [5], values: Int32Array.of(1, 2, 7, 7, 7) },
  },
  {
    name: 'no values at all give zeros',
    proto: { dtype: DataType.DT_DOUBLE, tensorShape: shape(3) },
    expected: { dtype: 2, shape: [3], values: new Float64Array(3) },
  },
  {
    name: 'an empty tensor is fine',
    proto: { dtype: DataType.DT_FLOAT, tensorShape: shape(0, 4) },
    expected: { dtype: 1, shape: [0, 4], values: new Float32Array(0) },
  },
  {
    name: 'a scalar has shape []',
    proto: { dtype: DataType.DT_FLOAT, floatVal: [0.5] },
    expected: { dtype: 1, shape: [], values: Float32Array.of(0.5) },
  },
  {
    name: 'tensor_content is little-endian float32',
    proto: { dtype: DataType.DT_FLOAT, tensorShape: shape(2), tensorContent: le(Float32Array.of(1.5, -2)) },
    expected: { dtype: 1, shape: [2], values: Float32Array.of(1.5, -2) },
  },
  {
    name: 'int64 values are bigint, from int64_val or content',
    proto: { dtype: DataType.DT_INT64, tensorShape: shape(2), int64Val: [-(2n ** 62n), 3n] },
    expected: { dtype: 9, shape: [2], values: BigInt64Array.of(-(2n ** 62n), 3n) },
  },
  {
    name: 'bool_val becomes 0/1 bytes',
    proto: { dtype: DataType.DT_BOOL, tensorShape: shape(3), boolVal: [true, false] },
    expected: { dtype: 10, shape: [3], values: Uint8Array.of(1, 0, 0) },
  },
  {
    name: 'strings are raw bytes',
    proto: { dtype: DataType.DT_STRING, tensorShape: shape(2), stringVal: [Uint8Array.of(104, 105)] },
    expected: { dtype: 7, shape: [2], values: [Uint8Array.of(104, 105), Uint8Array.of(104, 105)] },
  },
  {
    name: 'half_val holds IEEE half bits',
    proto: { dtype: DataType.DT_HALF, tensorShape: shape(3), halfVal: [0x3c00, 0xc000, 0x3800] },
    expected: { dtype: 19, shape: [3], values: Float32Array.of(1, -2, 0.5) },
  },
  {
    name: 'bfloat16 content is the upper half of float32',
    proto: {
      dtype: DataType.DT_BFLOAT16,
      tensorShape: shape(2),
      tensorContent: le(Uint16Array.of(0x3f80, 0xc040)),
    },
    expected: { dtype: 14, shape: [2], values: Float32Array.of(1, -3) },
  },
  {
    name: 'int8 content is sign-extended into Int32Array',
    proto: { dtype: DataType.DT_INT8, tensorShape: shape(2), tensorContent: Uint8Array.of(0xff, 0x05) },
    expected: { dtype: 6, shape: [2], values: Int32Array.of(-1, 5) },
  },
  {
    name: 'uint32 content keeps values above 2^31 exact in a Float64Array',
    proto: {
      dtype: DataType.DT_UINT32,
      tensorShape: shape(1),
      tensorContent: le(Uint32Array.of(4294967295)),
    },
    expected: { dtype: 22, shape: [1], values: Float64Array.of(4294967295) },
  },
];

for (const c of cases) {
  test(`tensorProtoToValues: ${c.name}`, () => {
    assert.deepEqual(tensorProtoToValues(c.proto, 'case'), c.expected);
  });
}

test('unaligned tensor_content is copied into an aligned buffer', () => {
  const buf = new Uint8Array(9);
  buf.set(le(Float32Array.of(3, 4)), 1);
  const t = tensorProtoToValues({ dtype: 1, tensorShape: shape(2), tensorContent: buf.subarray(1) }, 'u');
  assert.deepEqual(t.values, Float32Array.of(3, 4));
});

test('a declared shape of 10^12 elements is refused before anything is allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const proto = { dtype: DataType.DT_FLOAT, tensorShape: shape(1_000_000, 1_000_000), floatVal: [0] };
  assert.equal(
    codeOf(() => tensorProtoToValues(proto, 'huge')),
    'CTR_ERR_TENSOR_TOO_LARGE',
  );
  assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
});

test('negative dims, content shorter than the shape and a lowered limit are refused', () => {
  const neg = { dtype: 1, tensorShape: shape(-1, 3), floatVal: [1] };
  const short = { dtype: 1, tensorShape: shape(4), tensorContent: new Uint8Array(8) };
  const small = { dtype: 1, tensorShape: shape(10), floatVal: [1] };
  assert.equal(
    codeOf(() => tensorProtoToValues(neg, 'n')),
    'CTR_ERR_TENSOR_TOO_LARGE',
  );
  assert.equal(
    codeOf(() => tensorProtoToValues(short, 's')),
    'CTR_ERR_TENSOR_TOO_LARGE',
  );
  assert.equal(
    codeOf(() => tensorProtoToValues(small, 'l', 9)),
    'CTR_ERR_TENSOR_TOO_LARGE',
  );
  assert.equal(tensorProtoToValues(small, 'l', 10).values.length, 10);
});

test('complex and resource dtypes are refused with CTR_ERR_UNSUPPORTED_DTYPE', () => {
  assert.equal(
    codeOf(() => tensorProtoToValues({ dtype: DataType.DT_COMPLEX64 }, 'c')),
    'CTR_ERR_UNSUPPORTED_DTYPE',
  );
  assert.equal(
    codeOf(() => tensorProtoToValues({ dtype: DataType.DT_RESOURCE }, 'r')),
    'CTR_ERR_UNSUPPORTED_DTYPE',
  );
});

test('valuesToTensorProto round-trips every supported dtype', () => {
  const tensors: DecodedTensor[] = [
    { dtype: 1, shape: [2, 2], values: Float32Array.of(1, -2.5, 3e-8, Infinity) },
    { dtype: 2, shape: [1], values: Float64Array.of(Math.PI) },
    { dtype: 3, shape: [3], values: Int32Array.of(-1, 0, 2 ** 31 - 1) },
    { dtype: 4, shape: [2], values: Int32Array.of(0, 255) },
    { dtype: 5, shape: [2], values: Int32Array.of(-32768, 32767) },
    { dtype: 6, shape: [2], values: Int32Array.of(-128, 127) },
    { dtype: 17, shape: [1], values: Int32Array.of(65535) },
    { dtype: 22, shape: [1], values: Float64Array.of(4294967295) },
    { dtype: 9, shape: [2], values: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n) },
    { dtype: 23, shape: [1], values: BigInt64Array.of(-1n) },
    { dtype: 10, shape: [2], values: Uint8Array.of(1, 0) },
    { dtype: 19, shape: [3], values: Float32Array.of(1, -0.5, 65504) },
    { dtype: 14, shape: [2], values: Float32Array.of(1, -3) },
    { dtype: 7, shape: [2], values: [Uint8Array.of(1, 2), new Uint8Array(0)] },
    { dtype: 1, shape: [0], values: new Float32Array(0) },
  ];
  for (const t of tensors) assert.deepEqual(tensorProtoToValues(valuesToTensorProto(t), 'rt'), t);
});

test('float to half rounds to nearest even and saturates to infinity', () => {
  assert.equal(floatToHalfBits(1), 0x3c00);
  assert.equal(floatToHalfBits(65520), 0x7c00);
  assert.equal(floatToHalfBits(2 ** -24), 0x0001);
  assert.equal(halfBitsToFloat(floatToHalfBits(1 + 2 ** -11)), 1);
  assert.equal(halfBitsToFloat(floatToHalfBits(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.ok(Number.isNaN(halfBitsToFloat(floatToHalfBits(NaN))));
  assert.equal(floatToBfloat16Bits(1), 0x3f80);
  assert.equal(floatToBfloat16Bits(1 + 2 ** -8), 0x3f80);
});
