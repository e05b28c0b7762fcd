import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isCtrError } from '../../src/errors/registry.ts';
import type { TfDtype } from '../../src/graph/model.ts';
import {
  decodeNestedTensor,
  decodePackedTensor,
  MAX_JSON_DEPTH,
  PackedNumbers,
  PackedRows,
  parsePackedJson,
} from '../../src/http/json-tensor/index.ts';
import { decodePredictBody } from '../../src/http/tf-serving-codec.ts';

/**
 * The packed parse with every PackedNumbers turned back into the nested lists JSON.parse makes, and PackedRows
 * into its list of objects.
 */
function unpacked(text: string): unknown {
  const body = parsePackedJson(Buffer.from(text, 'utf8'), MAX_JSON_DEPTH);
  const walk = (v: unknown): unknown => {
    if (v instanceof PackedNumbers) return v.toNested();
    if (v instanceof PackedRows) {
      const columns = v.columns.map((c) => c.toNested());
      return columns[0]!.map((_, i) => Object.fromEntries(v.names.map((name, k) => [name, columns[k]![i]])));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return body === undefined ? undefined : walk(body);
}

/** A rectangular list of numbers of the given shape, from `next`. */
const nested = (shape: number[], next: () => number): unknown =>
  shape.length === 0 ? next() : Array.from({ length: shape[0]! }, () => nested(shape.slice(1), next));

test('a TF Serving body of numeric tensors parses to exactly what JSON.parse gives, whitespace and all', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.oneof(
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constant(-0),
        ),
        { minLength: 1, maxLength: 64 },
      ),
      fc.constantFrom('', ' ', '\n  ', '\t\r\n'),
      fc.option(fc.string(), { nil: undefined }),
      (shape, pool, space, signature) => {
        let i = 0;
        const history = nested(shape, () => pool[i++ % pool.length]!);
        const body = {
          ...(signature === undefined ? {} : { signature_name: signature }),
          inputs: { history, candidate: [7, 8] },
        };
        const text = JSON.stringify(body, null, space);
        const parsed = unpacked(text);
        assert.notEqual(parsed, undefined, text.slice(0, 200));
        assert.deepEqual(parsed, JSON.parse(text));
        // Object.is on every number: -0 stays -0, doubles keep their last bit.
        const flat = (JSON.parse(text) as { inputs: { history: unknown[] } }).inputs.history.flat(
          4,
        ) as number[];
        const mine = (unpacked(text) as { inputs: { history: unknown[] } }).inputs.history.flat(
          4,
        ) as number[];
        flat.forEach((v, k) => assert.ok(Object.is(v, mine[k]), `${v} vs ${mine[k]}`));
      },
    ),
    { numRuns: 2000 },
  );
});

test('on any JSON text it either agrees with JSON.parse or gives up (undefined), never a different value', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t'), (value, space) => {
      const text = JSON.stringify({ inputs: value }, null, space);
      const parsed = unpacked(text);
      if (parsed !== undefined) assert.deepEqual(parsed, JSON.parse(text));
    }),
    { numRuns: 3000 },
  );
  // Denser than the parser's first guess (a number per 4 bytes): its value buffer grows.
  const dense = `{"x":[${Array.from({ length: 5000 }, (_, i) => i % 10).join(',')}]}`;
  assert.deepEqual(unpacked(dense), JSON.parse(dense));
  // Number texts JSON.parse reads in its own way, and strings with escapes and non-ASCII characters.
  // Values kept as int32s until one is not (-0, beyond int32, a fraction), then as doubles.
  for (const n of [
    ...['1e3', '-0.0', '1.5E-7', '123456789012345678901', '0.1', '-2.5e+300', '4.9e-324'],
    ...['-0', '0', '2147483647', '2147483648', '-2147483648', '-2147483649', '999999999', '-1000000000'],
  ]) {
    assert.deepEqual(unpacked(`{"x":[${n},1]}`), JSON.parse(`{"x":[${n},1]}`), n);
    assert.deepEqual(unpacked(`{"x":[[1,2],[${n},3]]}`), JSON.parse(`{"x":[[1,2],[${n},3]]}`), n);
  }
  assert.deepEqual(
    unpacked('{"s":"a\\"b\\u00e9\\n","t":"ü→✓","x":[1]}'),
    JSON.parse('{"s":"a\\"b\\u00e9\\n","t":"ü→✓","x":[1]}'),
  );
});

test('bodies the general path must judge are left to it: malformed, non-finite, ragged, mixed, deep, empty', () => {
  const refused = [
    '',
    '   ',
    '[1,2]',
    '{"inputs":[1,2]',
    '{"inputs":[1,2]} x',
    '{"inputs":[01]}',
    '{"inputs":[1.]}',
    '{"inputs":[.5]}',
    '{"inputs":[-]}',
    '{"inputs":[0x1f]}',
    '{"inputs":[NaN]}',
    '{"inputs":[Infinity,1]}',
    '{"inputs":[1,-Infinity]}',
    '{"inputs":[]}',
    '{"inputs":[[1,2],[3]]}',
    '{"inputs":[[1],2]}',
    '{"inputs":[1,[2]]}',
    '{"inputs":[1,"2"]}',
    '{"inputs":[true]}',
    '{"__proto__":{"x":1}}',
    '{"inputs":{"x":[1,]}}',
    '{"a":"\u0001"}',
    '\ufeff{"inputs":[1]}',
    `{"inputs":${'['.repeat(MAX_JSON_DEPTH)}1${']'.repeat(MAX_JSON_DEPTH)}}`,
  ];
  for (const text of refused)
    assert.equal(parsePackedJson(Buffer.from(text), MAX_JSON_DEPTH), undefined, text);
});

const decodeError = (f: () => unknown) => {
  try {
    f();
    return undefined;
  } catch (err) {
    return isCtrError(err) ? `${err.code}: ${err.message}` : String(err);
  }
};

test('decodePackedTensor gives the tensor, or the error, decodeNestedTensor gives for the same lists', () => {
  const dtypes: TfDtype[] = [
    'DT_INT32',
    'DT_INT16',
    'DT_INT8',
    'DT_UINT8',
    'DT_INT64',
    'DT_FLOAT',
    'DT_HALF',
    'DT_DOUBLE',
    'DT_BOOL',
    'DT_STRING',
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...dtypes),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      fc.array(
        fc.oneof(
          fc.integer({ min: -300, max: 300 }),
          fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 31 - 1, 0.5, -0, 1e20),
        ),
        { minLength: 1, maxLength: 30 },
      ),
      (dtype, shape, pool) => {
        let i = 0;
        // Through JSON text both ways (JSON.stringify writes -0 as 0).
        const text = JSON.stringify(nested(shape, () => pool[i++ % pool.length]!));
        const lists = JSON.parse(text) as unknown;
        const packed = parsePackedJson(Buffer.from(`{"x":${text}}`), MAX_JSON_DEPTH)!.x;
        assert.ok(packed instanceof PackedNumbers);
        const want = decodeError(() => decodeNestedTensor(lists, dtype, 'x'));
        const got = decodeError(() => decodePackedTensor(packed, dtype, 'x'));
        assert.equal(got, want);
        if (want === undefined) {
          assert.deepEqual(decodePackedTensor(packed, dtype, 'x'), decodeNestedTensor(lists, dtype, 'x'));
        }
      },
    ),
    { numRuns: 3000 },
  );
});

test('numbers beyond the first buffer (more than 1024 and than a quarter of the body bytes) all arrive in order', () => {
  // Single-digit ids take 2 bytes each, so they outnumber bytes/4 and the buffer grows (twice here) mid-list.
  for (const n of [1023, 1024, 1025, 5000]) {
    const history = Array.from({ length: n }, (_, i) => [i % 10, (i * 7) % 10]);
    const candidate = Array.from({ length: 3 * n }, (_, i) => (i * 3) % 10);
    const text = JSON.stringify({ signature_name: 'serving_default', inputs: { history, candidate } });
    assert.deepEqual(unpacked(text), JSON.parse(text));
  }
});

/** Row-format bodies: rows of named numbers or lists of numbers, most of them regular, some bent (`bend`). */
const rowsBody = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom('history', 'candidate', 'x', 'a b', 'é', '0', '7'), {
      minLength: 1,
      maxLength: 3,
    }),
    shapes: fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), {
      minLength: 3,
      maxLength: 3,
    }),
    rows: fc.integer({ min: 1, max: 6 }),
    pool: fc.array(
      fc.oneof(
        fc.integer({ min: -300, max: 300 }),
        fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 0.5, -0, 1e20, 255, 256),
      ),
      { minLength: 1, maxLength: 20 },
    ),
    bend: fc.constantFrom(
      'none',
      'none',
      'none',
      'order',
      'missing',
      'extra',
      'string',
      'ragged',
      'dup',
      'empty',
    ),
    space: fc.constantFrom(undefined, 1, '\t'),
  })
  .map(({ names, shapes, rows, pool, bend, space }) => {
    let i = 0;
    const next = () => pool[i++ % pool.length]!;
    const instances: Record<string, unknown>[] = Array.from({ length: rows }, () =>
      Object.fromEntries(names.map((n, k) => [n, nested(shapes[k]!, next)])),
    );
    const last = instances[rows - 1]!;
    const first = names[0]!;
    if (bend === 'order') instances[rows - 1] = Object.fromEntries(Object.entries(last).reverse());
    if (bend === 'missing') delete last[first];
    if (bend === 'extra') last.extra = 1;
    if (bend === 'string') last[first] = 'x';
    if (bend === 'ragged') last[first] = nested([...shapes[0]!, 2], next);
    if (bend === 'empty') instances[rows - 1] = {};
    let text = JSON.stringify({ instances }, null, space);
    // A key written twice in the first row (JSON.parse keeps the last value).
    if (bend === 'dup')
      text = text.replace(/\{/g, (m, at: number) => (at === text.indexOf('{', 1) ? `{"x":1,` : m));
    return { text, names, bend };
  });

test('row-format instances parse to exactly the rows JSON.parse gives, or the parser gives up', () => {
  fc.assert(
    fc.property(rowsBody, ({ text, names, bend }) => {
      const parsed = unpacked(text);
      if (parsed !== undefined) assert.deepEqual(parsed, JSON.parse(text));
      // Regular rows without index-like keys (which Object.keys would put first) are always packed.
      if (bend === 'none' && !names.some((n) => /^\d/.test(n))) assert.notEqual(parsed, undefined, text);
    }),
    { numRuns: 3000 },
  );
  for (const text of [
    '{"instances":[{"x":1},{"x":2}]}',
    '{"instances":[{"x":[1,2]},{"x":[3,4]}],"signature_name":"s"}',
    '{"a":{"instances":[1]},"instances":[ { "x" : [ [1] ] } , {"x":[[2]]} ] }',
    `{"instances":[{"x":${'['.repeat(MAX_JSON_DEPTH - 3)}1${']'.repeat(MAX_JSON_DEPTH - 3)}}]}`,
  ])
    assert.deepEqual(unpacked(text), JSON.parse(text), text);
  for (const text of [
    '{"instances":[{"x":1},{"y":2}]}',
    '{"instances":[{"x":1,"y":2},{"y":2,"x":1}]}',
    '{"instances":[{"x":1},{"x":[2]}]}',
    '{"instances":[{"x":[1]},{"x":[2,3]}]}',
    '{"instances":[{"__proto__":1}]}',
    '{"instances":[{"x":true}]}',
    '{"instances":[{"x":NaN}]}',
    '{"instances":[{}]}',
    '{"instances":[{"x":1},]}',
    '{"instances":[{"x":1}}',
    '{"inputs":[{"x":1}]}',
    '{"a":{"instances":[{"x":1}]}}',
    // 65 keys: more than the parser keeps a buffer for (64).
    `{"instances":[{${Array.from({ length: 65 }, (_, k) => `"k${k}":${k}`).join(',')}}]}`,
    // One level deeper than the limit (root, instances and row are 3 levels).
    `{"instances":[{"x":${'['.repeat(MAX_JSON_DEPTH - 2)}1${']'.repeat(MAX_JSON_DEPTH - 2)}}]}`,
  ])
    assert.equal(parsePackedJson(Buffer.from(text), MAX_JSON_DEPTH), undefined, text);
});

test('decodePredictBody gives the same tensors, or the same error, for packed rows as for JSON.parse rows', () => {
  const dtypes: TfDtype[] = [
    'DT_INT32',
    'DT_UINT8',
    'DT_INT8',
    'DT_INT64',
    'DT_FLOAT',
    'DT_DOUBLE',
    'DT_BOOL',
  ];
  fc.assert(
    fc.property(
      rowsBody,
      fc.array(fc.constantFrom(...dtypes), { minLength: 3, maxLength: 3 }),
      (body, types) => {
        const packed = parsePackedJson(Buffer.from(body.text), MAX_JSON_DEPTH);
        fc.pre(packed !== undefined);
        // The signature takes the first two names (any third is unknown to it), with generated dtypes.
        const inputs = Object.fromEntries(
          body.names.slice(0, 2).map((n, k) => [n, { tensorName: `${n}:0`, dtype: types[k]!, shape: null }]),
        );
        const signature = { name: 's', methodName: 'tensorflow/serving/predict', inputs, outputs: {} };
        const want = decodeError(() =>
          decodePredictBody(JSON.parse(body.text) as Record<string, unknown>, signature),
        );
        assert.equal(
          decodeError(() => decodePredictBody(packed!, signature)),
          want,
        );
        if (want === undefined) {
          assert.deepEqual(
            decodePredictBody(packed!, signature),
            decodePredictBody(JSON.parse(body.text) as Record<string, unknown>, signature),
          );
        }
      },
    ),
    { numRuns: 3000 },
  );
});
