import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodePredictResponse } from '../../src/http/tf-serving-codec.ts';
import { MAX_DECIMAL_BYTES, writeDecimal, writeDecimalInto } from '../../src/http/write-decimal.ts';

/** The reply as text (encodePredictResponse writes bytes). */
const encodeText = (...args: Parameters<typeof encodePredictResponse>) =>
  encodePredictResponse(...args).toString();

// Expected texts from TF Serving's own tests, tensorflow_serving/util/json_tensor_test.cc:
// FromJsonSingleFloatTensorSixDigitPrecision, FromJsonSingleFloatTensorNonFinite, FromJsonMultipleNamedTensors
// (float_tensor, double_scalar_tensor), JsonFromClassificationResult and JsonFromRegressionResult(WithNonFinite).
const FLOAT_TABLE: [number, string][] = [
  [9000000, '9e+06'],
  [999999, '999999.0'],
  [0.5, '0.5'],
  [0.0003, '0.0003'],
  [0.00003, '3e-05'],
  [555557.5, '555557.5'],
  [NaN, 'NaN'],
  [Infinity, 'Infinity'],
  [3, '3.0'],
  [-Infinity, '-Infinity'],
  [1, '1.0'],
  [2, '2.0'],
  [0.2, '0.2'],
  [0.7, '0.7'],
  [0.1, '0.1'],
  [0.9, '0.9'],
];
const DOUBLE_TABLE: [number, string][] = [
  [8, '8.0'],
  [9, '9.0'],
];

test("float text equals TF Serving's on the values of its json_tensor tests", () => {
  for (const [v, text] of FLOAT_TABLE) assert.equal(writeDecimal(Math.fround(v), true), text, String(v));
  for (const [v, text] of DOUBLE_TABLE) assert.equal(writeDecimal(v, false), text, String(v));
});

test('FromJsonSingleFloatTensorSixDigitPrecision and ...NonFinite through the :predict encoder', () => {
  const float = (shape: number[], values: number[]) => ({
    dtype: 'DT_FLOAT' as const,
    shape,
    values: Float32Array.from(values),
  });
  assert.equal(
    encodeText({ float_tensor: float([2, 3], [9000000, 999999, 0.5, 0.0003, 0.00003, 555557.5]) }, 'row'),
    '{"predictions":[[9e+06,999999.0,0.5],[0.0003,3e-05,555557.5]]}',
  );
  assert.equal(
    encodeText({ float_tensor: float([2, 2], [NaN, Infinity, 3, -Infinity]) }, 'row'),
    '{"predictions":[[NaN,Infinity],[3.0,-Infinity]]}',
  );
  const double = { dtype: 'DT_DOUBLE' as const, shape: [2], values: Float64Array.from([8, 9]) };
  assert.equal(
    encodeText({ double_scalar_tensor: double, float_tensor: float([2, 1], [1, 2]) }, 'columnar'),
    '{"outputs":{"double_scalar_tensor":[8.0,9.0],"float_tensor":[[1.0],[2.0]]}}',
  );
});

// printf's %.9g / %.17g round the exact binary value half to even: 2^-13 = 0.0001220703125 is a tie at 9 digits
// (toPrecision would round it up to ...313), and 16777217 is no float32 (it reads as 16777216).
test('beyond six digits: max_digits10 with printf rounding and exponent rules', () => {
  assert.equal(writeDecimal(Math.fround(2 ** -13), true), '0.000122070312');
  assert.equal(writeDecimal(2 ** -13, false), '0.0001220703125');
  assert.equal(writeDecimal(Math.fround(16777217), true), '16777216.0');
  assert.equal(writeDecimal(Math.fround(123.456), true), '123.456');
  assert.equal(writeDecimal(Math.fround(1e-8), true), '1e-08');
  assert.equal(writeDecimal(Math.fround(3.4028234663852886e38), true), '3.40282347e+38');
  assert.equal(writeDecimal(Math.fround(1.4e-45), true), '1.4013e-45');
  assert.equal(writeDecimal(1 / 3, false), '0.33333333333333331');
  assert.equal(writeDecimal(0.1 + 0.2, false), '0.30000000000000004');
  assert.equal(writeDecimal(-0, true), '-0.0');
  assert.equal(writeDecimal(Math.fround(-2.5), true), '-2.5');
});

/** Significant digits of a %g text (sign, point, exponent and leading zeros dropped). */
const significant = (text: string) =>
  text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');

test('every float32 reads back as itself, with at most 6 digits when 6 are enough, else at most 9', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const text = writeDecimal(v, true);
      assert.ok(Object.is(Math.fround(Number(text)), v), text);
      assert.ok(/[.e]/.test(text), text);
      const six = Math.fround(Number(v.toPrecision(6)));
      const digits = significant(text).length;
      if (v === 0 || six === v) assert.ok(digits <= 6, text);
      else assert.ok(digits > 6 && digits <= 9, text);
    }),
    { numRuns: 20000 },
  );
});

test('every double reads back as itself, with at most 6 digits when 6 are enough, else at most 17', () => {
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const text = writeDecimal(v, false);
      assert.ok(Object.is(Number(text), v), text);
      const digits = significant(text).length;
      if (v === 0 || Number(v.toPrecision(6)) === v) assert.ok(digits <= 6, text);
      else assert.ok(digits > 6 && digits <= 17, text);
    }),
    { numRuns: 5000 },
  );
});

/** writeDecimalInto's bytes for one value, written after a marker byte (the offset must be honoured). */
function bytesText(v: number, float32: boolean): string {
  const buf = Buffer.alloc(1 + MAX_DECIMAL_BYTES, 0x7e);
  const end = writeDecimalInto(buf, 1, v, float32);
  assert.ok(end <= buf.length, `wrote past MAX_DECIMAL_BYTES for ${v}`);
  assert.equal(buf[0], 0x7e);
  return buf.subarray(1, end).toString('latin1');
}

test('writeDecimalInto writes exactly the text writeDecimal returns, for every kind of float32 and double', () => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  // Every exponent of float32 (random bit patterns), then probabilities and logits, the bulk of real replies.
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (bits) => {
      u32[0] = bits;
      assert.equal(bytesText(f32[0]!, true), writeDecimal(f32[0]!, true));
    }),
    { numRuns: 50000 },
  );
  fc.assert(
    fc.property(fc.float({ min: -20, max: 20, noNaN: true }), (v) => {
      assert.equal(bytesText(v, true), writeDecimal(v, true));
      assert.equal(bytesText(v, false), writeDecimal(v, false));
    }),
    { numRuns: 50000 },
  );
  fc.assert(
    fc.property(fc.double(), (v) => assert.equal(bytesText(v, false), writeDecimal(v, false))),
    { numRuns: 20000 },
  );
  const edges = [
    ...FLOAT_TABLE.map(([v]) => Math.fround(v)),
    0,
    -0,
    2 ** -13,
    16777216,
    1e-8,
    1e-4,
    9.99999e-5,
    1e-5,
    999999.5,
    1e6,
    1e22,
    1e23,
    1e30,
    3.4028234663852886e38,
    1.4e-45,
    1e-38,
    -2.5,
    0.30000001192092896,
  ].map((v) => Math.fround(v));
  for (const v of edges) {
    assert.equal(bytesText(v, true), writeDecimal(v, true), String(v));
    assert.equal(bytesText(-v, true), writeDecimal(-v, true), String(-v));
    assert.equal(bytesText(v, false), writeDecimal(v, false), String(v));
  }
});
