import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCtrError } from '../../src/errors/registry.ts';
import { decodeExample, type ExampleFeatures } from '../../src/graph/tf-example.ts';
import { encodeClassifyResponse, encodeRegressResponse } from '../../src/http/tf-serving-codec.ts';
import { decodeExamplesRequest, parseExamplesBody } from '../../src/http/example-json.ts';

/** Features as TF's text format would list them: kind and values (bytes as text, int64 as strings). */
function plain(f: ExampleFeatures) {
  return Object.fromEntries(
    [...f].map(([k, v]) => [
      k,
      v.kind === 'none'
        ? {}
        : {
            [v.kind]:
              v.kind === 'bytes_list'
                ? v.value.map((b) => Buffer.from(b).toString())
                : [...v.value].map((x) => (typeof x === 'bigint' ? String(x) : x)),
          },
    ]),
  );
}

const examplesOf = (text: string, method: 'classify' | 'regress' = 'classify') =>
  decodeExamplesRequest(parseExamplesBody(text), method).examples.map((b) => plain(decodeExample(b)));

// Cases and expected protos from TF Serving's tensorflow_serving/util/json_tensor_test.cc (ClassifyRegressRequestTest).
test('RequestNoContext: floats, int64 and bytes features as TF Serving builds them', () => {
  const got = examplesOf(`{"examples": [
    {"names": ["foo", "bar"], "ratings": [8.0, 9.0], "age": 20},
    {"names": ["baz"], "ratings": 6.0}]}`);
  assert.deepEqual(got, [
    { names: { bytes_list: ['foo', 'bar'] }, ratings: { float_list: [8, 9] }, age: { int64_list: ['20'] } },
    { names: { bytes_list: ['baz'] }, ratings: { float_list: [6] } },
  ]);
});

test('RequestWithContextAndSignature: context features, b64, bools as int64, NaN and Infinity', () => {
  const body = parseExamplesBody(`{
    "signature_name": "custom_signture",
    "context": {"query": "pizza", "location": ["sfo"]},
    "examples": [
      {"names": ["foo", "bar"], "ratings": [8.0, 9.0, NaN, Infinity], "age": 20},
      {"names": ["baz", {"b64": "aGVsbG8="}], "ratings": 6.0, "intboolmix": [1, true, false]},
      {"names": "bar", "ratings": -Infinity}]}`);
  const req = decodeExamplesRequest(body, 'regress');
  assert.equal(req.signatureName, 'custom_signture');
  const context = { query: { bytes_list: ['pizza'] }, location: { bytes_list: ['sfo'] } };
  // TF Serving feeds the serialized context followed by each example: parsed, that is their union.
  assert.deepEqual(
    req.examples.map((b) => plain(decodeExample(b))),
    [
      {
        ...context,
        names: { bytes_list: ['foo', 'bar'] },
        ratings: { float_list: [8, 9, NaN, Infinity] },
        age: { int64_list: ['20'] },
      },
      {
        ...context,
        names: { bytes_list: ['baz', 'hello'] },
        ratings: { float_list: [6] },
        intboolmix: { int64_list: ['1', '1', '0'] },
      },
      { ...context, names: { bytes_list: ['bar'] }, ratings: { float_list: [-Infinity] } },
    ],
  );
});

test('JsonErrors: each malformed body is a 400 CTR_ERR_BAD_REQUEST with TF Serving words', () => {
  const cases: [string, RegExp][] = [
    [
      '{"signature_name": ["hello"], "examples": [{"names": ["foo"]}]}',
      /'signature_name' key must be a string/,
    ],
    ['{"context": [{"names": ["foo", "bar"]}]}', /Example must be JSON object|'examples' is expected/],
    ['{"examples": {"names": ["foo", "bar"]}}', /list\/array/],
    ['{"examples": [[{"names": ["foo", "bar"]}]]}', /Example must be JSON object/],
    ['{"examples": [{"names": [10, null]}]}', /names has element with unexpected JSON type: Null/],
    ['{"examples": [{"names": [10, 10.0]}]}', /feature: names expecting type: int64/],
    ['{"examples": [{"names": [10, {"test": 10}]}]}', /names has element with unexpected JSON type: Object/],
    ['{"examples": [{"names": [[10], 20]}]}', /names has element with unexpected JSON type: Array/],
    ['{"examples": [{"names": [20, 18446744073709551603]}]}', /Only int64_t is supported/],
    ['{"examples": []}', /empty array/],
    ['{"examples": [{"x": {"b64": "not base64!"}}]}', /base64/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => decodeExamplesRequest(parseExamplesBody(text), 'classify'),
      (e: unknown) => isCtrError(e) && e.code === 'CTR_ERR_BAD_REQUEST' && message.test(e.message),
      text,
    );
  }
});

test('results are written as TF Serving writes ClassificationResult and RegressionResult', () => {
  // json_tensor_test.cc, JsonFromClassificationResult / JsonFromRegressionResult
  const classes = {
    dtype: 'DT_STRING' as const,
    shape: [2, 3],
    values: ['car', 'bike', 'bus', 'car', 'bike', 'bus'].map((s) => Buffer.from(s)),
  };
  const scores = {
    dtype: 'DT_FLOAT' as const,
    shape: [2, 3],
    values: Float32Array.of(0.2, 0.7, 0.1, 0.7, 0.1, 0.2),
  };
  // scores are float32, written with the 9 digits that read back as the same float32 (docs/api.md)
  const f32 = (text: string) =>
    JSON.parse(text, (_k, v: unknown) => (typeof v === 'number' ? Math.fround(v) : v));
  const r = [0.2, 0.7, 0.1].map(Math.fround);
  assert.deepEqual(f32(encodeClassifyResponse({ classes, scores }, 2)), {
    results: [
      [
        ['car', r[0]],
        ['bike', r[1]],
        ['bus', r[2]],
      ],
      [
        ['car', r[1]],
        ['bike', r[2]],
        ['bus', r[0]],
      ],
    ],
  });
  // scores only (half_plus_two's classify_x_to_y): labels are ""
  const y = { dtype: 'DT_FLOAT' as const, shape: [1, 1], values: Float32Array.of(3) };
  assert.equal(encodeClassifyResponse({ scores: y }, 1), '{"results":[[["",3.0]]]}');
  const outputs = { dtype: 'DT_FLOAT' as const, shape: [3], values: Float32Array.of(0.2, 0.9, 1) };
  assert.deepEqual(f32(encodeRegressResponse({ outputs }, 3)), { results: [0.2, 0.9, 1].map(Math.fround) });
  const nonFinite = {
    dtype: 'DT_FLOAT' as const,
    shape: [3, 1],
    values: Float32Array.of(Infinity, -Infinity, NaN),
  };
  assert.equal(encodeRegressResponse({ outputs: nonFinite }, 3), '{"results":[Infinity,-Infinity,NaN]}');
});
