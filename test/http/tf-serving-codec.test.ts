import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { SignatureSpec } from '../../src/graph/model.ts';
import { parseJsonBody } from '../../src/http/json-body.ts';
import { formatNumber } from '../../src/http/json-writer.ts';
import { decodePredictBody, encodePredictResponse } from '../../src/http/tf-serving-codec.ts';

/** The reply as text (encodePredictResponse writes bytes). */
const encodeText = (...args: Parameters<typeof encodePredictResponse>) =>
  encodePredictResponse(...args).toString();

const spec = (inputs: Record<string, SignatureSpec['inputs'][string]['dtype']>): SignatureSpec => ({
  name: 'serving_default',
  methodName: 'tensorflow/serving/predict',
  inputs: Object.fromEntries(
    Object.entries(inputs).map(([k, dtype]) => [k, { tensorName: `${k}:0`, dtype, shape: null }]),
  ),
  outputs: {},
});

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

test('a body with NaN, Infinity and -Infinity parses to those floats, leaving strings that spell them alone', () => {
  const body = parseJsonBody(
    '{"instances": [NaN, Infinity, -Infinity, 1.5], "s": "NaN Infinity \\" NaN"}',
  ) as {
    instances: number[];
    s: string;
  };
  assert.ok(Number.isNaN(body.instances[0]));
  assert.equal(body.instances[1], Infinity);
  assert.equal(body.instances[2], -Infinity);
  assert.equal(body.instances[3], 1.5);
  assert.equal(body.s, 'NaN Infinity " NaN');
});

test('malformed and empty bodies fail with CTR_ERR_BAD_REQUEST', () => {
  for (const text of ['', '  ', '{"instances": [1,', 'NaNa', '{"a": Infinit}', 'instances=1']) {
    assert.equal(
      codeOf(() => parseJsonBody(text)),
      'CTR_ERR_BAD_REQUEST',
      text,
    );
  }
});

test('the tolerant parser agrees with JSON.parse on every valid JSON document', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value);
      assert.deepEqual(parseJsonBody(text), JSON.parse(text));
    }),
    { numRuns: 300 },
  );
});

test('non-finite floats survive a write and a parse (TF Serving writes them as bare tokens)', () => {
  fc.assert(
    fc.property(fc.array(fc.float({ noDefaultInfinity: false, noNaN: false })), (values) => {
      const f32 = Float32Array.from(values);
      const text = `[${Array.from(f32, (v) => formatNumber(v, true)).join(',')}]`;
      const back = parseJsonBody(text) as number[];
      assert.deepEqual(Float32Array.from(back), f32);
    }),
    { numRuns: 300 },
  );
});

test('row format with one input makes a batch tensor shaped by the JSON nesting', () => {
  const d = decodePredictBody(
    {
      instances: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    },
    spec({ x: 'DT_FLOAT' }),
  );
  assert.equal(d.format, 'row');
  assert.deepEqual(d.inputs.x!.shape, [3, 2]);
  assert.deepEqual(Array.from(d.inputs.x!.values as Float32Array), [1, 2, 3, 4, 5, 6]);
});

test('row format with named inputs gathers each input over the instances', () => {
  const d = decodePredictBody(
    {
      signature_name: 's',
      instances: [
        { x: 1, y: [1, 2] },
        { x: 2, y: [3, 4] },
      ],
    },
    spec({ x: 'DT_INT32', y: 'DT_FLOAT' }),
  );
  assert.equal(d.signatureName, 's');
  assert.deepEqual(d.inputs.x!.shape, [2]);
  assert.ok(d.inputs.x!.values instanceof Int32Array);
  assert.deepEqual(d.inputs.y!.shape, [2, 2]);
});

test('columnar format takes a bare value for a one-input signature and named values otherwise', () => {
  assert.deepEqual(decodePredictBody({ inputs: 3 }, spec({ x: 'DT_FLOAT' })).inputs.x!.shape, []);
  const d = decodePredictBody({ inputs: { x: [1, 2], y: [3, 4] } }, spec({ x: 'DT_INT64', y: 'DT_INT32' }));
  assert.equal(d.format, 'columnar');
  assert.deepEqual(d.inputs.x!.values, [1, 2]);
});

test('bad request bodies are refused with CTR_ERR_BAD_REQUEST', () => {
  const one = spec({ x: 'DT_FLOAT' });
  const two = spec({ x: 'DT_INT32', y: 'DT_INT32' });
  const cases: [unknown, SignatureSpec][] = [
    [[1, 2], one],
    [{ instances: [1], inputs: [1] }, one],
    [{}, one],
    [{ instances: [] }, one],
    [{ instances: 1 }, one],
    [{ instances: [[1, 2], [3]] }, one],
    [{ instances: [[1, 2], 3] }, one],
    [{ instances: ['a'] }, one],
    [{ instances: [1, 2] }, two],
    [{ instances: [{ x: 1, y: 1 }, { x: 1 }] }, two],
    [{ inputs: { x: [1.5], y: [1] } }, two],
    [{ inputs: { x: [1] } }, two],
    [{ inputs: { x: [1], y: [1], z: [1] } }, two],
    [{ inputs: { x: [NaN], y: [1] } }, two],
    [{ instances: [1], signature_name: 7 }, one],
  ];
  for (const [body, sig] of cases) {
    assert.equal(
      codeOf(() => decodePredictBody(body as Record<string, unknown>, sig)),
      'CTR_ERR_BAD_REQUEST',
      JSON.stringify(body),
    );
  }
});

test('a single output loses its name; several outputs become one object per row or per column', () => {
  const y = { dtype: 'DT_FLOAT' as const, shape: [3], values: Float32Array.from([2.5, 3, 4.5]) };
  const z = { dtype: 'DT_INT32' as const, shape: [3, 1], values: Int32Array.from([1, 2, 3]) };
  assert.equal(encodeText({ y }, 'row'), '{"predictions":[2.5,3.0,4.5]}');
  assert.equal(encodeText({ y }, 'columnar'), '{"outputs":[2.5,3.0,4.5]}');
  assert.deepEqual(JSON.parse(encodeText({ z, y }, 'row')), {
    predictions: [
      { y: 2.5, z: [1] },
      { y: 3, z: [2] },
      { y: 4.5, z: [3] },
    ],
  });
  assert.deepEqual(JSON.parse(encodeText({ z, y }, 'columnar')), {
    outputs: { y: [2.5, 3, 4.5], z: [[1], [2], [3]] },
  });
});

test('float32 outputs print with the digits that round-trip them, non-finite ones as bare tokens', () => {
  const y = {
    dtype: 'DT_FLOAT' as const,
    shape: [4],
    values: Float32Array.from([0.1, NaN, -Infinity, 1e-8]),
  };
  assert.equal(encodeText({ y }, 'columnar'), '{"outputs":[0.1,NaN,-Infinity,1e-08]}');
});

test('float32 values in [1e-6, 1) print with at most 9 significant digits and read back as the same float32', () => {
  fc.assert(
    fc.property(fc.float({ min: Math.fround(2e-6), max: Math.fround(0.99999994), noNaN: true }), (v) => {
      const text = formatNumber(v, true);
      assert.equal(Math.fround(Number(text)), v, text);
      assert.ok(text.replace(/^0\.0*/, '').length <= 9, text);
    }),
    { numRuns: 5000 },
  );
  assert.equal(formatNumber(Math.fround(0.5), true), '0.5');
  assert.equal(formatNumber(Math.fround(0.1), true), '0.100000001');
});

test('every finite float32 prints with at most 9 significant digits and reads back as the same float32', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
      const text = formatNumber(v, true);
      assert.equal(Math.fround(Number(text)), v, text);
      const mantissa = text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
      assert.ok(mantissa.replace(/0+$/, '').length <= 9, text);
    }),
    { numRuns: 20000 },
  );
  assert.equal(formatNumber(Math.fround(-3.0000002), true), '-3.00000024');
  assert.equal(formatNumber(Math.fround(123.456), true), '123.456001');
  assert.equal(formatNumber(Math.fround(65504), true), '65504');
});

// The row-format decoder reads flat numeric inputs straight into typed arrays; every other body takes the
// general path. Both must give what the JSON nesting says, element by element.
test('row format with numeric named inputs decodes to the values and shapes the JSON nesting gives', () => {
  const row = fc.record({
    ids: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 3, maxLength: 3 }),
    id: fc.nat(),
    w: fc.float({ noNaN: true, noDefaultInfinity: true }),
  });
  fc.assert(
    fc.property(fc.array(row, { minLength: 1, maxLength: 20 }), (rows) => {
      const d = decodePredictBody(
        { instances: rows },
        spec({ ids: 'DT_INT32', id: 'DT_INT64', w: 'DT_FLOAT' }),
      );
      assert.deepEqual(d.inputs.ids!.shape, [rows.length, 3]);
      assert.deepEqual(
        Array.from(d.inputs.ids!.values as Int32Array),
        rows.flatMap((r) => r.ids),
      );
      assert.deepEqual(d.inputs.id!.shape, [rows.length]);
      assert.deepEqual(
        Array.from(d.inputs.id!.values as number[]),
        rows.map((r) => r.id),
      );
      assert.deepEqual(
        Array.from(d.inputs.w!.values as Float32Array),
        rows.map((r) => Math.fround(r.w)),
      );
    }),
    { numRuns: 300 },
  );
  const ok = (instances: unknown[]) =>
    codeOf(() => decodePredictBody({ instances }, spec({ h: 'DT_INT32', c: 'DT_INT32' })));
  assert.equal(
    ok([
      { h: [1, 2], c: 1 },
      { h: [1], c: 2 },
    ]),
    'CTR_ERR_BAD_REQUEST',
  );
  assert.equal(
    ok([
      { h: [1, 2], c: 1 },
      { h: [1, 2.5], c: 2 },
    ]),
    'CTR_ERR_BAD_REQUEST',
  );
  assert.equal(ok([{ h: [1, 2], c: 1 }, { h: [1, 2] }]), 'CTR_ERR_BAD_REQUEST');
  assert.equal(
    ok([
      { h: [1, 2], c: 1 },
      { h: [1, 2], c: 2, x: 3 },
    ]),
    'CTR_ERR_BAD_REQUEST',
  );
  assert.equal(
    ok([
      { h: [1, 2], c: 1 },
      { h: [1, '2'], c: 2 },
    ]),
    'CTR_ERR_BAD_REQUEST',
  );
  assert.equal(ok([{ h: [1, 2], c: 1 }, [1, 2]]), 'CTR_ERR_BAD_REQUEST');
});

test('row format replies hold each row of every output, as the nesting of its shape', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 4 }),
      fc.float({ min: -1e6, max: 1e6, noNaN: true }),
      (n, k, seed) => {
        const ctr = Float32Array.from({ length: n * k }, (_, i) => Math.fround(seed * (i + 1) * 0.37));
        const ids = Int32Array.from({ length: n }, (_, i) => i * 7 - 3);
        const reply = JSON.parse(
          encodeText(
            {
              ctr: { dtype: 'DT_FLOAT', shape: [n, k], values: ctr },
              ids: { dtype: 'DT_INT32', shape: [n], values: ids },
            },
            'row',
          ),
        ) as { predictions: { ctr: number[]; ids: number }[] };
        assert.equal(reply.predictions.length, n);
        reply.predictions.forEach((p, i) => {
          assert.deepEqual(p.ctr.map(Math.fround), Array.from(ctr.subarray(i * k, (i + 1) * k)));
          assert.equal(p.ids, ids[i]);
        });
      },
    ),
    { numRuns: 200 },
  );
});
