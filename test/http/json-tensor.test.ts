import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TfDtype } from '../../src/graph/model.ts';
import { parseJsonBody } from '../../src/http/json-body.ts';
import {
  checkJsonDepth,
  decodeNestedTensor,
  MAX_JSON_DEPTH,
  typedValues,
} from '../../src/http/json-tensor/index.ts';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

// Ranges from tensorflow/core/framework/types.h (int8 … int64, uint8), written out here independently.
const RANGES: [TfDtype, number, number][] = [
  ['DT_INT8', -128, 127],
  ['DT_UINT8', 0, 255],
  ['DT_INT16', -32768, 32767],
  ['DT_INT32', -2147483648, 2147483647],
];

test('every integer dtype takes its bounds and refuses one past them with CTR_ERR_DTYPE_RANGE', () => {
  for (const [dtype, lo, hi] of RANGES) {
    assert.deepEqual(
      Array.from(typedValues([lo, hi, 0], dtype, 'x') as ArrayLike<number>),
      [lo, hi, 0],
      dtype,
    );
    for (const v of [lo - 1, hi + 1, 1e20, -1e20]) {
      assert.equal(
        code(() => typedValues([0, v], dtype, 'x')),
        'CTR_ERR_DTYPE_RANGE',
        `${dtype} ${v}`,
      );
    }
    assert.equal(
      code(() => typedValues([1.5], dtype, 'x')),
      'CTR_ERR_BAD_REQUEST',
    );
    assert.equal(
      code(() => typedValues(['1'], dtype, 'x')),
      'CTR_ERR_BAD_REQUEST',
    );
  }
  assert.deepEqual(typedValues([-(2 ** 63), 2 ** 53], 'DT_INT64', 'x'), [-(2 ** 63), 2 ** 53]);
  assert.equal(
    code(() => typedValues([2 ** 63], 'DT_INT64', 'x')),
    'CTR_ERR_DTYPE_RANGE',
  );
  assert.equal(
    code(() => typedValues([1e20], 'DT_INT64', 'x')),
    'CTR_ERR_DTYPE_RANGE',
  );
});

test('a refused value is named by input and position', () => {
  assert.throws(
    () =>
      decodeNestedTensor(
        [
          [1, 2],
          [3, 2 ** 31],
        ],
        'DT_INT32',
        'ids',
      ),
    {
      code: 'CTR_ERR_DTYPE_RANGE',
      message: /input "ids" element \[1,1\] is 2147483648/,
    },
  );
});

test('nested lists decode to their shape, ragged ones are refused, without recursion however deep', () => {
  const t = decodeNestedTensor(
    [
      [[1], [2]],
      [[3], [4]],
    ],
    'DT_INT32',
    'x',
  );
  assert.deepEqual(t.shape, [2, 2, 1]);
  assert.deepEqual(Array.from(t.values as Int32Array), [1, 2, 3, 4]);
  assert.deepEqual(decodeNestedTensor([[], []], 'DT_FLOAT', 'x').shape, [2, 0]);
  for (const ragged of [
    [[1], 2],
    [[1, 2], [3]],
    [1, [2]],
    [[], [1]],
  ]) {
    assert.equal(
      code(() => decodeNestedTensor(ragged, 'DT_INT32', 'x')),
      'CTR_ERR_BAD_REQUEST',
    );
  }
  // 100,000 levels built in memory (no JSON text): a recursive walk would overflow the stack.
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(
    code(() => decodeNestedTensor(deep, 'DT_INT32', 'x')),
    'CTR_ERR_JSON_TOO_DEEP',
  );
  let limit: unknown = 1;
  for (let i = 0; i < MAX_JSON_DEPTH; i++) limit = [limit];
  assert.equal(decodeNestedTensor(limit, 'DT_INT32', 'x').shape.length, MAX_JSON_DEPTH);
});

test('bodies deeper than the limit are refused before parsing; brackets inside strings do not count', () => {
  const nest = (n: number, open: string, close: string, inner = '1') =>
    open.repeat(n) + inner + close.repeat(n);
  for (const text of [nest(100_000, '[', ']'), nest(100_000, '{"a":', '}'), nest(50_000, '[{"a":', '}]')]) {
    assert.equal(
      code(() => parseJsonBody(text)),
      'CTR_ERR_JSON_TOO_DEEP',
    );
  }
  assert.deepEqual(parseJsonBody(nest(MAX_JSON_DEPTH, '[', ']')) !== undefined, true);
  assert.equal(
    code(() => parseJsonBody(nest(MAX_JSON_DEPTH + 1, '[', ']'))),
    'CTR_ERR_JSON_TOO_DEEP',
  );
  const quoted = JSON.stringify({ s: '['.repeat(1000) + '\\"{'.repeat(1000) });
  assert.doesNotThrow(() => checkJsonDepth(quoted));
  assert.equal(
    code(() => parseJsonBody('[1,')),
    'CTR_ERR_BAD_REQUEST',
  );
});
